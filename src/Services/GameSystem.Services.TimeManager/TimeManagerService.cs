using System.Text;
using System.Text.RegularExpressions;
using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Services.TimeManager.Internal;
using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager;

/// <summary>
/// time-manager: one game clock per world and the timers scheduled against it, kept in the
/// state store in one partition per world, each change one transaction (see
/// <see cref="StoreKeys"/>). While hosted it runs a scheduler that fires due timers; each
/// fire records its <c>TimerFired</c> event in the service's outbox in the same transaction,
/// and the host's relay delivers it to event-bus.
/// </summary>
public sealed partial class TimeManagerService : ITimeManagerService, IHostedService, IDisposable
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    /// <summary>Index members a listing reads per call at most before returning a shorter page (with a token) rather than reading on.</summary>
    private const int MaxScannedPerPage = 2000;

    /// <summary>Attempts of an optimistic read-modify-write before the call gives up with ABORTED.</summary>
    private const int MaxAttempts = 100;

    private static readonly TimeSpan DefaultTickInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(200);

    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<TimeManagerService> _logger;
    private readonly TimerBook _timers;
    private readonly Projections _projections;
    private readonly TimerScheduler _scheduler;

    /// <summary>Creates the service over a state store; the events of fired timers go to <paramref name="events"/>.</summary>
    /// <param name="store">Where clocks and timers are kept.</param>
    /// <param name="outboxes">The store's outbox side: time-manager drains its own projection outboxes (the clock directory, the wake index, sweeps).</param>
    /// <param name="timeProvider">Real time.</param>
    /// <param name="logger">The service's log.</param>
    /// <param name="events">The service's event outbox (the host names it <c>time-manager</c> and relays it to event-bus).</param>
    public TimeManagerService(IStateStore store, IStateOutboxStore outboxes, TimeProvider timeProvider, ILogger<TimeManagerService> logger, EventOutbox events)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outboxes);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(events);
        _store = store;
        _time = timeProvider;
        _logger = logger;
        _timers = new TimerBook(store, events, timeProvider, logger);
        _projections = new Projections(store, outboxes, logger);
        _scheduler = new TimerScheduler(_timers, _projections, timeProvider, logger);
    }

    /// <summary>Starts the timer scheduler (the host calls this once the service is served).</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _scheduler.StartAsync(cancellationToken);

    /// <summary>Stops the timer scheduler; what is due stays due for the next start or another instance.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _scheduler.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public void Dispose() => _scheduler.Dispose();

    /// <inheritdoc/>
    public async ValueTask<CreateClockResponse> CreateClockAsync(CreateClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.RequestId.Length > 0, "request_id is required: a client-chosen id (a UUID) that makes retries safe.");
        Require(ClockMath.IsValidTimeScale(request.TimeScale), $"time_scale must be greater than 0 and at most {ClockMath.MaxTimeScale:0}; got {request.TimeScale}.");
        Require(request.StartGameSeconds >= 0, $"start_game_seconds must be 0 or more; got {request.StartGameSeconds}.");
        if (request.Calendar is not null)
        {
            Require(GameCalendar.Validate(request.Calendar, "calendar"));
        }

        var worldId = request.WorldId;
        var cancellationToken = context.CancellationToken;
        var clockKey = StoreKeys.Clock(worldId);
        var claimKey = StoreKeys.CreateClockRequest(worldId, request.RequestId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            // The claim first: GetMany is not a snapshot (one read per key, in order), and the
            // claim and the clock commit together, so a claim seen means its clock is seen too.
            // Read the other way round, a creation committing between the reads looked deleted.
            var entries = await _store.GetManyAsync([claimKey, clockKey], cancellationToken).ConfigureAwait(false);
            entries = [entries[1], entries[0]];
            if (entries[1] is { } claimed)
            {
                // A retry: the answer is the clock that request created, if it is still there.
                var claim = CreateClockClaim.Parser.ParseFrom(claimed.Value.Span);
                if (entries[0] is { } current && ClockRecord.Parser.ParseFrom(current.Value.Span) is var created && created.Generation == claim.Generation)
                {
                    return new CreateClockResponse { Clock = ClockMath.View(created.Clock, current.Version, _time.GetUtcNow()) };
                }

                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"request_id '{request.RequestId}' already created a clock for world '{worldId}', which has been deleted since; use a new request_id to create another."));
            }

            if (entries[0] is { } existing)
            {
                var record = ClockRecord.Parser.ParseFrom(existing.Value.Span);
                if (record.CreateRequestId == request.RequestId)
                {
                    return new CreateClockResponse { Clock = ClockMath.View(record.Clock, existing.Version, _time.GetUtcNow()) };
                }

                throw new RpcException(new Status(StatusCode.AlreadyExists, $"World '{worldId}' already has a clock (created by another request); use GetClock to read it or UpdateClock to change it."));
            }

            var now = _time.GetUtcNow();
            var stamp = Timestamp.FromDateTimeOffset(now);
            var clock = new Clock
            {
                WorldId = worldId,
                DisplayName = request.DisplayName,
                State = request.StartPaused ? ClockState.Paused : ClockState.Running,
                TimeScale = request.TimeScale,
                Calendar = GameCalendar.Normalize(request.Calendar),
                AnchorGameSeconds = request.StartGameSeconds,
                AnchorTime = stamp,
                CreateTime = stamp,
                UpdateTime = stamp,
            };
            var generation = StoreKeys.NewGeneration();
            var transaction = new StateTransaction()
                .Set(clockKey, new ClockRecord { Clock = clock, Generation = generation, CreateRequestId = request.RequestId, LastChange = ClockChangeKind.Created }.ToByteArray(), expectedVersion: 0)
                .Set(claimKey, new CreateClockClaim { Generation = generation }.ToByteArray(), expectedVersion: 0, ttl: StoreKeys.RequestRetention)

                // Created with the clock (no timer yet); the clock's absence guards it.
                .Set(StoreKeys.Schedule(worldId), new ScheduleRecord().ToByteArray());
            Projections.EnqueueDirectory(transaction, worldId, clock.State);
            var result = await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogClockCreated(_logger, worldId, request.TimeScale, clock.State);
                await _projections.Directory.DrainAsync(StoreKeys.WorldPartition(worldId), cancellationToken).ConfigureAwait(false);
                return new CreateClockResponse { Clock = ClockMath.View(clock, result.VersionOf(clockKey), now) };
            }

            // Another create (or a retry of this one) got there first: read again and answer as it decided.
        }

        throw TimerBook.Contended(worldId);
    }

    /// <inheritdoc/>
    public async ValueTask<GetClockResponse> GetClockAsync(GetClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        var world = await ReadWorldAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        return new GetClockResponse { Clock = ClockMath.View(world.Clock.Clock, world.ClockVersion, _time.GetUtcNow()) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListClocksResponse> ListClocksAsync(ListClocksRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Require(request.PageSize is >= 0 and <= MaxPageSize, $"page_size must be 1-{MaxPageSize} (0 selects {DefaultPageSize}); got {request.PageSize}.");
        Require(System.Enum.IsDefined(request.State), $"state {(int)request.State} is not a ClockState.");
        var after = DecodeClockPageToken(request.PageToken);
        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        var cancellationToken = context.CancellationToken;

        // The directory lists world ids in order; each clock is read from its record, which is
        // the truth (the directory can trail it by a pass after a crash), and one more match is
        // looked for so the last page carries no token.
        var response = new ListClocksResponse();
        var now = _time.GetUtcNow();
        string? storeToken = null;
        var scanned = 0;
        var lastScanned = after;
        while (true)
        {
            var page = await _projections.ListWorldsAsync(request.State, after, Math.Min(pageSize + 1, StateKeys.MaxPageSize), storeToken, cancellationToken).ConfigureAwait(false);
            var entries = await _store.GetManyAsync([.. page.Members.Select(StoreKeys.Clock)], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < entries.Count; i++)
            {
                scanned++;
                if (entries[i] is { } entry && ClockRecord.Parser.ParseFrom(entry.Value.Span).Clock is var clock
                    && (request.State == ClockState.Unspecified || clock.State == request.State))
                {
                    if (response.Clocks.Count == pageSize)
                    {
                        response.NextPageToken = EncodeClockPageToken(response.Clocks[^1].WorldId);
                        return response;
                    }

                    response.Clocks.Add(ClockMath.View(clock, entry.Version, now));
                }

                lastScanned = page.Members[i];
            }

            if (page.NextPageToken is null)
            {
                return response;
            }

            if (scanned >= MaxScannedPerPage)
            {
                response.NextPageToken = EncodeClockPageToken(lastScanned);
                return response;
            }

            storeToken = page.NextPageToken;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateClockResponse> UpdateClockAsync(UpdateClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Require(request.Clock is not null, "clock is required: set clock.world_id and the fields named in update_mask.");
        ValidateWorldId(request.Clock!.WorldId, "clock.world_id");
        Require(request.UpdateMask is not null && request.UpdateMask.Paths.Count > 0, "update_mask is required: name the fields to change (display_name, time_scale, calendar).");
        foreach (var path in request.UpdateMask!.Paths)
        {
            Require(path is "display_name" or "time_scale" or "calendar", $"update_mask path '{path}' cannot be updated; allowed paths are display_name, time_scale and calendar.");
        }

        var paths = request.UpdateMask.Paths.ToHashSet(StringComparer.Ordinal);
        var rescale = paths.Contains("time_scale");
        if (rescale)
        {
            Require(ClockMath.IsValidTimeScale(request.Clock.TimeScale), $"clock.time_scale must be greater than 0 and at most {ClockMath.MaxTimeScale:0}; got {request.Clock.TimeScale}.");
        }

        if (paths.Contains("calendar") && request.Clock.Calendar is not null)
        {
            Require(GameCalendar.Validate(request.Clock.Calendar, "clock.calendar"));
        }

        // Only the time scale moves when timers come due.
        var (record, version, now) = await MutateAsync(request.Clock.WorldId, request.ExpectedVersion, rescale ? ClockEffects.Wake : ClockEffects.None, (record, now) =>
        {
            var clock = record.Clock;
            if (paths.Contains("display_name"))
            {
                clock.DisplayName = request.Clock.DisplayName;
            }

            if (rescale)
            {
                ClockMath.SetTimeScale(clock, request.Clock.TimeScale, now);
            }

            if (paths.Contains("calendar"))
            {
                clock.Calendar = GameCalendar.Normalize(request.Clock.Calendar);
            }

            record.LastChange = ClockChangeKind.Updated;
            return true;
        }, context.CancellationToken).ConfigureAwait(false);
        return new UpdateClockResponse { Clock = ClockMath.View(record.Clock, version, now) };
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteClockResponse> DeleteClockAsync(DeleteClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var worldId = request.WorldId;
        ValidateWorldId(worldId, "world_id");
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await WorldSnapshot.ReadAsync(_store, worldId, cancellationToken).ConfigureAwait(false) is not { } world)
            {
                return request.AllowMissing ? new DeleteClockResponse() : throw NotFound(worldId);
            }

            CheckExpectedVersion(worldId, request.ExpectedVersion, world.ClockVersion);

            // Counted at the schedule's version the delete requires, so no timer is scheduled or fires in between.
            var scheduled = await _store.CountIndexAsync(StoreKeys.TimersInState(worldId, world.Generation, TimerState.Scheduled), cancellationToken: cancellationToken).ConfigureAwait(false);
            var transaction = new StateTransaction()
                .Delete(world.ClockKey, world.ClockVersion)
                .Delete(world.ScheduleKey, world.ScheduleVersion);
            Projections.EnqueueDirectory(transaction, worldId, ClockState.Unspecified);
            Projections.EnqueueWake(transaction, worldId, null, null, _time.GetUtcNow());
            Projections.EnqueueSweep(transaction, worldId, world.Generation, world.Schedule.FireSequence);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                // The clock is gone for every reader now; the directory and the sweep of its
                // timers follow here, or on the next scheduler pass should this call stop first.
                var partition = StoreKeys.WorldPartition(worldId);
                await _projections.Directory.DrainAsync(partition, cancellationToken).ConfigureAwait(false);
                await _projections.Sweeps.DrainAsync(partition, cancellationToken).ConfigureAwait(false);
                LogClockDeleted(_logger, worldId, scheduled);
                return new DeleteClockResponse { CancelledTimerCount = (int)scheduled };
            }
        }

        throw TimerBook.Contended(worldId);
    }

    /// <inheritdoc/>
    public async ValueTask<PauseClockResponse> PauseClockAsync(PauseClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        var (record, version, now) = await MutateAsync(request.WorldId, request.ExpectedVersion, ClockEffects.Wake | ClockEffects.Directory, (record, now) =>
        {
            if (record.Clock.State == ClockState.Paused)
            {
                return false;
            }

            ClockMath.Pause(record.Clock, now);
            record.LastChange = ClockChangeKind.Paused;
            return true;
        }, context.CancellationToken).ConfigureAwait(false);
        return new PauseClockResponse { Clock = ClockMath.View(record.Clock, version, now) };
    }

    /// <inheritdoc/>
    public async ValueTask<ResumeClockResponse> ResumeClockAsync(ResumeClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        var (record, version, now) = await MutateAsync(request.WorldId, request.ExpectedVersion, ClockEffects.Wake | ClockEffects.Directory, (record, now) =>
        {
            if (record.Clock.State == ClockState.Running)
            {
                return false;
            }

            ClockMath.Resume(record.Clock, now);
            record.LastChange = ClockChangeKind.Resumed;
            return true;
        }, context.CancellationToken).ConfigureAwait(false);
        return new ResumeClockResponse { Clock = ClockMath.View(record.Clock, version, now) };
    }

    /// <inheritdoc/>
    public async ValueTask<SetClockTimeResponse> SetClockTimeAsync(SetClockTimeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var worldId = request.WorldId;
        ValidateWorldId(worldId, "world_id");
        Require(request.TargetCase != SetClockTimeRequest.TargetOneofCase.None, "target is required: set elapsed_game_seconds or date.");
        Require(request.TargetCase != SetClockTimeRequest.TargetOneofCase.ElapsedGameSeconds || request.ElapsedGameSeconds >= 0, $"elapsed_game_seconds must be 0 or more; got {request.ElapsedGameSeconds}.");
        var cancellationToken = context.CancellationToken;
        string[] keys = request.RequestId.Length > 0
            ? [StoreKeys.Clock(worldId), StoreKeys.Schedule(worldId), StoreKeys.SetClockTimeRequest(worldId, request.RequestId)]
            : [StoreKeys.Clock(worldId), StoreKeys.Schedule(worldId)];
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entries = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
            var world = WorldSnapshot.From(worldId, entries[0], entries[1]) ?? throw NotFound(worldId);
            if (entries.Count > 2 && entries[2] is { } claimed)
            {
                var claim = SetClockTimeClaim.Parser.ParseFrom(claimed.Value.Span);
                return claim.Generation == world.Generation
                    ? claim.Response
                    : throw new RpcException(new Status(StatusCode.FailedPrecondition, $"request_id '{request.RequestId}' already set the time of a clock of world '{worldId}' that has been deleted since; use a new request_id."));
            }

            CheckExpectedVersion(worldId, request.ExpectedVersion, world.ClockVersion);
            var record = world.Clock.Clone();
            var calendar = GameCalendar.From(record.Clock.Calendar);
            long target;
            if (request.TargetCase == SetClockTimeRequest.TargetOneofCase.Date)
            {
                Require(calendar.ValidateDate(request.Date, "date"));
                target = calendar.ToGameSeconds(request.Date);
            }
            else
            {
                target = request.ElapsedGameSeconds;
            }

            var now = _time.GetUtcNow();
            var current = ClockMath.GameSecondsAt(record.Clock, now);
            if (target < current && !request.AllowRewind)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Game time {target} is earlier than the clock's current time {current}; set allow_rewind to jump backward."));
            }

            // The timers the jump passes, counted at the schedule's version the jump requires.
            var due = await CountScheduledThroughAsync(world, target, cancellationToken).ConfigureAwait(false);
            ClockMath.Reanchor(record.Clock, target, now);
            record.LastChange = ClockChangeKind.TimeSet;
            record.PreviousGameSeconds = current;
            record.Clock.UpdateTime = Timestamp.FromDateTimeOffset(now);

            // The jump's due timers stay due (even on a paused clock) until each has fired, so
            // if this call stops before firing them, the scheduler of any instance does.
            var schedule = world.Schedule.Clone();
            if (due > 0)
            {
                schedule.FireThroughGameSeconds = target;
            }
            else
            {
                schedule.ClearFireThroughGameSeconds();
            }

            // A set succeeds only at the version read, so the clock it writes is one past it.
            var response = new SetClockTimeResponse { Clock = ClockMath.View(record.Clock, world.ClockVersion + 1, now), FiredTimerCount = due };
            var transaction = new StateTransaction()
                .Set(world.ClockKey, record.ToByteArray(), world.ClockVersion)
                .Set(world.ScheduleKey, schedule.ToByteArray(), world.ScheduleVersion);
            if (keys.Length > 2)
            {
                transaction.Set(keys[2], new SetClockTimeClaim { Generation = world.Generation, Response = response }.ToByteArray(), expectedVersion: 0, ttl: StoreKeys.RequestRetention);
            }

            Projections.EnqueueWake(transaction, worldId, record.Clock, schedule, now);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogClockChanged(_logger, worldId, ClockChangeKind.TimeSet, world.ClockVersion + 1);
                if (due > 0)
                {
                    await _timers.FireDueAsync(worldId, cancellationToken).ConfigureAwait(false);
                }

                return response;
            }
        }

        throw TimerBook.Contended(worldId);
    }

    /// <inheritdoc/>
    public async ValueTask<ResolveGameTimeResponse> ResolveGameTimeAsync(ResolveGameTimeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.PointCase != ResolveGameTimeRequest.PointOneofCase.None, "point is required: set exactly one of elapsed_game_seconds, date, next_day_phase or next_season.");
        var clock = (await ReadWorldAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false)).Clock.Clock;
        var now = _time.GetUtcNow();
        var calendar = GameCalendar.From(clock.Calendar);
        var current = ClockMath.GameSecondsAt(clock, now);
        long point;
        switch (request.PointCase)
        {
            case ResolveGameTimeRequest.PointOneofCase.ElapsedGameSeconds:
                Require(request.ElapsedGameSeconds >= 0, $"elapsed_game_seconds must be 0 or more; got {request.ElapsedGameSeconds}.");
                point = request.ElapsedGameSeconds;
                break;
            case ResolveGameTimeRequest.PointOneofCase.Date:
                Require(calendar.ValidateDate(request.Date, "date"));
                point = calendar.ToGameSeconds(request.Date);
                break;
            case ResolveGameTimeRequest.PointOneofCase.NextDayPhase:
                Require(request.NextDayPhase != DayPhase.Unspecified && System.Enum.IsDefined(request.NextDayPhase), $"next_day_phase must be a day phase (DAWN..NIGHT); got {request.NextDayPhase}.");
                point = calendar.NextDayPhaseStart(current, request.NextDayPhase);
                break;
            default:
                Require(request.NextSeason != Season.Unspecified && System.Enum.IsDefined(request.NextSeason), $"next_season must be a season (SPRING..WINTER); got {request.NextSeason}.");
                point = calendar.NextSeasonStart(current, request.NextSeason);
                break;
        }

        var response = new ResolveGameTimeResponse { GameTime = calendar.ToGameTime(point), GameSecondsFromNow = point - current };
        if (ClockMath.EstimatedRealTime(clock, point, now) is { } eta)
        {
            response.EstimatedRealTime = Timestamp.FromDateTimeOffset(eta);
        }

        return response;
    }

    /// <summary>How many scheduled timers fire at or before <paramref name="target"/>: read from the scheduled index up to it, nothing after.</summary>
    private async ValueTask<int> CountScheduledThroughAsync(WorldSnapshot world, long target, CancellationToken cancellationToken)
    {
        if (!world.Schedule.HasNextFireAtGameSeconds || world.Schedule.NextFireAtGameSeconds > target)
        {
            return 0;
        }

        var index = StoreKeys.TimersInState(world.WorldId, world.Generation, TimerState.Scheduled);
        var query = new StateIndexQuery { To = target == long.MaxValue ? null : StateIndex.SortableNumber(target + 1), PageSize = StateKeys.MaxPageSize };
        var count = 0;
        while (true)
        {
            var page = await _store.QueryIndexAsync(index, query, cancellationToken).ConfigureAwait(false);
            count += page.Members.Count;
            if (page.NextPageToken is null)
            {
                return count;
            }

            query = query with { PageToken = page.NextPageToken };
        }
    }

    private async ValueTask<WorldSnapshot> ReadWorldAsync(string worldId, CancellationToken cancellationToken) =>
        await WorldSnapshot.ReadAsync(_store, worldId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(worldId);

    /// <summary>What else a clock change affects, recorded in its transaction.</summary>
    [Flags]
    private enum ClockEffects
    {
        None = 0,

        /// <summary>When the world's timers come due: the schedule's version is required with the clock's, and the new wake time recorded.</summary>
        Wake = 1,

        /// <summary>The clock's state, which the directory lists (and which is applied before the call returns).</summary>
        Directory = 2,
    }

    /// <summary>
    /// Read-modify-write of a clock with an expected-version write, retried on conflict so a
    /// concurrent change is never lost. <paramref name="mutate"/> returns false when nothing changes.
    /// </summary>
    private async ValueTask<(ClockRecord Record, long Version, DateTimeOffset Now)> MutateAsync(
        string worldId, long expectedVersion, ClockEffects effects, Func<ClockRecord, DateTimeOffset, bool> mutate, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var world = await ReadWorldAsync(worldId, cancellationToken).ConfigureAwait(false);
            CheckExpectedVersion(worldId, expectedVersion, world.ClockVersion);
            var record = world.Clock.Clone();
            var now = _time.GetUtcNow();
            if (!mutate(record, now))
            {
                return (record, world.ClockVersion, now);
            }

            record.Clock.UpdateTime = Timestamp.FromDateTimeOffset(now);
            var transaction = new StateTransaction().Set(world.ClockKey, record.ToByteArray(), world.ClockVersion);
            if (effects.HasFlag(ClockEffects.Wake))
            {
                transaction.Require(world.ScheduleKey, world.ScheduleVersion);
                Projections.EnqueueWake(transaction, worldId, record.Clock, world.Schedule, now);
            }

            if (effects.HasFlag(ClockEffects.Directory))
            {
                Projections.EnqueueDirectory(transaction, worldId, record.Clock.State);
            }

            var result = await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                var version = result.VersionOf(world.ClockKey);
                LogClockChanged(_logger, worldId, record.LastChange, version);
                if (effects.HasFlag(ClockEffects.Directory))
                {
                    await _projections.Directory.DrainAsync(StoreKeys.WorldPartition(worldId), cancellationToken).ConfigureAwait(false);
                }

                return (record, version, now);
            }
        }

        throw TimerBook.Contended(worldId);
    }

    private static void CheckExpectedVersion(string worldId, long expectedVersion, long actualVersion)
    {
        if (expectedVersion != 0 && expectedVersion != actualVersion)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"The clock of world '{worldId}' is at version {actualVersion}, not expected_version {expectedVersion}; read it again and retry with its current version."));
        }
    }

    private static RpcException NotFound(string worldId) =>
        new(new Status(StatusCode.NotFound, $"World '{worldId}' has no clock; create one with CreateClock."));

    private static void ValidateWorldId(string worldId, string field) =>
        Require(WorldIdPattern().IsMatch(worldId), $"{field} must be 1-128 characters of [a-zA-Z0-9._-]; got '{worldId}'.");

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, message));
        }
    }

    private static void Require(string? problem)
    {
        if (problem is not null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
        }
    }

    private static string EncodeClockPageToken(string afterWorldId) => Convert.ToBase64String(Encoding.UTF8.GetBytes(afterWorldId));

    private static string DecodeClockPageToken(string token)
    {
        if (token.Length == 0)
        {
            return "";
        }

        try
        {
            var after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (WorldIdPattern().IsMatch(after))
            {
                return after;
            }
        }
        catch (FormatException)
        {
            // Reported below with the same message as any other foreign token.
        }

        throw new RpcException(new Status(StatusCode.InvalidArgument, "page_token is not a token returned by ListClocks; pass next_page_token unchanged or leave it empty."));
    }

    [GeneratedRegex("^[a-zA-Z0-9._-]{1,128}$")]
    private static partial Regex WorldIdPattern();

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Created the clock of world {WorldId} at time scale {TimeScale}, {State}")]
    private static partial void LogClockCreated(ILogger logger, string worldId, double timeScale, ClockState state);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Clock of world {WorldId}: {Change}, now version {Version}")]
    private static partial void LogClockChanged(ILogger logger, string worldId, ClockChangeKind change, long version);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Deleted the clock of world {WorldId} and cancelled {Cancelled} timers")]
    private static partial void LogClockDeleted(ILogger logger, string worldId, long cancelled);
}
