using System.Text;
using System.Text.RegularExpressions;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Services.TimeManager.Internal;
using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager;

/// <summary>
/// time-manager: one game clock per world and the timers scheduled against it, kept in the
/// state store with expected-version writes so concurrent instances never lose an update.
/// While hosted it runs a scheduler that fires due timers and publishes their events on
/// event-bus.
/// </summary>
public sealed partial class TimeManagerService : ITimeManagerService, IHostedService, IDisposable
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;
    private static readonly TimeSpan DefaultTickInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(200);

    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<TimeManagerService> _logger;
    private readonly TimerBook _timers;
    private readonly TimerScheduler _scheduler;

    /// <summary>Creates the service over a state store; fired timer events go to <paramref name="eventBus"/>.</summary>
    public TimeManagerService(IStateStore store, TimeProvider timeProvider, ILogger<TimeManagerService> logger, EventBusServiceClient eventBus)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(eventBus);
        _store = store;
        _time = timeProvider;
        _logger = logger;
        _timers = new TimerBook(store, timeProvider, eventBus, logger);
        _scheduler = new TimerScheduler(_timers, timeProvider, logger);
    }

    /// <summary>Starts the timer scheduler (the host calls this once the service is served).</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _scheduler.StartAsync(cancellationToken);

    /// <summary>Stops the timer scheduler; fires not yet delivered stay in the store for the next start.</summary>
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

        var now = _time.GetUtcNow();
        var stamp = Timestamp.FromDateTimeOffset(now);
        var clock = new Clock
        {
            WorldId = request.WorldId,
            DisplayName = request.DisplayName,
            State = request.StartPaused ? ClockState.Paused : ClockState.Running,
            TimeScale = request.TimeScale,
            Calendar = GameCalendar.Normalize(request.Calendar),
            AnchorGameSeconds = request.StartGameSeconds,
            AnchorTime = stamp,
            CreateTime = stamp,
            UpdateTime = stamp,
        };
        var record = new ClockRecord { Clock = clock, CreateRequestId = request.RequestId, LastChange = ClockChangeKind.Created };
        var key = TimerBook.ClockKey(request.WorldId);
        var result = await _store.SetAsync(key, record.ToBytes(), expectedVersion: 0, cancellationToken: context.CancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            LogClockCreated(_logger, request.WorldId, request.TimeScale, clock.State);
            return new CreateClockResponse { Clock = ClockMath.View(clock, result.Version, now) };
        }

        if (result.Current is null)
        {
            // Deleted between the check and the read: the world is free again, so create anew.
            return await CreateClockAsync(request, context).ConfigureAwait(false);
        }

        var existing = ClockRecord.Parse(result.Current.Value);
        if (existing.CreateRequestId == request.RequestId)
        {
            return new CreateClockResponse { Clock = ClockMath.View(existing.Clock, result.Current.Version, _time.GetUtcNow()) };
        }

        throw new RpcException(new Status(StatusCode.AlreadyExists, $"World '{request.WorldId}' already has a clock (created by another request); use GetClock to read it or UpdateClock to change it."));
    }

    /// <inheritdoc/>
    public async ValueTask<GetClockResponse> GetClockAsync(GetClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        var (record, version) = await ReadAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        return new GetClockResponse { Clock = ClockMath.View(record.Clock, version, _time.GetUtcNow()) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListClocksResponse> ListClocksAsync(ListClocksRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Require(request.PageSize is >= 0 and <= MaxPageSize, $"page_size must be 1-{MaxPageSize} (0 selects {DefaultPageSize}); got {request.PageSize}.");
        Require(System.Enum.IsDefined(request.State), $"state {(int)request.State} is not a ClockState.");
        var after = DecodePageToken(request.PageToken);
        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;

        // The Redis store lists in SCAN order, so the whole set is read and ordered here.
        var clocks = new List<(Clock Clock, long Version)>();
        string? token = null;
        do
        {
            var page = await _store.ListAsync(TimerBook.ClockKeyPrefix, StateKeys.MaxPageSize, token, context.CancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                var clock = ClockRecord.Parse(item.Entry.Value).Clock;
                if (string.CompareOrdinal(clock.WorldId, after) > 0 && (request.State == ClockState.Unspecified || clock.State == request.State))
                {
                    clocks.Add((clock, item.Entry.Version));
                }
            }

            token = page.NextPageToken;
        }
        while (token is not null);

        var ordered = clocks.DistinctBy(c => c.Clock.WorldId).OrderBy(c => c.Clock.WorldId, StringComparer.Ordinal).ToList();
        var now = _time.GetUtcNow();
        var response = new ListClocksResponse();
        response.Clocks.AddRange(ordered.Take(pageSize).Select(c => ClockMath.View(c.Clock, c.Version, now)));
        if (ordered.Count > pageSize)
        {
            response.NextPageToken = Convert.ToBase64String(Encoding.UTF8.GetBytes(response.Clocks[^1].WorldId));
        }

        return response;
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
        if (paths.Contains("time_scale"))
        {
            Require(ClockMath.IsValidTimeScale(request.Clock.TimeScale), $"clock.time_scale must be greater than 0 and at most {ClockMath.MaxTimeScale:0}; got {request.Clock.TimeScale}.");
        }

        if (paths.Contains("calendar") && request.Clock.Calendar is not null)
        {
            Require(GameCalendar.Validate(request.Clock.Calendar, "clock.calendar"));
        }

        var (record, version, now) = await MutateAsync(request.Clock.WorldId, request.ExpectedVersion, (record, currentVersion, now) =>
        {
            var clock = record.Clock;
            if (paths.Contains("display_name"))
            {
                clock.DisplayName = request.Clock.DisplayName;
            }

            if (paths.Contains("time_scale"))
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
        ValidateWorldId(request.WorldId, "world_id");
        var key = TimerBook.ClockKey(request.WorldId);
        while (true)
        {
            var entry = await _store.GetAsync(key, context.CancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return request.AllowMissing ? new DeleteClockResponse() : throw NotFound(request.WorldId);
            }

            CheckExpectedVersion(request.WorldId, request.ExpectedVersion, entry.Version);
            var result = await _store.DeleteAsync(key, entry.Version, context.CancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                var cancelled = await _timers.CancelWorldAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
                LogClockDeleted(_logger, request.WorldId, cancelled);
                return new DeleteClockResponse { CancelledTimerCount = cancelled };
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<PauseClockResponse> PauseClockAsync(PauseClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        var (record, version, now) = await MutateAsync(request.WorldId, request.ExpectedVersion, (record, currentVersion, now) =>
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
        var (record, version, now) = await MutateAsync(request.WorldId, request.ExpectedVersion, (record, currentVersion, now) =>
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
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.TargetCase != SetClockTimeRequest.TargetOneofCase.None, "target is required: set elapsed_game_seconds or date.");
        Require(request.TargetCase != SetClockTimeRequest.TargetOneofCase.ElapsedGameSeconds || request.ElapsedGameSeconds >= 0, $"elapsed_game_seconds must be 0 or more; got {request.ElapsedGameSeconds}.");

        SetClockTimeResponse? replay = null;
        var timers = await _timers.ListAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        var target = 0L;
        var (record, _, _) = await MutateAsync(request.WorldId, request.ExpectedVersion, (record, currentVersion, now) =>
        {
            if (request.RequestId.Length > 0 && record.LastSetTimeRequestId == request.RequestId && record.LastSetTimeResponse is not null)
            {
                replay = record.LastSetTimeResponse;
                return false;
            }

            var calendar = GameCalendar.From(record.Clock.Calendar);
            if (request.TargetCase == SetClockTimeRequest.TargetOneofCase.Date)
            {
                Require(calendar.ValidateDate(request.Date, "date"));
                target = calendar.ToGameSeconds(request.Date);
            }
            else
            {
                target = request.ElapsedGameSeconds;
            }

            var current = ClockMath.GameSecondsAt(record.Clock, now);
            if (target < current && !request.AllowRewind)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Game time {target} is earlier than the clock's current time {current}; set allow_rewind to jump backward."));
            }

            ClockMath.Reanchor(record.Clock, target, now);
            record.LastChange = ClockChangeKind.TimeSet;
            record.PreviousGameSeconds = current;
            record.LastSetTimeRequestId = request.RequestId;

            record.Clock.UpdateTime = Timestamp.FromDateTimeOffset(now);

            // Kept with the clock so a retry returns the first result; the write succeeds
            // only at currentVersion, so the clock it returns is at currentVersion + 1. The
            // timers counted here are fired right after the write (and, should this instance
            // stop first, by the scheduler of any instance, since the clock now reads target).
            var due = timers.Count(t => t.Timer.State == TimerState.Scheduled && t.Timer.FireAtGameSeconds <= target);
            record.LastSetTimeResponse = new SetClockTimeResponse { Clock = ClockMath.View(record.Clock, currentVersion + 1, now), FiredTimerCount = due };
            return true;
        }, context.CancellationToken).ConfigureAwait(false);

        if (replay is not null)
        {
            return replay;
        }

        // Listed again after the write: a timer created since the count is due at target too.
        var jumped = await _timers.ListAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        await _timers.FireDueAsync(jumped, record.Clock, target, context.CancellationToken).ConfigureAwait(false);
        return record.LastSetTimeResponse!;
    }

    /// <inheritdoc/>
    public async ValueTask<ResolveGameTimeResponse> ResolveGameTimeAsync(ResolveGameTimeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.PointCase != ResolveGameTimeRequest.PointOneofCase.None, "point is required: set exactly one of elapsed_game_seconds, date, next_day_phase or next_season.");
        var (record, _) = await ReadAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var calendar = GameCalendar.From(record.Clock.Calendar);
        var current = ClockMath.GameSecondsAt(record.Clock, now);
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
        if (ClockMath.EstimatedRealTime(record.Clock, point, now) is { } eta)
        {
            response.EstimatedRealTime = Timestamp.FromDateTimeOffset(eta);
        }

        return response;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<WatchClockResponse> WatchClockAsync(WatchClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        var tickInterval = request.TickInterval?.ToTimeSpan() ?? DefaultTickInterval;
        Require(tickInterval >= TimeSpan.FromMilliseconds(100) && tickInterval <= TimeSpan.FromSeconds(60), $"tick_interval must be 100ms-60s; got {tickInterval.TotalMilliseconds}ms.");
        var cancellationToken = context.CancellationToken;
        var poll = tickInterval < MaxPollInterval ? tickInterval : MaxPollInterval;

        var (record, version) = await ReadAsync(request.WorldId, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var view = ClockMath.View(record.Clock, version, now);
        yield return new WatchClockResponse { ClockChanged = new ClockChanged { WorldId = request.WorldId, Kind = ClockChangeKind.Snapshot, Clock = view } };
        var last = view;
        var lastTick = now;
        Dictionary<string, long>? firesSeen = null;
        if (request.IncludeTimerEvents)
        {
            firesSeen = (await _timers.ListAsync(request.WorldId, cancellationToken).ConfigureAwait(false))
                .ToDictionary(t => t.Timer.TimerId, t => t.Timer.FireCount, StringComparer.Ordinal);
        }

        // The store is the source of truth shared by every instance, so the stream polls it
        // rather than relying on changes made through this instance.
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(poll, _time, cancellationToken).ConfigureAwait(false);
            var entry = await _store.GetAsync(TimerBook.ClockKey(request.WorldId), cancellationToken).ConfigureAwait(false);
            now = _time.GetUtcNow();
            if (entry is null)
            {
                yield return new WatchClockResponse { ClockChanged = new ClockChanged { WorldId = request.WorldId, Kind = ClockChangeKind.Deleted, Clock = last } };
                yield break;
            }

            var current = ClockRecord.Parse(entry.Value);
            view = ClockMath.View(current.Clock, entry.Version, now);
            if (entry.Version != last.Version)
            {
                yield return new WatchClockResponse
                {
                    ClockChanged = new ClockChanged
                    {
                        WorldId = request.WorldId,
                        Kind = current.LastChange,
                        Clock = view,
                        PreviousGameSeconds = current.LastChange == ClockChangeKind.TimeSet ? current.PreviousGameSeconds : 0,
                    },
                };
            }

            foreach (var change in CalendarChanges(request.WorldId, last.Now, view))
            {
                yield return change;
            }

            if (firesSeen is not null)
            {
                foreach (var fire in await NewFiresAsync(request.WorldId, request.TimerOwner, firesSeen, cancellationToken).ConfigureAwait(false))
                {
                    yield return new WatchClockResponse { TimerFired = fire };
                }
            }

            if (view.State == ClockState.Running && now - lastTick >= tickInterval)
            {
                lastTick = now;
                yield return new WatchClockResponse { Tick = new ClockTick { WorldId = request.WorldId, GameTime = view.Now, TickTime = view.ReadTime } };
            }

            last = view;
        }
    }

    /// <summary>Fires of the world's timers since the last poll, read from the timers' records so fires on any instance are seen.</summary>
    private async ValueTask<List<TimerFired>> NewFiresAsync(string worldId, string owner, Dictionary<string, long> seen, CancellationToken cancellationToken)
    {
        var fires = new List<TimerFired>();
        foreach (var record in await _timers.ListAsync(worldId, cancellationToken).ConfigureAwait(false))
        {
            var timer = record.Timer;
            var before = seen.GetValueOrDefault(timer.TimerId);
            if (timer.FireCount <= before)
            {
                continue;
            }

            seen[timer.TimerId] = timer.FireCount;
            if (owner.Length == 0 || timer.Owner == owner)
            {
                fires.AddRange(record.Fires.Where(f => f.Occurrence > before));
            }
        }

        return [.. fires.OrderBy(f => f.FireTime).ThenBy(f => f.ScheduledGameSeconds)];
    }

    private static IEnumerable<WatchClockResponse> CalendarChanges(string worldId, GameTime before, Clock after)
    {
        var calendar = GameCalendar.From(after.Calendar);
        var now = after.Now;
        if (now.DayPhase != before.DayPhase)
        {
            var start = calendar.NextDayPhaseStart(Math.Max(0, now.ElapsedGameSeconds - GameCalendar.SecondsPerDay), now.DayPhase);
            yield return new WatchClockResponse
            {
                DayPhaseChanged = new DayPhaseChanged { WorldId = worldId, PreviousPhase = before.DayPhase, CurrentPhase = now.DayPhase, GameTime = calendar.ToGameTime(Math.Min(start, now.ElapsedGameSeconds)) },
            };
        }

        if (now.Season != before.Season)
        {
            var start = calendar.NextSeasonStart(Math.Max(0, now.ElapsedGameSeconds - calendar.SecondsPerYear), now.Season);
            yield return new WatchClockResponse
            {
                SeasonChanged = new SeasonChanged { WorldId = worldId, PreviousSeason = before.Season, CurrentSeason = now.Season, GameTime = calendar.ToGameTime(Math.Min(start, now.ElapsedGameSeconds)) },
            };
        }
    }

    private async ValueTask<(ClockRecord Record, long Version)> ReadAsync(string worldId, CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(TimerBook.ClockKey(worldId), cancellationToken).ConfigureAwait(false) ?? throw NotFound(worldId);
        return (ClockRecord.Parse(entry.Value), entry.Version);
    }

    /// <summary>
    /// Read-modify-write with an expected-version write, retried on conflict so a concurrent
    /// change is never lost. <paramref name="mutate"/> returns false when nothing changes.
    /// </summary>
    private async ValueTask<(ClockRecord Record, long Version, DateTimeOffset Now)> MutateAsync(
        string worldId, long expectedVersion, Func<ClockRecord, long, DateTimeOffset, bool> mutate, CancellationToken cancellationToken)
    {
        var key = TimerBook.ClockKey(worldId);
        while (true)
        {
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false) ?? throw NotFound(worldId);
            CheckExpectedVersion(worldId, expectedVersion, entry.Version);
            var record = ClockRecord.Parse(entry.Value);
            var now = _time.GetUtcNow();
            if (!mutate(record, entry.Version, now))
            {
                return (record, entry.Version, now);
            }

            record.Clock.UpdateTime = Timestamp.FromDateTimeOffset(now);
            var result = await _store.SetAsync(key, record.ToBytes(), entry.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogClockChanged(_logger, worldId, record.LastChange, result.Version);
                return (record, result.Version, now);
            }
        }
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

    private static string DecodePageToken(string token)
    {
        if (token.Length == 0)
        {
            return "";
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "page_token is not a token returned by ListClocks; pass next_page_token unchanged or leave it empty."));
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9._-]{1,128}$")]
    private static partial Regex WorldIdPattern();

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Created the clock of world {WorldId} at time scale {TimeScale}, {State}")]
    private static partial void LogClockCreated(ILogger logger, string worldId, double timeScale, ClockState state);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Clock of world {WorldId}: {Change}, now version {Version}")]
    private static partial void LogClockChanged(ILogger logger, string worldId, ClockChangeKind change, long version);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Deleted the clock of world {WorldId} and cancelled {Cancelled} timers")]
    private static partial void LogClockDeleted(ILogger logger, string worldId, int cancelled);
}
