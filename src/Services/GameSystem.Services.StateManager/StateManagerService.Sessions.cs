using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.StateManager.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.StateManager;

/// <summary>Play sessions: at most one ACTIVE per player, idle expiry read from the clock, the last 100 kept.</summary>
public sealed partial class StateManagerService
{
    /// <summary>Sessions kept per player; starting one more deletes the oldest.</summary>
    internal const int MaxSessions = 100;

    private const int MaxSessionAttributes = 100;
    private const int MaxClientFieldLength = 64;
    private static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan MinIdleTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxIdleTimeout = TimeSpan.FromHours(24);

    /// <inheritdoc/>
    public async ValueTask<StartSessionResponse> StartSessionAsync(StartSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Ids.RequireWorld(request.WorldId);
        var idle = request.IdleTimeout is null ? DefaultIdleTimeout : CheckIdle(request.IdleTimeout);
        Errors.Require(CheckClient(request.Client));
        Ids.RequireRequestId(request.RequestId, required: true);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Write, "StartSession");

        var playerId = request.PlayerId;
        var cancellationToken = context.CancellationToken;
        var claim = RetryClaim.For(playerId, request.RequestId, "StartSession", request, _options.RequestRetention)!;
        var activeKey = StoreKeys.ActiveSession(playerId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, activeKey], cancellationToken).ConfigureAwait(false);
            if (claim.Answer(read[0], StartSessionResponse.Parser) is { } answer)
            {
                return answer;
            }

            var now = _time.GetUtcNow();
            var stamp = Timestamp.FromDateTimeOffset(now);
            var transaction = new StateTransaction();
            var replaced = "";
            if (read[1] is { } pointer)
            {
                var previousId = ActiveSessionRecord.Parser.ParseFrom(pointer.Value.Span).SessionId;
                if (await _store.GetAsync(StoreKeys.Session(playerId, previousId), cancellationToken).ConfigureAwait(false) is { } previousEntry)
                {
                    var previous = Session.Parser.ParseFrom(previousEntry.Value.Span);
                    var seen = PresentSession(previous, now);
                    if (previous.State == SessionState.Active)
                    {
                        var ended = seen.State == SessionState.Expired ? seen : End(previous, SessionState.Ended, SessionEndReason.Replaced, stamp);
                        if (seen.State == SessionState.Active)
                        {
                            replaced = ended.Name;
                        }

                        transaction.Set(StoreKeys.Session(playerId, previousId), ended.ToByteArray(), expectedVersion: previousEntry.Version);
                        _outbox.Publish(transaction, StateEvents.SessionEnded(playerId, ended));
                    }
                }
            }

            var sessionId = Guid.CreateVersion7(now).ToString();
            var session = new Session
            {
                Name = Ids.SessionName(playerId, sessionId),
                WorldId = request.WorldId,
                State = SessionState.Active,
                Client = request.Client ?? new ClientInfo(),
                IdleTimeout = Duration.FromTimeSpan(idle),
                StartTime = stamp,
                LastActivityTime = stamp,
                Version = 1,
            };
            transaction.Set(activeKey, new ActiveSessionRecord { SessionId = sessionId }.ToByteArray(), expectedVersion: read[1]?.Version ?? 0)
                .Set(StoreKeys.Session(playerId, sessionId), session.ToByteArray(), expectedVersion: 0)
                .IndexAdd(StoreKeys.Sessions(playerId), SessionMember(session, sessionId));
            var kept = await _store.CountIndexAsync(StoreKeys.Sessions(playerId), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (kept >= MaxSessions)
            {
                var oldest = await _store.QueryIndexAsync(StoreKeys.Sessions(playerId), new StateIndexQuery { PageSize = (int)Math.Min(StateKeys.MaxPageSize, kept + 1 - MaxSessions) }, cancellationToken).ConfigureAwait(false);
                foreach (var member in oldest.Members.Where(m => MemberId(m) != MemberId(replaced.Length > 0 ? replaced : "/")))
                {
                    if (!transaction.Operations.Any(o => o.Key == StoreKeys.Session(playerId, MemberId(member))))
                    {
                        transaction.Delete(StoreKeys.Session(playerId, MemberId(member))).IndexRemove(StoreKeys.Sessions(playerId), member);
                    }
                }
            }

            _outbox.Publish(transaction, StateEvents.SessionStarted(playerId, session));
            var response = new StartSessionResponse { Session = session, ReplacedSession = replaced };
            claim.Take(transaction, response);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return response;
            }
        }

        throw Errors.Contended($"Player '{playerId}''s sessions");
    }

    /// <inheritdoc/>
    public async ValueTask<GetSessionResponse> GetSessionAsync(GetSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (playerId, sessionId) = Ids.ParseSessionName(request.Name);
        Access.RequirePlayer(context.GetPrincipal(), playerId, PlayerRight.Read, "GetSession");
        var stored = await _store.GetAsync(StoreKeys.Session(playerId, sessionId), context.CancellationToken).ConfigureAwait(false)
            ?? throw SessionNotFound(playerId, sessionId);
        return new GetSessionResponse { Session = PresentSession(Session.Parser.ParseFrom(stored.Value.Span), _time.GetUtcNow()) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListSessionsResponse> ListSessionsAsync(ListSessionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        var pageSize = PageCursor.Size(request.PageSize, defaultSize: 20, max: 100);
        Errors.Require(System.Enum.IsDefined(request.State), "state", $"{(int)request.State} is not a SessionState: use SESSION_STATE_ACTIVE, _ENDED, _EXPIRED, or UNSPECIFIED for all.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Read, "ListSessions");

        // A session's state depends on the clock (an idle ACTIVE one reads EXPIRED), so the filter
        // runs on what is read; the token is the last member examined, and the next page reads the
        // members older than it.
        var listing = $"sessions|{request.PlayerId}|{(int)request.State}";
        var before = PageCursor.Resume(request.PageToken, listing);
        var now = _time.GetUtcNow();
        var response = new ListSessionsResponse();
        string? last = null;
        var more = true;
        while (response.Sessions.Count < pageSize && more)
        {
            var page = await _store.QueryIndexAsync(StoreKeys.Sessions(request.PlayerId), new StateIndexQuery { Descending = true, To = last ?? before, PageSize = pageSize }, context.CancellationToken).ConfigureAwait(false);
            more = page.NextPageToken is not null;
            if (page.Members.Count == 0)
            {
                break;
            }

            var read = await _store.GetManyAsync([.. page.Members.Select(m => StoreKeys.Session(request.PlayerId, MemberId(m)))], context.CancellationToken).ConfigureAwait(false);
            for (var i = 0; i < read.Count; i++)
            {
                last = page.Members[i];
                if (read[i] is { } entry && PresentSession(Session.Parser.ParseFrom(entry.Value.Span), now) is var session
                    && (request.State == SessionState.Unspecified || session.State == request.State))
                {
                    response.Sessions.Add(session);
                    if (response.Sessions.Count == pageSize)
                    {
                        more = more || i < read.Count - 1;
                        break;
                    }
                }
            }
        }

        response.NextPageToken = more && last is not null ? PageCursor.After(listing, last) : "";
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateSessionResponse> UpdateSessionAsync(UpdateSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (playerId, sessionId) = Ids.ParseSessionName(request.Name);
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is 0 (any version) or the session's version as last read; got {request.ExpectedVersion}.");
        Errors.Require(CheckSessionAttributes(request.SetAttributes, request.RemoveAttributes));
        Access.RequirePlayer(context.GetPrincipal(), playerId, PlayerRight.Write, "UpdateSession");
        var key = StoreKeys.Session(playerId, sessionId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var stored = await _store.GetAsync(key, context.CancellationToken).ConfigureAwait(false) ?? throw SessionNotFound(playerId, sessionId);
            var now = _time.GetUtcNow();
            var session = PresentSession(Session.Parser.ParseFrom(stored.Value.Span), now);
            if (session.State != SessionState.Active)
            {
                throw Errors.FailedPrecondition($"Session '{request.Name}' is {Describe(session)}; it takes no more updates. Start a new one (StartSession).");
            }

            if (request.ExpectedVersion != 0 && request.ExpectedVersion != session.Version)
            {
                throw Errors.FailedPrecondition($"Session '{request.Name}' is at version {session.Version}, not expected_version {request.ExpectedVersion}; read it again (GetSession) and retry.");
            }

            session.Attributes.Add(request.SetAttributes);
            foreach (var removed in request.RemoveAttributes)
            {
                session.Attributes.Remove(removed);
            }

            if (session.Attributes.Count > MaxSessionAttributes)
            {
                throw Errors.InvalidArgument("set_attributes", $"would leave the session with {session.Attributes.Count} attributes; a session holds at most {MaxSessionAttributes}. Nothing was changed.");
            }

            session.Version++;
            session.LastActivityTime = Timestamp.FromDateTimeOffset(now);
            if ((await _store.ExecuteAsync(new StateTransaction().Set(key, session.ToByteArray(), expectedVersion: stored.Version), context.CancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return new UpdateSessionResponse { Session = session };
            }
        }

        throw Errors.Contended($"Session '{request.Name}'");
    }

    /// <inheritdoc/>
    public async ValueTask<EndSessionResponse> EndSessionAsync(EndSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (playerId, sessionId) = Ids.ParseSessionName(request.Name);
        Errors.Require(System.Enum.IsDefined(request.Reason) && request.Reason != SessionEndReason.Replaced, "reason", $"{request.Reason} is not a reason to end a session with: use SESSION_END_REASON_LOGOUT, _IDLE_TIMEOUT or _KICKED (REPLACED is StartSession's).");
        Access.RequirePlayer(context.GetPrincipal(), playerId, PlayerRight.Write, "EndSession");
        var reason = request.Reason == SessionEndReason.Unspecified ? SessionEndReason.Logout : request.Reason;
        var key = StoreKeys.Session(playerId, sessionId);
        var activeKey = StoreKeys.ActiveSession(playerId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([key, activeKey], context.CancellationToken).ConfigureAwait(false);
            var stored = read[0] ?? throw SessionNotFound(playerId, sessionId);
            var session = Session.Parser.ParseFrom(stored.Value.Span);
            if (session.State != SessionState.Active)
            {
                return new EndSessionResponse { Session = session };
            }

            var now = _time.GetUtcNow();
            var seen = PresentSession(session, now);
            var ended = seen.State == SessionState.Expired ? seen : End(session, SessionState.Ended, reason, Timestamp.FromDateTimeOffset(now));
            var transaction = new StateTransaction().Set(key, ended.ToByteArray(), expectedVersion: stored.Version);
            if (read[1] is { } pointer && ActiveSessionRecord.Parser.ParseFrom(pointer.Value.Span).SessionId == sessionId)
            {
                transaction.Delete(activeKey, pointer.Version);
            }

            _outbox.Publish(transaction, StateEvents.SessionEnded(playerId, ended));
            if ((await _store.ExecuteAsync(transaction, context.CancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return new EndSessionResponse { Session = ended };
            }
        }

        throw Errors.Contended($"Session '{request.Name}'");
    }

    /// <summary>The session as of <paramref name="now"/>: an ACTIVE one idle past its timeout reads EXPIRED, ended when its idle time ran out.</summary>
    private static Session PresentSession(Session session, DateTimeOffset now)
    {
        if (session.State != SessionState.Active)
        {
            return session;
        }

        var expiry = session.LastActivityTime.ToDateTimeOffset() + session.IdleTimeout.ToTimeSpan();
        return expiry > now ? session : End(session, SessionState.Expired, SessionEndReason.IdleTimeout, Timestamp.FromDateTimeOffset(expiry));
    }

    private static Session End(Session session, SessionState state, SessionEndReason reason, Timestamp at)
    {
        var ended = session.Clone();
        ended.State = state;
        ended.EndReason = reason;
        ended.EndTime = at;
        ended.Version = session.Version + 1;
        return ended;
    }

    private static string Describe(Session session) => session.State == SessionState.Expired
        ? $"EXPIRED (idle since {session.LastActivityTime.ToDateTimeOffset():u}, timeout {session.IdleTimeout.ToTimeSpan()})"
        : $"ENDED ({session.EndReason} at {session.EndTime.ToDateTimeOffset():u})";

    private static string SessionMember(Session session, string sessionId) =>
        StateIndex.SortableTime(session.StartTime.ToDateTimeOffset()) + "/" + sessionId;

    private static RpcException SessionNotFound(string playerId, string sessionId) =>
        Errors.NotFound($"Player '{playerId}' has no session '{sessionId}' (the last {MaxSessions} are kept); ListSessions shows theirs.");

    private static TimeSpan CheckIdle(Duration idle)
    {
        var span = idle.ToTimeSpan();
        Errors.Require(span >= MinIdleTimeout && span <= MaxIdleTimeout, "idle_timeout", $"is 1 minute to 24 hours (unset: 30 minutes); got {span}.");
        return span;
    }

    private static List<FieldProblem> CheckClient(ClientInfo? client)
    {
        var problems = new List<FieldProblem>();
        if (client is null)
        {
            return problems;
        }

        foreach (var (field, value) in new[] { ("client.client_version", client.ClientVersion), ("client.platform", client.Platform), ("client.device_id", client.DeviceId), ("client.locale", client.Locale) })
        {
            if (value.Length > MaxClientFieldLength || value.Any(char.IsControl))
            {
                problems.Add(new(field, $"is at most {MaxClientFieldLength} characters without control characters; got {value.Length}."));
            }
        }

        return problems;
    }

    private static List<FieldProblem> CheckSessionAttributes(MapField<string, TypedValue> set, RepeatedField<string> remove)
    {
        var problems = new List<FieldProblem>();
        Errors.Require(set.Count + remove.Count > 0, "set_attributes", "and remove_attributes are both empty: name at least one attribute to set or remove (an update with nothing to change is not one).");
        foreach (var (key, value) in set)
        {
            if (!Ids.IsAttributeKey(key))
            {
                problems.Add(new($"set_attributes[{key}]", Ids.AttributeKeyRule(key)));
            }
            else if (value is not { KindCase: not TypedValue.KindOneofCase.None })
            {
                problems.Add(new($"set_attributes[{key}]", "has no value; list the key in remove_attributes to remove it."));
            }
        }

        for (var i = 0; i < remove.Count; i++)
        {
            if (!Ids.IsAttributeKey(remove[i]))
            {
                problems.Add(new($"remove_attributes[{i}]", Ids.AttributeKeyRule(remove[i])));
            }
            else if (set.ContainsKey(remove[i]))
            {
                problems.Add(new($"remove_attributes[{i}]", $"'{remove[i]}' is also in set_attributes; set or remove a key, not both."));
            }
        }

        return problems;
    }
}
