using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using GameSystem.Auth.V1;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Services.Auth.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Auth;

public sealed partial class AuthService
{
    /// <summary>Live sessions an account keeps at most; a login past it revokes the oldest (<c>session_limit</c>).</summary>
    internal const int MaxLiveSessions = 100;

    private const string WrongLogin = "The login or the password is wrong.";

    /// <inheritdoc/>
    public async ValueTask<LoginResponse> LoginAsync(LoginRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Login.Length > 0, "login", "is required: the username or e-mail of the account.");
        Errors.Require(request.Login.Length <= AccountRules.MaxEmail, "login", $"must be at most {AccountRules.MaxEmail} characters.");
        Errors.Require(request.Password.Length > 0, "password", "is required.");
        Errors.Require(request.Password.Length <= AccountRules.MaxPassword, "password", $"must be at most {AccountRules.MaxPassword} characters.");
        Errors.Require(request.ClientName.Length <= 100, "client_name", $"must be at most 100 characters; got {request.ClientName.Length}.");
        for (var i = 0; i < request.Scopes.Count; i++)
        {
            Errors.Require(AccountRules.IsValidScope(request.Scopes[i]), $"scopes[{i}]", $"'{request.Scopes[i]}' is not a scope: dotted lower-case words, optionally ending in .* (or * alone).");
        }

        var cancellationToken = context.CancellationToken;
        var login = AccountRules.Normalize(request.Login);
        var claimKey = login.Contains('@', StringComparison.Ordinal) ? StoreKeys.EmailClaim(login) : StoreKeys.UsernameClaim(login);
        var accountId = await _store.GetAsync(claimKey, cancellationToken).ConfigureAwait(false) is { } claimed ? claimed.Value.ToArray() : null;
        var subjects = new List<LoginThrottle.Subject>(2)
        {
            accountId is null ? new("login", login, _options.MaxLoginFailures) : new("account", Encoding.UTF8.GetString(accountId), _options.MaxLoginFailures),
        };
        if (CallerAddress(context) is { } caller)
        {
            subjects.Add(new("caller", caller, _options.MaxLoginFailuresPerCaller));
        }

