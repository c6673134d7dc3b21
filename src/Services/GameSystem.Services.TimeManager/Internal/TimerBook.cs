using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// The timers of every world in the state store: reading, firing (an expected-version write
/// per fire, so concurrent instances never fire the same occurrence twice) and delivering
/// fired events to the event bus from each timer's outbox (at least once; the event id is
/// deterministic so the bus drops repeats).
/// </summary>
internal sealed partial class TimerBook(IStateStore store, TimeProvider time, EventBusServiceClient eventBus, ILogger logger)
{
    public const string ClockKeyPrefix = "time-manager/clocks/";
    public const string TimerKeyPrefix = "time-manager/timers/";
    private const string TimerRequestKeyPrefix = "time-manager/timer-requests/";
    private static readonly TimeSpan FirstDeliveryBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDeliveryBackoff = TimeSpan.FromSeconds(30);

    private TimeSpan _deliveryBackoff;
    private DateTimeOffset _deliveryRetryAt = DateTimeOffset.MinValue;

    public static string ClockKey(string worldId) => ClockKeyPrefix + worldId;

    public static string WorldPrefix(string worldId) => TimerKeyPrefix + worldId + "/";

    public static string TimerKey(string worldId, string timerId) => WorldPrefix(worldId) + timerId;

    public static string RequestKey(string worldId, string requestId) => TimerRequestKeyPrefix + worldId + "/" + requestId;

    public async ValueTask<(TimerRecord Record, long Version)?> GetAsync(string worldId, string timerId, CancellationToken cancellationToken)
    {
        var entry = await store.GetAsync(TimerKey(worldId, timerId), cancellationToken).ConfigureAwait(false);
        return entry is null ? null : (TimerRecord.Parse(entry.Value), entry.Version);
    }

