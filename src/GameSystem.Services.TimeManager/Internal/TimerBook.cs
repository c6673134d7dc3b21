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

    /// <summary>The timers of one world (or of every world with an empty id), in fire order.</summary>
    public async ValueTask<List<(TimerRecord Record, long Version)>> ListAsync(string? worldId, CancellationToken cancellationToken)
    {
        var timers = new List<(TimerRecord Record, long Version)>();
        var prefix = worldId is null ? TimerKeyPrefix : WorldPrefix(worldId);
        string? token = null;
        do
        {
            var page = await store.ListAsync(prefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            timers.AddRange(page.Items.Select(item => (TimerRecord.Parse(item.Entry.Value), item.Entry.Version)));
            token = page.NextPageToken;
        }
        while (token is not null);

        // The Redis store lists in SCAN order, which may repeat a key.
        return [.. timers
            .DistinctBy(t => (t.Record.Timer.WorldId, t.Record.Timer.TimerId))
            .OrderBy(t => t.Record.Timer.FireAtGameSeconds)
            .ThenBy(t => t.Record.Timer.TimerId, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Fires, soonest first, every scheduled timer of the world due at <paramref name="gameSeconds"/>.
    /// Returns how many timers fired, whether by this call or by another instance at the same time.
    /// </summary>
    public async ValueTask<int> FireDueAsync(string worldId, Clock clock, long gameSeconds, CancellationToken cancellationToken)
    {
        var fired = 0;
        foreach (var (record, _) in await ListAsync(worldId, cancellationToken).ConfigureAwait(false))
        {
            if (record.Timer.State == TimerState.Scheduled && record.Timer.FireAtGameSeconds <= gameSeconds
                && await FireAsync(worldId, record.Timer.TimerId, clock, gameSeconds, cancellationToken).ConfigureAwait(false))
            {
                fired++;
            }
        }

        return fired;
    }

    /// <summary>Fires one timer if it is due; true when it fired (here or concurrently elsewhere).</summary>
    public async ValueTask<bool> FireAsync(string worldId, string timerId, Clock clock, long gameSeconds, CancellationToken cancellationToken)
    {
        var calendar = GameCalendar.From(clock.Calendar);
        var key = TimerKey(worldId, timerId);
        long? firstFireCount = null;
        while (true)
        {
            var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return false;
            }

            var record = TimerRecord.Parse(entry.Value);
            firstFireCount ??= record.Timer.FireCount;
            if (record.TryFire(gameSeconds, time.GetUtcNow(), calendar) is not { } fire)
            {
                return record.Timer.FireCount > firstFireCount;
            }

            var result = await store.SetAsync(key, record.ToBytes(), entry.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogTimerFired(logger, worldId, timerId, fire.Occurrence, fire.ScheduledGameSeconds, fire.MissedOccurrences);
                return true;
            }
        }
    }

    /// <summary>
    /// One pass of the scheduler: fires the due timers of every running clock, then hands
    /// undelivered fires to the event bus.
    /// </summary>
    public async ValueTask RunPassAsync(CancellationToken cancellationToken)
    {
        var timers = await ListAsync(null, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var fired = 0;
        foreach (var world in timers.Where(t => t.Record.Timer.State == TimerState.Scheduled).GroupBy(t => t.Record.Timer.WorldId))
        {
            var clockEntry = await store.GetAsync(ClockKey(world.Key), cancellationToken).ConfigureAwait(false);
            if (clockEntry is null)
            {
                continue;
            }

            var clock = ClockRecord.Parse(clockEntry.Value).Clock;
            var gameSeconds = ClockMath.GameSecondsAt(clock, now);
            if (clock.State == ClockState.Running && world.Any(t => t.Record.Timer.FireAtGameSeconds <= gameSeconds))
            {
                fired += await FireDueAsync(world.Key, clock, gameSeconds, cancellationToken).ConfigureAwait(false);
            }
        }

        await DeliverAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes every undelivered fire, oldest first per timer; backs off while the bus refuses.</summary>
    public async ValueTask DeliverAsync(CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() < _deliveryRetryAt)
        {
            return;
        }

        foreach (var (record, _) in await ListAsync(null, cancellationToken).ConfigureAwait(false))
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
        foreach (var (listed, _) in await ListAsync(worldId, cancellationToken).ConfigureAwait(false))
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