        var window = await _throttle.AttemptAsync(subjects, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var entry = accountId is null ? null : await _store.GetAsync(StoreKeys.Account(Encoding.UTF8.GetString(accountId)), cancellationToken).ConfigureAwait(false);
            var record = entry is null ? null : AccountRecord.Parser.ParseFrom(entry.Value.Span);
            if (record?.Password is null)
            {
                _passwords.VerifyDecoy(request.Password);
                LogLoginFailed(_logger, record is null ? "no such account" : "service account");
                throw Errors.Unauthenticated(WrongLogin);
            }

            if (!PasswordHasher.Verify(record.Password, request.Password))
            {
                LogLoginFailed(_logger, "wrong password");
                throw Errors.Unauthenticated(WrongLogin);
            }

            var account = record.Account;
            if (account.State != AccountState.Active)
            {
                throw Errors.FailedPrecondition($"Account '{account.Username}' is disabled; an administrator can enable it again (SetAccountState).");
            }

            var granted = await ScopesOfAsync(record, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < request.Scopes.Count; i++)
            {
                Errors.Require(AccountRules.Covers(granted, request.Scopes[i]), $"scopes[{i}]", $"'{request.Scopes[i]}' is not granted to this account (its roles grant: {string.Join(' ', granted)}); ask for a subset, or none for all.");
            }

            var now = UtcNow;
            var stamp = Timestamp.FromDateTimeOffset(now);
            var updated = new AccountRecord(record) { Account = account.Clone() };
            updated.Account.LastLoginTime = stamp;
            var rehashed = _passwords.NeedsRehash(record.Password);
            if (rehashed)
            {
                updated.Password = _passwords.Hash(request.Password);
            }

            var refreshToken = RefreshTokens.Create();
            var refreshHash = RefreshTokens.HashOf(refreshToken)!;
            var session = new Session
            {
                SessionId = NewId("ses-"),
                AccountId = account.AccountId,
                ClientName = request.ClientName,
                CreateTime = stamp,
                LastRefreshTime = stamp,
                ExpireTime = Timestamp.FromDateTimeOffset(now + _options.RefreshTokenLifetime),
            };
            var sessionRecord = new SessionRecord { Session = session, RefreshHash = ByteString.CopyFrom(refreshHash), Scopes = { request.Scopes } };
            var transaction = new StateTransaction()
                .Set(StoreKeys.Account(account.AccountId), updated.ToByteArray(), entry!.Version)
                .Set(StoreKeys.Session(session.SessionId), sessionRecord.ToByteArray(), expectedVersion: 0)
                .IndexAdd(StoreKeys.Sessions(account.AccountId), StoreKeys.SessionMember(stamp, session.SessionId))
                .IndexAdd(StoreKeys.LiveSessions(account.AccountId), StoreKeys.SessionMember(stamp, session.SessionId))
                .Set(StoreKeys.Refresh(refreshHash), new RefreshRecord { AccountId = account.AccountId, SessionId = session.SessionId }.ToByteArray(), expectedVersion: 0, ttl: _options.RefreshTokenLifetime);
            await RevokeBeyondLimitAsync(transaction, account.AccountId, cancellationToken).ConfigureAwait(false);
            if (!(await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                continue;
            }

            if (rehashed)
            {
                LogRehashed(_logger, account.AccountId);
            }

            await _throttle.SucceededAsync(subjects, window, cancellationToken).ConfigureAwait(false);
            LogLoggedIn(_logger, account.AccountId, session.SessionId);
            var scopes = Narrow(granted, request.Scopes);
            var tokens = await TokenSetAsync(new TokenSubject(account.AccountId, account.Username, session.SessionId, [.. account.Roles], scopes), refreshToken, session.ExpireTime, cancellationToken).ConfigureAwait(false);
            return new LoginResponse { Account = updated.Account, Tokens = tokens };
        }

        throw Errors.Contended("The account");
    }

    /// <inheritdoc/>
    public async ValueTask<RefreshTokenResponse> RefreshTokenAsync(RefreshTokenRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RefreshToken.Length > 0, "refresh_token", "is required: the refresh_token of the last Login or RefreshToken.");
        var cancellationToken = context.CancellationToken;
        var hash = RefreshHashOf(request.RefreshToken);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (lookup, refresh) = await ReadRefreshAsync(hash, cancellationToken).ConfigureAwait(false);
            var read = await _store.GetManyAsync([StoreKeys.Session(refresh.SessionId), StoreKeys.Account(refresh.AccountId)], cancellationToken).ConfigureAwait(false);
            if (read[0] is not { } sessionEntry || read[1] is not { } accountEntry)
            {
                throw Errors.Unauthenticated("refresh_token belongs to a session that no longer exists; log in again.");
            }

            var sessionRecord = SessionRecord.Parser.ParseFrom(sessionEntry.Value.Span);
            var session = sessionRecord.Session;
            var now = UtcNow;
            if (session.RevokeTime is not null)
            {
                throw Errors.Unauthenticated("refresh_token belongs to a revoked session; log in again.");
            }

            if (refresh.Spent || !CryptographicOperations.FixedTimeEquals(sessionRecord.RefreshHash.Span, hash))
            {
                // Theft detection: whoever holds the newer token and whoever replays this one cannot both be the owner.
                var revoke = new StateTransaction();
                RevokeInto(revoke, sessionEntry, sessionRecord, "refresh_token_reuse");
                if ((await _store.ExecuteAsync(revoke, cancellationToken).ConfigureAwait(false)).Succeeded)
                {
                    LogRefreshReuse(_logger, session.AccountId, session.SessionId);
                    throw Errors.Unauthenticated("refresh_token was already used; as a precaution its session is now revoked. Log in again.");
                }

                continue;
            }

