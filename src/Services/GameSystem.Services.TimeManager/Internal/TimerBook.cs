using GameSystem.Events;
using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// Fires the due timers of a world. Each fire is one transaction in the world's partition:
/// it requires the clock's version (a pause or jump meanwhile makes it read again), rewrites
/// the timer, its index entries and the schedule (expected versions, so concurrent instances
/// never fire one occurrence twice), keeps the fire for watchers, records the TimerFired
/// event in the outbox and the world's new wake time.
/// </summary>
internal sealed partial class TimerBook(IStateStore store, EventOutbox events, TimeProvider time, ILogger logger)
{
    /// <summary>Scheduled timers read per round: the due ones among them, plus one to know the next fire time after them.</summary>
    private const int FiresPerRound = 100;

    private const int MaxRounds = 50;

    /// <summary>
    /// Fires, soonest first, every scheduled timer of the world due now (at its running clock's
    /// time, or up to a jump's target); returns how many this call fired. Only the due timers
    /// are read, through the scheduled-timers index.
    /// </summary>
    public async ValueTask<int> FireDueAsync(string worldId, CancellationToken cancellationToken)
    {
        var fired = 0;
        for (var round = 0; round < MaxRounds; round++)
        {
            var world = await WorldSnapshot.ReadAsync(store, worldId, cancellationToken).ConfigureAwait(false);
            if (world is null)
            {
                return fired;
            }

            var now = time.GetUtcNow();
            var through = ClockMath.DueThrough(world.Clock.Clock, world.Schedule, now);
            if (through is null || !world.Schedule.HasNextFireAtGameSeconds || world.Schedule.NextFireAtGameSeconds > through)
            {
                return fired;
            }

            var (done, count) = await FireRoundAsync(world, through.Value, now, cancellationToken).ConfigureAwait(false);
            fired += count;
            if (done)
            {
                return fired;
            }
        }

        return fired;
    }

