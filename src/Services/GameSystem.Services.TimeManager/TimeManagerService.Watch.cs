using GameSystem.Services.TimeManager.Internal;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Services.TimeManager;

/// <summary>WatchClock: a world's clock, calendar changes and (when asked) its fired timers, polled from the store.</summary>
public sealed partial class TimeManagerService
{
    /// <inheritdoc/>
    public async IAsyncEnumerable<WatchClockResponse> WatchClockAsync(WatchClockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var worldId = request.WorldId;
        ValidateWorldId(worldId, "world_id");
        var tickInterval = request.TickInterval?.ToTimeSpan() ?? DefaultTickInterval;
        Require(tickInterval >= TimeSpan.FromMilliseconds(100) && tickInterval <= TimeSpan.FromSeconds(60), $"tick_interval must be 100ms-60s; got {tickInterval.TotalMilliseconds}ms.");
        var cancellationToken = context.CancellationToken;
        var poll = tickInterval < MaxPollInterval ? tickInterval : MaxPollInterval;

        var world = await ReadWorldAsync(worldId, cancellationToken).ConfigureAwait(false);
        var generation = world.Generation;
        var now = _time.GetUtcNow();
        var view = ClockMath.View(world.Clock.Clock, world.ClockVersion, now);
        yield return new WatchClockResponse { ClockChanged = new ClockChanged { WorldId = worldId, Kind = ClockChangeKind.Snapshot, Clock = view } };
        var last = view;
        var lastTick = now;

        // Fires are numbered per world (the schedule's fire sequence), and the last ones are
        // kept by number, so every instance's fires reach every stream without reading a timer.
        var firesSeen = world.Schedule.FireSequence;

        // The store is the source of truth shared by every instance, so the stream polls it
        // rather than relying on changes made through this instance.
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(poll, _time, cancellationToken).ConfigureAwait(false);
            var current = await WorldSnapshot.ReadAsync(_store, worldId, cancellationToken).ConfigureAwait(false);
            now = _time.GetUtcNow();

            // A clock deleted and created again between two polls is another clock: this one ended.
            if (current is null || current.Generation != generation)
            {
                yield return new WatchClockResponse { ClockChanged = new ClockChanged { WorldId = worldId, Kind = ClockChangeKind.Deleted, Clock = last } };
                yield break;
            }

            var record = current.Clock;
            view = ClockMath.View(record.Clock, current.ClockVersion, now);
            if (current.ClockVersion != last.Version)
            {
                yield return new WatchClockResponse
                {
                    ClockChanged = new ClockChanged
                    {
                        WorldId = worldId,
                        Kind = record.LastChange,
                        Clock = view,
                        PreviousGameSeconds = record.LastChange == ClockChangeKind.TimeSet ? record.PreviousGameSeconds : 0,
                    },
                };
            }

            foreach (var change in CalendarChanges(worldId, last.Now, view))
            {
                yield return change;
            }

            if (request.IncludeTimerEvents && current.Schedule.FireSequence > firesSeen)
            {
                foreach (var fire in await FiresAsync(worldId, generation, firesSeen, current.Schedule.FireSequence, request.TimerOwner, cancellationToken).ConfigureAwait(false))
                {
                    yield return new WatchClockResponse { TimerFired = fire };
                }
            }

            firesSeen = current.Schedule.FireSequence;
            if (view.State == ClockState.Running && now - lastTick >= tickInterval)
            {
                lastTick = now;
                yield return new WatchClockResponse { Tick = new ClockTick { WorldId = worldId, GameTime = view.Now, TickTime = view.ReadTime } };
            }

            last = view;
        }
    }

    /// <summary>
    /// The fires numbered after <paramref name="after"/> through <paramref name="through"/>, in
    /// fire order, of <paramref name="owner"/>'s timers (empty: all). A stream that fell more
    /// than <see cref="StoreKeys.FiresKept"/> fires behind gets the last ones kept.
    /// </summary>
    private async ValueTask<List<TimerFired>> FiresAsync(string worldId, string generation, long after, long through, string owner, CancellationToken cancellationToken)
    {
        var first = Math.Max(after + 1, through - StoreKeys.FiresKept + 1);
        var keys = new List<string>((int)(through - first + 1));
        for (var sequence = first; sequence <= through; sequence++)
        {
            keys.Add(StoreKeys.Fired(worldId, generation, sequence));
        }

        var fires = new List<TimerFired>(keys.Count);
        foreach (var entry in await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false))
        {
            if (entry is not null && TimerFired.Parser.ParseFrom(entry.Value.Span) is var fire && (owner.Length == 0 || fire.Owner == owner))
            {
                fires.Add(fire);
            }
        }

        return fires;
    }

    private static IEnumerable<WatchClockResponse> CalendarChanges(string worldId, Common.V1.GameTime before, Clock after)
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
}