            if (session.ExpireTime.ToDateTimeOffset() <= now)
            {
                throw Errors.Unauthenticated("refresh_token has expired; log in again.");
            }

            var account = AccountRecord.Parser.ParseFrom(accountEntry.Value.Span);
            if (account.Account.State != AccountState.Active)
            {
                throw Errors.Unauthenticated("The account is disabled; its sessions have ended.");
            }

            var stamp = Timestamp.FromDateTimeOffset(now);
            var nextToken = RefreshTokens.Create();
            var nextHash = RefreshTokens.HashOf(nextToken)!;
            var next = new SessionRecord(sessionRecord) { RefreshHash = ByteString.CopyFrom(nextHash), Session = session.Clone() };
            next.Session.LastRefreshTime = stamp;
            next.Session.ExpireTime = Timestamp.FromDateTimeOffset(now + _options.RefreshTokenLifetime);
            var transaction = new StateTransaction()
                .Set(StoreKeys.Session(session.SessionId), next.ToByteArray(), sessionEntry.Version)
                .Set(StoreKeys.Refresh(hash), new RefreshRecord(refresh) { Spent = true }.ToByteArray(), lookup.Version, ttl: _options.RefreshTokenLifetime)
                .Set(StoreKeys.Refresh(nextHash), new RefreshRecord(refresh) { Spent = false }.ToByteArray(), expectedVersion: 0, ttl: _options.RefreshTokenLifetime)
                .Require(StoreKeys.Account(account.Account.AccountId), accountEntry.Version);
            if (!(await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                continue;
            }

            LogRefreshed(_logger, session.SessionId);
            var scopes = Narrow(await ScopesOfAsync(account, cancellationToken).ConfigureAwait(false), sessionRecord.Scopes);
            var tokens = await TokenSetAsync(new TokenSubject(account.Account.AccountId, account.Account.Username, session.SessionId, [.. account.Account.Roles], scopes), nextToken, next.Session.ExpireTime, cancellationToken).ConfigureAwait(false);
            return new RefreshTokenResponse { Tokens = tokens };
        }