    /// <summary>
    /// What the scheduler does for a world the wake index says is due: fire what is due and,
    /// when nothing was (it was paused, a timer was cancelled, the clock deleted), record the
    /// world's wake time again from what it is now, so it is not woken for nothing again.
    /// </summary>
    public async ValueTask WakeAsync(string worldId, CancellationToken cancellationToken)
    {
        if (await FireDueAsync(worldId, cancellationToken).ConfigureAwait(false) > 0)
        {
            return;
        }

        if (await WorldSnapshot.ReadAsync(store, worldId, cancellationToken).ConfigureAwait(false) is { } world)
        {
            await RefreshWakeAsync(world, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await ForgetWakeAsync(worldId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Fires the due timers among the first scheduled ones. Returns done when the world needs no
    /// further round (nothing more was due, or the index disagreed with the schedule and was
    /// recorded again).
    /// </summary>
    private async ValueTask<(bool Done, int Fired)> FireRoundAsync(WorldSnapshot world, long through, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (worldId, generation) = (world.WorldId, world.Generation);
        var scheduledIndex = StoreKeys.TimersInState(worldId, generation, TimerState.Scheduled);
        var notDue = through == long.MaxValue ? null : StateIndex.SortableNumber(through + 1);
        var page = await store.QueryIndexAsync(scheduledIndex, new StateIndexQuery { To = notDue, PageSize = FiresPerRound + 1 }, cancellationToken).ConfigureAwait(false);
        if (page.Members.Count == 0)
        {
            var first = await store.QueryIndexAsync(scheduledIndex, new StateIndexQuery { PageSize = 1 }, cancellationToken).ConfigureAwait(false);
            await RecomputeScheduleAsync(world, first.Members.Count > 0 ? StoreKeys.ParseTimerMember(first.Members[0]).FireAt : null, now, cancellationToken).ConfigureAwait(false);
            return (true, 0);
        }

        // What is left scheduled, as far as the next fire time needs to know: the members read,
        // minus the fired, plus recurring timers at their next time, plus the first member not
        // fired this round, which bounds every member not read. Its smallest is the next fire time.
        var more = page.Members.Count > FiresPerRound;
        var due = page.Members.Take(FiresPerRound).Select(m => StoreKeys.ParseTimerMember(m)).ToList();
        var left = new SortedSet<string>(page.Members, StringComparer.Ordinal);
        var exhaustive = false;
        if (!more && notDue is not null)
        {
            var after = await store.QueryIndexAsync(scheduledIndex, new StateIndexQuery { From = notDue, PageSize = 1 }, cancellationToken).ConfigureAwait(false);
            left.UnionWith(after.Members);
            exhaustive = after.Members.Count == 0;
        }
        else if (!more)
        {
            exhaustive = true;
        }

        var keys = due.Select(d => StoreKeys.Timer(worldId, generation, d.TimerId)).ToList();
        var entries = await store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        var calendar = GameCalendar.From(world.Clock.Clock.Calendar);
        var schedule = world.Schedule;
        var scheduleVersion = world.ScheduleVersion;
        var fired = 0;
        for (var i = 0; i < due.Count; i++)
        {
            if (entries[i] is not { } entry)
            {
                return (false, fired);
            }

            var record = TimerRecord.Parser.ParseFrom(entry.Value.Span);
            var before = record.Timer.Clone();
            if (record.TryFire(through, now, calendar) is not { } fire)
            {
                // Changed since the index was read (cancelled, fired elsewhere): read again.
                return (false, fired);
            }

            left.Remove(StoreKeys.TimerMember(before.FireAtGameSeconds, before.TimerId));
            if (record.Timer.State == TimerState.Scheduled)
            {
                left.Add(StoreKeys.TimerMember(record.Timer.FireAtGameSeconds, record.Timer.TimerId));
            }

            var next = schedule.Clone();
            next.FireSequence++;
            SetNextFire(next, left.Count > 0 ? StoreKeys.ParseTimerMember(left.Min!).FireAt : exhaustive ? null : throw new InvalidOperationException("A round leaves the member after the due ones unread."));
            var transaction = new StateTransaction()
                .Require(world.ClockKey, world.ClockVersion)
                .Set(world.ScheduleKey, next.ToByteArray(), scheduleVersion)
                .Set(keys[i], record.ToByteArray(), entry.Version);
            TimerIndexes.Move(transaction, generation, before, record.Timer);
            transaction.Set(StoreKeys.Fired(worldId, generation, next.FireSequence), fire.ToByteArray());
            if (next.FireSequence > StoreKeys.FiresKept)
            {
                transaction.Delete(StoreKeys.Fired(worldId, generation, next.FireSequence - StoreKeys.FiresKept));
            }

            events.Publish(transaction, TimerRecord.ToDomainEvent(fire));
            Projections.EnqueueWake(transaction, worldId, world.Clock.Clock, next, now);
            var result = await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return (false, fired);
            }

            LogTimerFired(logger, worldId, fire.TimerId, fire.Occurrence, fire.ScheduledGameSeconds, fire.MissedOccurrences);
            schedule = next;
            scheduleVersion = result.VersionOf(world.ScheduleKey);
            fired++;
        }

        // Done unless more were due than a round fires.
        return (!more, fired);
    }

    /// <summary>
    /// Sets the schedule's next fire time, and ends a jump's catch-up once no timer it passed
    /// is left (so a timer created later on the paused clock waits for the clock again).
    /// </summary>
    public static void SetNextFire(ScheduleRecord schedule, long? next)
    {
        if (next is { } value)
        {
            schedule.NextFireAtGameSeconds = value;
        }
        else
        {
            schedule.ClearNextFireAtGameSeconds();
        }

        if (schedule.HasFireThroughGameSeconds && (next is null || next > schedule.FireThroughGameSeconds))
        {
            schedule.ClearFireThroughGameSeconds();
        }
    }

    /// <summary>The next fire time after <paramref name="removedMember"/> leaves the scheduled index: the first of its two first members that is not it.</summary>
    public async ValueTask<long?> NextFireWithoutAsync(string worldId, string generation, string removedMember, CancellationToken cancellationToken)
    {
        var page = await store.QueryIndexAsync(StoreKeys.TimersInState(worldId, generation, TimerState.Scheduled), new StateIndexQuery { PageSize = 2 }, cancellationToken).ConfigureAwait(false);
        return page.Members.FirstOrDefault(m => m != removedMember) is { } member ? StoreKeys.ParseTimerMember(member).FireAt : null;
    }

    /// <summary>
    /// Records the world's wake time again from what it is now, unless it is due now anyway
    /// (the wake rounded a hair early: the next pass fires it).
    /// </summary>
    private async ValueTask RefreshWakeAsync(WorldSnapshot world, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (ClockMath.WakeTime(world.Clock.Clock, world.Schedule, now) is { } wake && wake <= now)
        {
            return;
        }

        var transaction = new StateTransaction()
            .Require(world.ClockKey, world.ClockVersion)
            .Require(world.ScheduleKey, world.ScheduleVersion);
        Projections.EnqueueWake(transaction, world.WorldId, world.Clock.Clock, world.Schedule, now);
        await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A wake entry of a world without a clock: recorded as none (the delete's own update normally does this first).</summary>
    private async ValueTask ForgetWakeAsync(string worldId, CancellationToken cancellationToken)
    {
        var transaction = new StateTransaction().RequireAbsent(StoreKeys.Clock(worldId));
        Projections.EnqueueWake(transaction, worldId, null, null, time.GetUtcNow());
        await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The schedule said a timer was due but the index holds none: the schedule is corrected from the index.</summary>
    private async ValueTask RecomputeScheduleAsync(WorldSnapshot world, long? first, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var schedule = world.Schedule.Clone();
        SetNextFire(schedule, first);
        var transaction = new StateTransaction()
            .Require(world.ClockKey, world.ClockVersion)
            .Set(world.ScheduleKey, schedule.ToByteArray(), world.ScheduleVersion);
        Projections.EnqueueWake(transaction, world.WorldId, world.Clock.Clock, schedule, now);
        if ((await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
        {
            LogScheduleRecomputed(logger, world.WorldId, first);
        }
    }

    /// <summary>Too many concurrent changes to one world for an optimistic retry loop to get through.</summary>
    public static RpcException Contended(string worldId) =>
        new(new Status(StatusCode.Aborted, $"World '{worldId}' changed too often under this call's feet; retry it."));

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Timer {WorldId}/{TimerId} fired (occurrence {Occurrence}, scheduled at game second {Scheduled}, {Missed} missed)")]
    private static partial void LogTimerFired(ILogger logger, string worldId, string timerId, long occurrence, long scheduled, long missed);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "The schedule of world {WorldId} named a due timer the index does not hold; its next fire time is now {Next}")]
    private static partial void LogScheduleRecomputed(ILogger logger, string worldId, long? next);
}
