using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GameSystem.Services.TimeManager.Internal;
using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Timer = GameSystem.TimeManager.V1.Timer;

namespace GameSystem.Services.TimeManager;

/// <summary>Timers: scheduled against a world's clock, fired by the scheduler or by a time jump.</summary>
public sealed partial class TimeManagerService
{
    private const string DefaultTimerEventType = "time.timer.fired";
    private const long MinRepeatIntervalGameSeconds = 60;
    private const int MaxTimerAttributes = 64;
    private const int MaxTimerTextLength = 256;

    /// <inheritdoc/>
    public async ValueTask<CreateTimerResponse> CreateTimerAsync(CreateTimerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var worldId = request.WorldId;
        ValidateWorldId(worldId, "world_id");
        Require(request.RequestId.Length is > 0 and <= 128, "request_id is required (at most 128 characters): a client-chosen id (a UUID) that makes retries safe.");
        if (request.TimerId.Length > 0)
        {
            ValidateWorldId(request.TimerId, "timer_id");
        }

        Require(request.WhenCase != CreateTimerRequest.WhenOneofCase.None, "when is required: set fire_at_game_seconds, fire_after_game_seconds or fire_at_date.");
        Require(request.WhenCase != CreateTimerRequest.WhenOneofCase.FireAtGameSeconds || request.FireAtGameSeconds >= 0, $"fire_at_game_seconds must be 0 or more; got {request.FireAtGameSeconds}.");
        Require(request.WhenCase != CreateTimerRequest.WhenOneofCase.FireAfterGameSeconds || request.FireAfterGameSeconds > 0, $"fire_after_game_seconds must be greater than 0; got {request.FireAfterGameSeconds}.");
        Require(request.RepeatIntervalGameSeconds == 0 || request.RepeatIntervalGameSeconds >= MinRepeatIntervalGameSeconds, $"repeat_interval_game_seconds must be 0 (one-shot) or at least {MinRepeatIntervalGameSeconds}; got {request.RepeatIntervalGameSeconds}.");
        Require(request.EventType.Length == 0 || EventTypePattern().IsMatch(request.EventType), $"event_type must be a dotted lower-case name such as 'npc.schedule.wake' (at most 128 characters); got '{request.EventType}'.");
        Require(request.Subject.Length <= MaxTimerTextLength, $"subject must be at most {MaxTimerTextLength} characters; got {request.Subject.Length}.");
        Require(request.Owner.Length <= MaxTimerTextLength, $"owner must be at most {MaxTimerTextLength} characters; got {request.Owner.Length}.");
        Require(request.Attributes.Count <= MaxTimerAttributes, $"attributes may hold at most {MaxTimerAttributes} entries; got {request.Attributes.Count}.");

        var cancellationToken = context.CancellationToken;
        var claimKey = StoreKeys.CreateTimerRequest(worldId, request.RequestId);

        // Chosen once: concurrent retries of one request each pick an id, and the claim of the
        // request id, made in the transaction that creates the timer, decides which one exists.
        var timerId = request.TimerId.Length > 0 ? request.TimerId : "tmr-" + Guid.NewGuid().ToString("N")[..16];
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entries = await _store.GetManyAsync([StoreKeys.Clock(worldId), StoreKeys.Schedule(worldId), claimKey], cancellationToken).ConfigureAwait(false);
            var world = WorldSnapshot.From(worldId, entries[0], entries[1]) ?? throw NotFound(worldId);
            var clock = world.Clock.Clock;
            if (entries[2] is { } claimed)
            {
                return new CreateTimerResponse { Timer = await ClaimedTimerAsync(world, request, CreateTimerClaim.Parser.ParseFrom(claimed.Value.Span), cancellationToken).ConfigureAwait(false) };
            }

            var calendar = GameCalendar.From(clock.Calendar);
            if (request.WhenCase == CreateTimerRequest.WhenOneofCase.FireAtDate)
            {
                Require(calendar.ValidateDate(request.FireAtDate, "fire_at_date"));
            }

            var now = _time.GetUtcNow();
            var gameNow = ClockMath.GameSecondsAt(clock, now);
            var fireAt = request.WhenCase switch
            {
                CreateTimerRequest.WhenOneofCase.FireAtGameSeconds => request.FireAtGameSeconds,
                CreateTimerRequest.WhenOneofCase.FireAfterGameSeconds => gameNow > long.MaxValue - request.FireAfterGameSeconds
                    ? throw new RpcException(new Status(StatusCode.InvalidArgument, $"fire_after_game_seconds {request.FireAfterGameSeconds} from game second {gameNow} is beyond the last game second."))
                    : gameNow + request.FireAfterGameSeconds,
                _ => calendar.ToGameSeconds(request.FireAtDate),
            };
            var timer = new Timer
            {
                WorldId = worldId,
                TimerId = timerId,
                FireAtGameSeconds = fireAt,
                RepeatIntervalGameSeconds = request.RepeatIntervalGameSeconds,
                EventType = request.EventType.Length > 0 ? request.EventType : DefaultTimerEventType,
                Subject = request.Subject,
                Owner = request.Owner,
                State = TimerState.Scheduled,
                CreateTime = Timestamp.FromDateTimeOffset(now),
            };
            timer.Attributes.Add(request.Attributes);
            var schedule = world.Schedule.Clone();
            TimerBook.SetNextFire(schedule, schedule.HasNextFireAtGameSeconds ? Math.Min(schedule.NextFireAtGameSeconds, fireAt) : fireAt);
            var timerKey = StoreKeys.Timer(worldId, world.Generation, timerId);

            // The timer's own condition first: a conflict names the first condition that failed,
            // and a taken timer id is the one that needs an answer rather than another attempt.
            var transaction = new StateTransaction()
                .Set(timerKey, new TimerRecord { Timer = timer, RequestId = request.RequestId }.ToByteArray(), expectedVersion: 0)
                .Set(claimKey, new CreateTimerClaim { Generation = world.Generation, TimerId = timerId }.ToByteArray(), expectedVersion: 0, ttl: StoreKeys.RequestRetention)
                .Require(world.ClockKey, world.ClockVersion)
                .Set(world.ScheduleKey, schedule.ToByteArray(), world.ScheduleVersion);
            TimerIndexes.Add(transaction, world.Generation, timer);
            Projections.EnqueueWake(transaction, worldId, clock, schedule, now);
            var result = await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
            if (result.Conflict is { } conflict && conflict.Key == timerKey && conflict.Current is { } taken)
            {
                var existing = TimerRecord.Parser.ParseFrom(taken.Value.Span);
                if (existing.RequestId != request.RequestId)
                {
                    throw new RpcException(new Status(StatusCode.AlreadyExists, $"World '{worldId}' already has a timer '{timerId}' (created by another request); choose another timer_id or leave it empty to have one generated."));
                }

                // Created by this request, whose claim has expired since.
                return new CreateTimerResponse { Timer = TimerView(existing.Timer, clock) };
            }

            if (!result.Succeeded)
            {
                continue;
            }

            LogTimerCreated(_logger, worldId, timerId, fireAt, request.RepeatIntervalGameSeconds);

            // A fire time not after the clock's current time fires at once (on a running clock);
            // should this call stop first, its wake time (now) has the scheduler fire it.
            if (clock.State == ClockState.Running && fireAt <= gameNow)
            {
                await _timers.FireDueAsync(worldId, cancellationToken).ConfigureAwait(false);
                if (await _store.GetAsync(timerKey, cancellationToken).ConfigureAwait(false) is { } fired)
                {
                    timer = TimerRecord.Parser.ParseFrom(fired.Value.Span).Timer;
                }
            }

            return new CreateTimerResponse { Timer = TimerView(timer, clock) };
        }

