using GameSystem.TimeManager.V1;
using Timer = GameSystem.TimeManager.V1.Timer;
using Google.Protobuf;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// What the store holds for one timer: the timer, the request that created it, and its
/// outbox: the fires not yet accepted by the event bus plus the last few delivered ones
/// (kept for WatchClock streams on any instance). Firing and queueing the event are one
/// expected-version write, so a fire is never lost between the two.
/// Encoded as a protobuf message (fields 1-4) so it stays forward compatible.
/// </summary>
internal sealed class TimerRecord
{
    /// <summary>Delivered fires kept for watchers that poll between two fires.</summary>
    public const int DeliveredFiresKept = 16;

    /// <summary>Undelivered fires a timer may hold; at this many it stops firing until the bus takes them.</summary>
    public const int MaxUndeliveredFires = 32;

    public required Timer Timer { get; init; }

    public string RequestId { get; set; } = "";

    /// <summary>Fires in occurrence order: every undelivered one and the last delivered ones.</summary>
    public List<TimerFired> Fires { get; } = [];

    /// <summary>Occurrences up to and including this one were accepted by the event bus.</summary>
    public long DeliveredThrough { get; set; }

    public int UndeliveredCount => (int)(Timer.FireCount - DeliveredThrough);

    public IEnumerable<TimerFired> Undelivered => Fires.Where(f => f.Occurrence > DeliveredThrough);

    /// <summary>
    /// Fires the timer if it is scheduled and due at <paramref name="gameSeconds"/>: a one-shot
    /// timer becomes FIRED; a recurring one moves to its next fire time after
    /// <paramref name="gameSeconds"/>, folding the occurrences a jump skipped into this fire.
    /// Returns null when the timer is not due, not scheduled, or its outbox is full.
    /// </summary>
    public TimerFired? TryFire(long gameSeconds, DateTimeOffset now, GameCalendar calendar)
    {
        var timer = Timer;
        if (timer.State != TimerState.Scheduled || timer.FireAtGameSeconds > gameSeconds || UndeliveredCount >= MaxUndeliveredFires)
        {
            return null;
        }

        var occurrence = timer.FireCount + 1;
        var interval = timer.RepeatIntervalGameSeconds;
        var missed = interval > 0 ? (gameSeconds - timer.FireAtGameSeconds) / interval : 0;
        var stamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now);
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

        Fires.Add(fire);
        return fire;
    }

    /// <summary>Marks fires up to <paramref name="occurrence"/> delivered and forgets the oldest delivered ones.</summary>
    public void MarkDelivered(long occurrence)
    {
        DeliveredThrough = Math.Max(DeliveredThrough, occurrence);
        var delivered = Fires.Count(f => f.Occurrence <= DeliveredThrough);
        if (delivered > DeliveredFiresKept)
        {
            Fires.RemoveRange(0, delivered - DeliveredFiresKept);
        }
    }

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(Timer);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(RequestId);
        foreach (var fire in Fires)
        {
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteMessage(fire);
        }

        output.WriteTag(4, WireFormat.WireType.Varint);
        output.WriteInt64(DeliveredThrough);
        output.Flush();
        return buffer.ToArray();
    }

    public static TimerRecord Parse(ReadOnlyMemory<byte> bytes)
    {
        var input = new CodedInputStream(bytes.ToArray());
        var record = new TimerRecord { Timer = new Timer() };
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    input.ReadMessage(record.Timer);
                    break;
                case 2:
                    record.RequestId = input.ReadString();
                    break;
                case 3:
                    var fire = new TimerFired();
                    input.ReadMessage(fire);
                    record.Fires.Add(fire);
                    break;
                case 4:
                    record.DeliveredThrough = input.ReadInt64();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return record;
    }
}
