using GameSystem.Common.V1;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>Firing rules of a stored timer (the message itself is declared in time_manager_store.proto).</summary>
internal sealed partial class TimerRecord
{
    /// <summary>
    /// Fires the timer if it is scheduled and due at <paramref name="gameSeconds"/>: a one-shot
    /// timer becomes FIRED and its fire is final; a recurring one moves to its next fire time
    /// after <paramref name="gameSeconds"/>, folding the occurrences a jump skipped into this fire,
    /// and stays SCHEDULED (it has no last fire until it is cancelled, so none of its fires is final).
    /// Returns null when the timer is not scheduled or not due.
    /// </summary>
    public TimerFired? TryFire(long gameSeconds, DateTimeOffset now, GameCalendar calendar)
    {
        var timer = Timer;
        if (timer.State != TimerState.Scheduled || timer.FireAtGameSeconds > gameSeconds)
        {
            return null;
        }

        var occurrence = timer.FireCount + 1;
        var interval = timer.RepeatIntervalGameSeconds;
        var missed = interval > 0 ? (gameSeconds - timer.FireAtGameSeconds) / interval : 0;
        var stamp = Timestamp.FromDateTimeOffset(now);
        var fire = new TimerFired
        {
            EventId = $"{timer.WorldId}/{timer.TimerId}/{occurrence}",
            WorldId = timer.WorldId,
            TimerId = timer.TimerId,
            EventType = timer.EventType,
            Subject = timer.Subject,
            Owner = timer.Owner,
            Occurrence = occurrence,
            ScheduledGameSeconds = timer.FireAtGameSeconds,
            FiredAt = calendar.ToGameTime(gameSeconds),
            FireTime = stamp,
            MissedOccurrences = missed,
            Final = interval == 0,
        };
        fire.Attributes.Add(timer.Attributes);
        timer.FireCount = occurrence;
        timer.LastFireTime = stamp;
        if (interval > 0)
        {
            timer.FireAtGameSeconds += (missed + 1) * interval;
        }
        else
        {
            timer.State = TimerState.Fired;
        }

        return fire;
    }

    /// <summary>
    /// The event a fire publishes: the timer's event type and subject, the deterministic event
    /// id (so event-bus drops a redelivery), the fire as payload. The outbox fills the source
    /// with the service's name.
    /// </summary>
    public static DomainEvent ToDomainEvent(TimerFired fire)
    {
        var domainEvent = new DomainEvent
        {
            EventId = fire.EventId,
            Type = fire.EventType,
            Subject = fire.Subject,
            OccurredAt = fire.FireTime,
            Payload = fire.ToByteString(),
            PayloadType = TimerFired.Descriptor.FullName,
        };
        domainEvent.Attributes.Add(fire.Attributes);
        return domainEvent;
    }
}