        throw Errors.Contended("The session");
    }

    /// <inheritdoc/>
    public async ValueTask<LogoutResponse> LogoutAsync(LogoutRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RefreshToken.Length > 0, "refresh_token", "is required: a refresh token of the session to end.");
        var cancellationToken = context.CancellationToken;
        var hash = RefreshHashOf(request.RefreshToken);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (_, refresh) = await ReadRefreshAsync(hash, cancellationToken).ConfigureAwait(false);
            var sessionEntry = await _store.GetAsync(StoreKeys.Session(refresh.SessionId), cancellationToken).ConfigureAwait(false);
            if (sessionEntry is null)
            {
                return new LogoutResponse { SessionId = refresh.SessionId };
            }

            var sessionRecord = SessionRecord.Parser.ParseFrom(sessionEntry.Value.Span);
            if (sessionRecord.Session.RevokeTime is not null)
            {
                return new LogoutResponse { SessionId = refresh.SessionId };
            }

            var transaction = new StateTransaction();
            RevokeInto(transaction, sessionEntry, sessionRecord, "logout");
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogSessionRevoked(_logger, refresh.AccountId, refresh.SessionId, "logout");
                return new LogoutResponse { SessionId = refresh.SessionId };
            }
        }

        throw Errors.Contended("The session");
    }

    /// <inheritdoc/>
    public async ValueTask<ListSessionsResponse> ListSessionsAsync(ListSessionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateAccountId(request.AccountId, "account_id");
        var pageSize = IndexPaging.Size(request.PageSize, defaultSize: 20, maxSize: 100);
        var token = IndexPaging.DecodeToken(request.PageToken, "ListSessions", 3);
        Errors.Require(token is null || (token[1] == request.AccountId && token[2].Length > 0), "page_token", "belongs to another account's listing; pass next_page_token of this listing unchanged.");
        AccessRules.RequireOwnerOrAdmin(context.GetPrincipal(), request.AccountId, "ListSessions");
        var cancellationToken = context.CancellationToken;
        var (_, _) = await ReadAccountAsync(request.AccountId, cancellationToken).ConfigureAwait(false);
        var now = UtcNow;
        var page = await IndexPaging.ReadAsync<Session>(
            _store,
            request.IncludeEnded ? StoreKeys.Sessions(request.AccountId) : StoreKeys.LiveSessions(request.AccountId),
            prefix: null,
            descending: true,
            token?[2],
            pageSize,
            async (members, ct) =>
            {
                var entries = await _store.GetManyAsync([.. members.Select(m => StoreKeys.Session(StoreKeys.IdOf(m)))], ct).ConfigureAwait(false);
                return [.. entries.Select(e => e is null ? null : SessionRecord.Parser.ParseFrom(e.Value.Span).Session)];
            },
            s => request.IncludeEnded || (s.RevokeTime is null && s.ExpireTime.ToDateTimeOffset() > now),
            cancellationToken).ConfigureAwait(false);
        var response = new ListSessionsResponse { Sessions = { page.Items } };
        if (page.ResumeAfter is not null)
        {
            response.NextPageToken = IndexPaging.EncodeToken("ListSessions", request.AccountId, page.ResumeAfter);
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<RevokeSessionResponse> RevokeSessionAsync(RevokeSessionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateAccountId(request.AccountId, "account_id");
        ValidateSessionId(request.SessionId, "session_id");
        var principal = context.GetPrincipal();
        AccessRules.RequireOwnerOrAdmin(principal, request.AccountId, "RevokeSession");
        var reason = principal is not null && principal.Subject == request.AccountId ? "logout" : "admin";
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var entry = await _store.GetAsync(StoreKeys.Session(request.SessionId), cancellationToken).ConfigureAwait(false);
            var record = entry is null ? null : SessionRecord.Parser.ParseFrom(entry.Value.Span);
            if (record is null || record.Session.AccountId != request.AccountId)
            {
                throw Errors.NotFound($"Account '{request.AccountId}' has no session '{request.SessionId}'; ListSessions lists its sessions.");
            }

            if (record.Session.RevokeTime is not null)
            {
                return new RevokeSessionResponse { Session = record.Session };
            }

            var transaction = new StateTransaction();
            var revoked = RevokeInto(transaction, entry!, record, reason);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogSessionRevoked(_logger, request.AccountId, request.SessionId, reason);
                return new RevokeSessionResponse { Session = revoked };
            }
        }

        throw Errors.Contended($"Session '{request.SessionId}'");
    }

    /// <inheritdoc/>
    public async ValueTask<RevokeAllSessionsResponse> RevokeAllSessionsAsync(RevokeAllSessionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateAccountId(request.AccountId, "account_id");
        if (request.KeepSessionId.Length > 0)
        {
            ValidateSessionId(request.KeepSessionId, "keep_session_id");
        }

        var principal = context.GetPrincipal();
        AccessRules.RequireOwnerOrAdmin(principal, request.AccountId, "RevokeAllSessions");
        var reason = principal is not null && principal.Subject == request.AccountId ? "logout" : "admin";
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (entry, _) = await ReadAccountAsync(request.AccountId, cancellationToken).ConfigureAwait(false);
            var transaction = new StateTransaction().Require(StoreKeys.Account(request.AccountId), entry.Version);
            var revoked = await RevokeSessionsAsync(transaction, request.AccountId, request.KeepSessionId, reason, cancellationToken).ConfigureAwait(false);
            if (revoked.Count == 0)
            {
                return new RevokeAllSessionsResponse();
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                foreach (var session in revoked)
                {
                    LogSessionRevoked(_logger, request.AccountId, session.SessionId, reason);
                }

                return new RevokeAllSessionsResponse { RevokedSessionCount = revoked.Count };
            }
        }

        throw Errors.Contended($"The sessions of account '{request.AccountId}'");
    }

    /// <inheritdoc/>
    public async ValueTask<IssueServiceTokenResponse> IssueServiceTokenAsync(IssueServiceTokenRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(IsServiceName(request.ServiceName), "service_name", $"'{request.ServiceName}' is not a service name: lower-kebab, 2-48 characters, e.g. 'time-manager'.");
        Errors.Require(request.InstanceId.Length is > 0 and <= 200 && !request.InstanceId.Any(char.IsControl), "instance_id", "is required: the host's instance id, 1-200 characters without control characters.");
        Errors.Require(request.IssueTime is not null, "issue_time", "is required: when the proof was made.");
        Errors.Require(request.Proof.Length > 0, "proof", "is required: the HMAC-SHA256 of the service-token statement under the service secret.");
        if (_serviceSecret.Length == 0)
        {
            throw Errors.FailedPrecondition("IssueServiceToken is not configured on this auth instance: set GameSystem:Auth:ServiceSecret (the hosts' service secret).");
        }

        var issueTime = request.IssueTime!.ToDateTimeOffset();
        var expected = ServiceTokenProof.Compute(_serviceSecret, request.ServiceName, request.InstanceId, issueTime);
        if (!CryptographicOperations.FixedTimeEquals(expected, request.Proof.Span))
        {
            throw Errors.Unauthenticated("proof does not verify under the service secret: the host and auth must share the same service secret (GameSystem:Auth:ServiceSecret).");
        }

        var now = UtcNow;
        if ((now - issueTime).Duration() > ServiceTokenProof.MaxClockDifference)
        {
            throw Errors.Unauthenticated($"issue_time is more than {ServiceTokenProof.MaxClockDifference.TotalSeconds:0} s from auth's clock; make a fresh proof (and check the host's clock).");
        }

        var cancellationToken = context.CancellationToken;
        var accountId = AccountRules.ServicePrefix + request.ServiceName;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var serviceSessionKey = StoreKeys.ServiceSession(request.ServiceName, request.InstanceId);
            var read = await _store.GetManyAsync([StoreKeys.Account(accountId), serviceSessionKey], cancellationToken).ConfigureAwait(false);
            var stamp = Timestamp.FromDateTimeOffset(now);
            var transaction = new StateTransaction();
            AccountRecord account;
            var created = false;
            if (read[0] is { } accountEntry)
            {
                account = AccountRecord.Parser.ParseFrom(accountEntry.Value.Span);
                if (account.Account.State != AccountState.Active)
                {
                    throw Errors.FailedPrecondition($"Service account '{accountId}' is disabled; an administrator can enable it again (SetAccountState).");
                }

                transaction.Require(StoreKeys.Account(accountId), accountEntry.Version);
            }
            else
            {
                created = true;
                account = new AccountRecord
                {
                    Service = true,
                    Account = new Account
                    {
                        AccountId = accountId,
                        Username = accountId,
                        Email = "",
                        DisplayName = request.ServiceName,
                        Roles = { ServiceRole },
                        State = AccountState.Active,
                        CreateTime = stamp,
                        UpdateTime = stamp,
                        Version = 1,
                    },
                };
                transaction.Set(StoreKeys.Account(accountId), account.ToByteArray(), expectedVersion: 0)
                    .Set(StoreKeys.UsernameClaim(accountId), ByteString.CopyFromUtf8(accountId).Memory, expectedVersion: 0)
                    .IndexAdd(StoreKeys.Usernames, UsernameMember(account.Account));
                _outbox.Publish(transaction, AuthEvents.AccountRegistered(account.Account));
            }

            var expires = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds()) + _tokens.Lifetime);
            SessionRecord? session = null;
            StateEntry? sessionEntry = null;
            if (read[1] is { } pointer)
            {
                sessionEntry = await _store.GetAsync(StoreKeys.Session(pointer.Value.Span.Length == 0 ? "" : Encoding.UTF8.GetString(pointer.Value.Span)), cancellationToken).ConfigureAwait(false);
                session = sessionEntry is null ? null : SessionRecord.Parser.ParseFrom(sessionEntry.Value.Span);
            }

            if (session is { Session.RevokeTime: null })
            {
                var extended = new SessionRecord(session) { Session = session.Session.Clone() };
                extended.Session.LastRefreshTime = stamp;
                extended.Session.ExpireTime = expires;
                transaction.Set(StoreKeys.Session(session.Session.SessionId), extended.ToByteArray(), sessionEntry!.Version);
                session = extended;
            }
            else
            {
                session = new SessionRecord
                {
                    InstanceId = request.InstanceId,
                    Session = new Session { SessionId = NewId("ses-"), AccountId = accountId, ClientName = request.InstanceId, CreateTime = stamp, LastRefreshTime = stamp, ExpireTime = expires },
                };
                transaction.Set(StoreKeys.Session(session.Session.SessionId), session.ToByteArray(), expectedVersion: 0)
                    .Set(serviceSessionKey, ByteString.CopyFromUtf8(session.Session.SessionId).Memory, read[1]?.Version ?? 0)
                    .IndexAdd(StoreKeys.Sessions(accountId), StoreKeys.SessionMember(stamp, session.Session.SessionId))
                    .IndexAdd(StoreKeys.LiveSessions(accountId), StoreKeys.SessionMember(stamp, session.Session.SessionId));
            }

            if (!(await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                continue;
            }

            if (created)
            {
                LogServiceAccountCreated(_logger, accountId);
            }

            var tokens = await TokenSetAsync(new TokenSubject(accountId, accountId, session.Session.SessionId, [ServiceRole], [.. _options.EffectiveServiceScopes]), refreshToken: "", refreshExpire: null, cancellationToken).ConfigureAwait(false);
            return new IssueServiceTokenResponse { Account = account.Account, Tokens = tokens };
        }

        throw Errors.Contended($"Service account '{accountId}'");
    }

    [GeneratedRegex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
    private static partial Regex ServiceNamePattern();

    private static bool IsServiceName(string name) => name.Length is >= 2 and <= 48 && ServiceNamePattern().IsMatch(name);

    // ---- Shared ----

    private static byte[] RefreshHashOf(string refreshToken) =>
        RefreshTokens.HashOf(refreshToken) ?? throw Errors.Unauthenticated("refresh_token is not a refresh token issued by auth; log in again.");

    /// <summary>The session a refresh token (by its hash) belongs to; UNAUTHENTICATED when auth knows no such token (never issued, or past the session's lifetime).</summary>
    private async ValueTask<(StateEntry Entry, RefreshRecord Record)> ReadRefreshAsync(byte[] hash, CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(StoreKeys.Refresh(hash), cancellationToken).ConfigureAwait(false)
            ?? throw Errors.Unauthenticated("refresh_token is unknown or expired; log in again.");
        return (entry, RefreshRecord.Parser.ParseFrom(entry.Value.Span));
    }

    private async ValueTask<TokenSet> TokenSetAsync(TokenSubject subject, string refreshToken, Timestamp? refreshExpire, CancellationToken cancellationToken)
    {
        var access = await _tokens.IssueAsync(subject, cancellationToken).ConfigureAwait(false);
        var tokens = new TokenSet
        {
            AccessToken = access.Token,
            AccessTokenExpireTime = Timestamp.FromDateTimeOffset(access.ExpireTime),
            RefreshToken = refreshToken,
            RefreshTokenExpireTime = refreshExpire,
            TokenType = "Bearer",
            SessionId = subject.SessionId,
        };
        tokens.Scopes.AddRange(subject.Scopes);
        return tokens;
    }

    /// <summary>Adds the revocation of one live session (record, live index, event) to <paramref name="transaction"/>; returns the session as revoked.</summary>
    private Session RevokeInto(StateTransaction transaction, StateEntry entry, SessionRecord record, string reason)
    {
        var revoked = record.Session.Clone();
        revoked.RevokeTime = Now();
        revoked.RevokeReason = reason;
        transaction.Set(StoreKeys.Session(revoked.SessionId), new SessionRecord(record) { Session = revoked, RefreshHash = ByteString.Empty }.ToByteArray(), entry.Version)
            .IndexRemove(StoreKeys.LiveSessions(revoked.AccountId), StoreKeys.SessionMember(revoked.CreateTime, revoked.SessionId));
        _outbox.Publish(transaction, AuthEvents.SessionRevoked(revoked));
        return revoked;
    }

    /// <summary>Adds the revocation of every live session of an account but <paramref name="keepSessionId"/> to <paramref name="transaction"/>.</summary>
    private async ValueTask<List<Session>> RevokeSessionsAsync(StateTransaction transaction, string accountId, string keepSessionId, string reason, CancellationToken cancellationToken)
    {
        var revoked = new List<Session>();
        var page = await _store.QueryIndexAsync(StoreKeys.LiveSessions(accountId), new StateIndexQuery { PageSize = MaxLiveSessions * 2 }, cancellationToken).ConfigureAwait(false);
        var ids = page.Members.Select(StoreKeys.IdOf).Where(id => id != keepSessionId).ToList();
        var entries = await _store.GetManyAsync([.. ids.Select(StoreKeys.Session)], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < ids.Count; i++)
        {
            if (entries[i] is { } entry && SessionRecord.Parser.ParseFrom(entry.Value.Span) is { Session.RevokeTime: null } record)
            {
                revoked.Add(RevokeInto(transaction, entry, record, reason));
            }
        }

        return revoked;
    }

    /// <summary>Keeps an account under <see cref="MaxLiveSessions"/>: a login past it revokes the oldest live session in its transaction.</summary>
    private async ValueTask RevokeBeyondLimitAsync(StateTransaction transaction, string accountId, CancellationToken cancellationToken)
    {
        if (await _store.CountIndexAsync(StoreKeys.LiveSessions(accountId), cancellationToken: cancellationToken).ConfigureAwait(false) < MaxLiveSessions)
        {
            return;
        }

        var oldest = await _store.QueryIndexAsync(StoreKeys.LiveSessions(accountId), new StateIndexQuery { PageSize = 1 }, cancellationToken).ConfigureAwait(false);
        if (oldest.Members is [var member] && await _store.GetAsync(StoreKeys.Session(StoreKeys.IdOf(member)), cancellationToken).ConfigureAwait(false) is { } entry)
        {
            RevokeInto(transaction, entry, SessionRecord.Parser.ParseFrom(entry.Value.Span), "session_limit");
        }
    }

    /// <summary>
    /// The client address the gateway forwards (first <c>x-forwarded-for</c> entry), when there is
    /// one and the call comes from a verified service account (the gateway calls as one). Anyone
    /// else could write any address there: to dodge the per-caller limit by changing it, or to
    /// lock another player's address out; from them the header is ignored.
    /// </summary>
    private static string? CallerAddress(ServerCallContext context)
    {
        if (context.GetPrincipal() is not { IsService: true })
        {
            return null;
        }

        var forwarded = context.RequestHeaders?.GetValue("x-forwarded-for");
        if (string.IsNullOrWhiteSpace(forwarded))
        {
            return null;
        }

        var first = forwarded.Split(',')[0].Trim();
        return first.Length is > 0 and <= 100 ? first : null;
    }
}