    /// <summary>The timers of one world (or of every world when <paramref name="worldId"/> is null), in fire order.</summary>
    public async ValueTask<List<TimerRecord>> ListAsync(string? worldId, CancellationToken cancellationToken)
    {
        var timers = new List<TimerRecord>();
        var prefix = worldId is null ? TimerKeyPrefix : WorldPrefix(worldId);
        string? token = null;
        do
        {
            var page = await store.ListAsync(prefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            timers.AddRange(page.Items.Select(item => TimerRecord.Parse(item.Entry.Value)));
            token = page.NextPageToken;
        }
        while (token is not null);

        // The Redis store lists in SCAN order, which may repeat a key.
        return [.. timers
            .DistinctBy(t => (t.Timer.WorldId, t.Timer.TimerId))
            .OrderBy(t => t.Timer.FireAtGameSeconds)
            .ThenBy(t => t.Timer.TimerId, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Fires, soonest first, every scheduled timer among <paramref name="timers"/> due at
    /// <paramref name="gameSeconds"/> of <paramref name="clock"/> (their world's). Returns the
    /// timers that fired, whether by this call or by another instance at the same time, as
    /// they are now stored.
    /// </summary>
    public async ValueTask<List<TimerRecord>> FireDueAsync(IEnumerable<TimerRecord> timers, Clock clock, long gameSeconds, CancellationToken cancellationToken)
    {
        var fired = new List<TimerRecord>();
        foreach (var listed in timers)
        {
            if (listed.Timer.State == TimerState.Scheduled && listed.Timer.FireAtGameSeconds <= gameSeconds
                && await FireAsync(listed.Timer.WorldId, listed.Timer.TimerId, clock, gameSeconds, cancellationToken).ConfigureAwait(false) is { } stored
                && stored.Timer.FireCount > listed.Timer.FireCount)
            {
                fired.Add(stored);
            }
        }

        return fired;
    }

    /// <summary>Fires one timer if it is due; returns it as now stored (null when it no longer exists).</summary>
    public async ValueTask<TimerRecord?> FireAsync(string worldId, string timerId, Clock clock, long gameSeconds, CancellationToken cancellationToken)
    {
        var calendar = GameCalendar.From(clock.Calendar);
        var key = TimerKey(worldId, timerId);
        while (true)
        {
            var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return null;
            }

            var record = TimerRecord.Parse(entry.Value);
            if (record.TryFire(gameSeconds, time.GetUtcNow(), calendar) is not { } fire)
            {
                return record;
            }

            var result = await store.SetAsync(key, record.ToBytes(), entry.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogTimerFired(logger, worldId, timerId, fire.Occurrence, fire.ScheduledGameSeconds, fire.MissedOccurrences);
                return record;
            }
        }
    }

    /// <summary>
    /// One pass of the scheduler: fires the due timers of every running clock, then hands
    /// undelivered fires to the event bus. The timers are listed once per pass.
    /// </summary>
    public async ValueTask RunPassAsync(CancellationToken cancellationToken)
    {
        var timers = await ListAsync(null, cancellationToken).ConfigureAwait(false);
        var latest = timers.ToDictionary(t => TimerKey(t.Timer.WorldId, t.Timer.TimerId), StringComparer.Ordinal);
        var now = time.GetUtcNow();
        foreach (var world in timers.Where(t => t.Timer.State == TimerState.Scheduled).GroupBy(t => t.Timer.WorldId))
        {
            var clockEntry = await store.GetAsync(ClockKey(world.Key), cancellationToken).ConfigureAwait(false);
            if (clockEntry is null)
            {
                continue;
            }

            var clock = ClockRecord.Parse(clockEntry.Value).Clock;
            if (clock.State == ClockState.Running)
            {
                foreach (var fired in await FireDueAsync(world, clock, ClockMath.GameSecondsAt(clock, now), cancellationToken).ConfigureAwait(false))
                {
                    latest[TimerKey(fired.Timer.WorldId, fired.Timer.TimerId)] = fired;
                }
            }
        }

        await DeliverAsync(latest.Values.Where(t => t.UndeliveredCount > 0), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes every undelivered fire, oldest first per timer; backs off while the bus refuses.</summary>
    private async ValueTask DeliverAsync(IEnumerable<TimerRecord> timers, CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() < _deliveryRetryAt)
        {
            return;
        }

        foreach (var record in timers)
        {
            foreach (var fire in record.Undelivered.ToList())
            {
                try
                {
                    await eventBus.PublishAsync(new PublishRequest { Event = ToDomainEvent(fire) }, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    _deliveryBackoff = _deliveryBackoff == TimeSpan.Zero ? FirstDeliveryBackoff : TimeSpan.FromTicks(Math.Min(_deliveryBackoff.Ticks * 2, MaxDeliveryBackoff.Ticks));
                    _deliveryRetryAt = time.GetUtcNow() + _deliveryBackoff;
                    LogDeliveryFailed(logger, fire.EventId, ex.StatusCode, ex.Status.Detail, _deliveryBackoff.TotalSeconds);
                    return;
                }

                if (_deliveryBackoff != TimeSpan.Zero)
                {
                    _deliveryBackoff = TimeSpan.Zero;
                    LogDeliveryRecovered(logger);
                }

                await MarkDeliveredAsync(fire, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Cancels every timer of a deleted world; returns how many were still scheduled.</summary>
    public async ValueTask<int> CancelWorldAsync(string worldId, CancellationToken cancellationToken)
    {
        var cancelled = 0;
        foreach (var listed in await ListAsync(worldId, cancellationToken).ConfigureAwait(false))
        {
            var key = TimerKey(worldId, listed.Timer.TimerId);
            while (true)
            {
                var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
                if (entry is null)
                {
                    break;
                }

                var record = TimerRecord.Parse(entry.Value);
                var wasScheduled = record.Timer.State == TimerState.Scheduled;

                // A timer whose fires still wait for the bus is kept (cancelled) until they are delivered.
                StateWriteResult result;
                if (record.UndeliveredCount > 0)
                {
                    if (wasScheduled)
                    {
                        record.Timer.State = TimerState.Cancelled;
                        record.Timer.CancelTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(time.GetUtcNow());
                    }

                    result = await store.SetAsync(key, record.ToBytes(), entry.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    result = await store.DeleteAsync(key, entry.Version, cancellationToken).ConfigureAwait(false);
                }

                if (result.Succeeded)
                {
                    cancelled += wasScheduled ? 1 : 0;
                    break;
                }
            }
        }

        return cancelled;
    }

    public static DomainEvent ToDomainEvent(TimerFired fire)
    {
        var domainEvent = new DomainEvent
        {
            EventId = fire.EventId,
            Type = fire.EventType,
            Source = "time-manager",
            Subject = fire.Subject,
            OccurredAt = fire.FireTime,
            Payload = fire.ToByteString(),
            PayloadType = TimerFired.Descriptor.FullName,
        };
        domainEvent.Attributes.Add(fire.Attributes);
        return domainEvent;
    }

    private async ValueTask MarkDeliveredAsync(TimerFired fire, CancellationToken cancellationToken)
    {
        var key = TimerKey(fire.WorldId, fire.TimerId);
        while (true)
        {
            var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return;
            }

            var record = TimerRecord.Parse(entry.Value);
            if (record.DeliveredThrough >= fire.Occurrence)
            {
                return;
            }

            record.MarkDelivered(fire.Occurrence);

            // A cancelled timer of a deleted world was kept only for its outbox.
            var gone = record.UndeliveredCount == 0 && record.Timer.State == TimerState.Cancelled
                && await store.GetAsync(ClockKey(fire.WorldId), cancellationToken).ConfigureAwait(false) is null;
            var result = gone
                ? await store.DeleteAsync(key, entry.Version, cancellationToken).ConfigureAwait(false)
                : await store.SetAsync(key, record.ToBytes(), entry.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Timer {WorldId}/{TimerId} fired (occurrence {Occurrence}, scheduled at game second {Scheduled}, {Missed} missed)")]
    private static partial void LogTimerFired(ILogger logger, string worldId, string timerId, long occurrence, long scheduled, long missed);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "Cannot publish fired timer event {EventId} to event-bus ({Code}: {Detail}); it stays in the timer's outbox (a timer holding 32 undelivered fires waits before firing again), retrying in {Seconds}s")]
    private static partial void LogDeliveryFailed(ILogger logger, string eventId, StatusCode code, string detail, double seconds);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Information, Message = "event-bus accepts fired timer events again")]
    private static partial void LogDeliveryRecovered(ILogger logger);
}