        throw TimerBook.Contended(worldId);
    }

    /// <inheritdoc/>
    public async ValueTask<GetTimerResponse> GetTimerAsync(GetTimerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        ValidateWorldId(request.TimerId, "timer_id");
        var world = await ReadWorldAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        var (record, _) = await ReadTimerAsync(world, request.TimerId, context.CancellationToken).ConfigureAwait(false);
        return new GetTimerResponse { Timer = TimerView(record.Timer, world.Clock.Clock) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListTimersResponse> ListTimersAsync(ListTimersRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.PageSize is >= 0 and <= MaxPageSize, $"page_size must be 1-{MaxPageSize} (0 selects {DefaultPageSize}); got {request.PageSize}.");
        Require(System.Enum.IsDefined(request.State), $"state {(int)request.State} is not a TimerState.");
        var after = DecodeTimerPageToken(request.PageToken);
        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        var cancellationToken = context.CancellationToken;
        var world = await ReadWorldAsync(request.WorldId, cancellationToken).ConfigureAwait(false);
        var (worldId, generation) = (world.WorldId, world.Generation);

        // The narrowest index the filters allow (a subject names fewer timers than an owner,
        // an owner fewer than a state); every index orders its members by fire time, then
        // timer id, after a fixed prefix, and the other filters are checked on each record read.
        var (index, prefix) = request switch
        {
            { Subject.Length: > 0 } => (StoreKeys.TimersBySubject(worldId, generation), StoreKeys.LabelPrefix(request.Subject)),
            { Owner.Length: > 0 } => (StoreKeys.TimersByOwner(worldId, generation), StoreKeys.LabelPrefix(request.Owner)),
            { State: not TimerState.Unspecified } => (StoreKeys.TimersInState(worldId, generation, request.State), null),
            _ => (StoreKeys.TimersIndex(worldId, generation), (string?)null),
        };
        var query = new StateIndexQuery
        {
            Prefix = prefix,

            // Timer ids hold no character below '!', so the last member and a space bound what follows it.
            From = after is { } last ? prefix + StoreKeys.TimerMember(last.FireAt, last.TimerId) + " " : null,
            PageSize = Math.Min(pageSize + 1, StateKeys.MaxPageSize),
        };

        var response = new ListTimersResponse();
        var scanned = 0;
        var offset = prefix?.Length ?? 0;
        while (true)
        {
            var page = await _store.QueryIndexAsync(index, query, cancellationToken).ConfigureAwait(false);
            var members = page.Members.Select(m => StoreKeys.ParseTimerMember(m, offset)).ToList();
            var entries = await _store.GetManyAsync([.. members.Select(m => StoreKeys.Timer(worldId, generation, m.TimerId))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < entries.Count; i++)
            {
                scanned++;
                if (entries[i] is { } entry && TimerRecord.Parser.ParseFrom(entry.Value.Span).Timer is var timer
                    && (request.State == TimerState.Unspecified || timer.State == request.State)
                    && (request.Owner.Length == 0 || timer.Owner == request.Owner)
                    && (request.Subject.Length == 0 || timer.Subject == request.Subject))
                {
                    if (response.Timers.Count == pageSize)
                    {
                        var previous = response.Timers[^1];
                        response.NextPageToken = EncodeTimerPageToken(previous.FireAtGameSeconds, previous.TimerId);
                        return response;
                    }

                    response.Timers.Add(TimerView(timer, world.Clock.Clock));
                }
            }

            if (page.NextPageToken is null)
            {
                return response;
            }

            if (scanned >= MaxScannedPerPage)
            {
                // A shorter page rather than an unbounded read; the token continues after what was read.
                response.NextPageToken = EncodeTimerPageToken(members[^1].FireAt, members[^1].TimerId);
                return response;
            }

            query = query with { PageToken = page.NextPageToken };
        }
    }

    /// <inheritdoc/>
    public async ValueTask<CancelTimerResponse> CancelTimerAsync(CancelTimerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        ValidateWorldId(request.TimerId, "timer_id");
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var world = await ReadWorldAsync(request.WorldId, cancellationToken).ConfigureAwait(false);
            var (record, version) = await ReadTimerAsync(world, request.TimerId, cancellationToken).ConfigureAwait(false);
            switch (record.Timer.State)
            {
                case TimerState.Cancelled:
                    return new CancelTimerResponse { Timer = TimerView(record.Timer, world.Clock.Clock) };
                case TimerState.Fired:
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Timer '{request.TimerId}' of world '{request.WorldId}' is a one-shot timer that already fired; there is nothing left to cancel."));
            }

            var now = _time.GetUtcNow();
            var before = record.Timer.Clone();
            record.Timer.State = TimerState.Cancelled;
            record.Timer.CancelTime = Timestamp.FromDateTimeOffset(now);

            // The schedule is written whatever its next fire time, so every change to the
            // scheduled timers of a world is serialized on it.
            var schedule = world.Schedule.Clone();
            var wakeMoves = schedule.HasNextFireAtGameSeconds && schedule.NextFireAtGameSeconds == before.FireAtGameSeconds;
            if (wakeMoves)
            {
                TimerBook.SetNextFire(schedule, await _timers.NextFireWithoutAsync(world.WorldId, world.Generation, StoreKeys.TimerMember(before.FireAtGameSeconds, before.TimerId), cancellationToken).ConfigureAwait(false));
            }

            var transaction = new StateTransaction()
                .Require(world.ClockKey, world.ClockVersion)
                .Set(world.ScheduleKey, schedule.ToByteArray(), world.ScheduleVersion)
                .Set(StoreKeys.Timer(world.WorldId, world.Generation, request.TimerId), record.ToByteArray(), version);
            TimerIndexes.Move(transaction, world.Generation, before, record.Timer);
            if (wakeMoves)
            {
                Projections.EnqueueWake(transaction, world.WorldId, world.Clock.Clock, schedule, now);
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogTimerCancelled(_logger, request.WorldId, request.TimerId);
                return new CancelTimerResponse { Timer = TimerView(record.Timer, world.Clock.Clock) };
            }
        }

        throw TimerBook.Contended(request.WorldId);
    }

    /// <summary>The answer to a retried CreateTimer: the timer its request id claimed.</summary>
    private async ValueTask<Timer> ClaimedTimerAsync(WorldSnapshot world, CreateTimerRequest request, CreateTimerClaim claim, CancellationToken cancellationToken)
    {
        if (claim.Generation != world.Generation)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"request_id '{request.RequestId}' already created timer '{claim.TimerId}' on a clock of world '{world.WorldId}' that has been deleted since; use a new request_id."));
        }

        if (request.TimerId.Length > 0 && claim.TimerId != request.TimerId)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"request_id '{request.RequestId}' already created timer '{claim.TimerId}' in world '{world.WorldId}'; use a new request_id for timer '{request.TimerId}'."));
        }

        var (record, _) = await ReadTimerAsync(world, claim.TimerId, cancellationToken).ConfigureAwait(false);
        return TimerView(record.Timer, world.Clock.Clock);
    }

    private async ValueTask<(TimerRecord Record, long Version)> ReadTimerAsync(WorldSnapshot world, string timerId, CancellationToken cancellationToken) =>
        await _store.GetAsync(StoreKeys.Timer(world.WorldId, world.Generation, timerId), cancellationToken).ConfigureAwait(false) is { } entry
            ? (TimerRecord.Parser.ParseFrom(entry.Value.Span), entry.Version)
            : throw new RpcException(new Status(StatusCode.NotFound, $"World '{world.WorldId}' has no timer '{timerId}'; ListTimers shows its timers."));

    /// <summary>The timer as callers see it: with the calendar view of its fire time.</summary>
    private static Timer TimerView(Timer stored, Clock clock)
    {
        var view = stored.Clone();
        view.FireAt = GameCalendar.From(clock.Calendar).ToGameTime(stored.FireAtGameSeconds);
        return view;
    }

    private static string EncodeTimerPageToken(long fireAt, string timerId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{fireAt}/{timerId}")));

    private static (long FireAt, string TimerId)? DecodeTimerPageToken(string token)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && long.TryParse(text.AsSpan(0, slash), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var fireAt)
                && WorldIdPattern().IsMatch(text.AsSpan(slash + 1)))
            {
                return (fireAt, text[(slash + 1)..]);
            }
        }
        catch (FormatException)
        {
            // Reported below with the same message as any other foreign token.
        }

        throw new RpcException(new Status(StatusCode.InvalidArgument, "page_token is not a token returned by ListTimers; pass next_page_token unchanged or leave it empty."));
    }

    [GeneratedRegex("^(?=.{1,128}$)[a-z0-9_-]+(\\.[a-z0-9_-]+)*$")]
    private static partial Regex EventTypePattern();

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Timer {WorldId}/{TimerId} scheduled at game second {FireAt} (repeat every {Interval} game seconds)")]
    private static partial void LogTimerCreated(ILogger logger, string worldId, string timerId, long fireAt, long interval);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Timer {WorldId}/{TimerId} cancelled")]
    private static partial void LogTimerCancelled(ILogger logger, string worldId, string timerId);
}
