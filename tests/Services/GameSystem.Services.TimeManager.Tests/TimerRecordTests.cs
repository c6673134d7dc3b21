using GameSystem.Services.TimeManager.Internal;
using GameSystem.TimeManager.V1;
using Timer = GameSystem.TimeManager.V1.Timer;

namespace GameSystem.Services.TimeManager.Tests;

public sealed class TimerRecordTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly GameCalendar Calendar = GameCalendar.From(GameCalendar.Normalize(null));

    private static TimerRecord NewRecord(long fireAt, long interval = 0) => new()
    {
        Timer = new Timer { WorldId = "w", TimerId = "t", FireAtGameSeconds = fireAt, RepeatIntervalGameSeconds = interval, State = TimerState.Scheduled, EventType = "time.timer.fired" },
    };

    [Fact]
    public void TryFire_BeforeItsTime_DoesNothing()
    {
        var record = NewRecord(fireAt: 1000);

        Assert.Null(record.TryFire(999, Now, Calendar));
        Assert.Equal((TimerState.Scheduled, 0L), (record.Timer.State, record.Timer.FireCount));
    }

    [Fact]
    public void TryFire_OneShot_FiresOnceWithADeterministicEventId()
    {
        var record = NewRecord(fireAt: 1000);

        var fire = record.TryFire(1000, Now, Calendar);

        Assert.Equal(("w/t/1", 1L, 1000L), (fire!.EventId, fire.Occurrence, fire.ScheduledGameSeconds));
        Assert.Equal(TimerState.Fired, record.Timer.State);
        Assert.Null(record.TryFire(5000, Now, Calendar));
    }

    [Theory]
    [InlineData(1000, 0, 1600)]
    [InlineData(1599, 0, 1600)]
    [InlineData(1600, 1, 2200)]
    [InlineData(4000, 5, 4600)]
    public void TryFire_Recurring_FoldsSkippedOccurrencesAndMovesToTheNextFireAfterNow(long now, long missed, long next)
    {
        var record = NewRecord(fireAt: 1000, interval: 600);

        var fire = record.TryFire(now, Now, Calendar);

        Assert.Equal(missed, fire!.MissedOccurrences);
        Assert.Equal((TimerState.Scheduled, next), (record.Timer.State, record.Timer.FireAtGameSeconds));
    }

    [Fact]
    public void TryFire_WithAFullOutbox_WaitsUntilFiresAreDelivered()
    {
        var record = NewRecord(fireAt: 0, interval: 60);
        for (var i = 0; i < TimerRecord.MaxUndeliveredFires; i++)
        {
            Assert.NotNull(record.TryFire(record.Timer.FireAtGameSeconds, Now, Calendar));
        }

        Assert.Null(record.TryFire(record.Timer.FireAtGameSeconds, Now, Calendar));
        record.MarkDelivered(TimerRecord.MaxUndeliveredFires);

        Assert.NotNull(record.TryFire(record.Timer.FireAtGameSeconds, Now, Calendar));
        Assert.Equal(TimerRecord.DeliveredFiresKept + 1, record.Fires.Count);
    }

    [Fact]
    public void Parse_RoundTripsTheTimerTheOutboxAndTheDeliveryMark()
    {
        var record = NewRecord(fireAt: 0, interval: 60);
        record.RequestId = "r-1";
        record.TryFire(0, Now, Calendar);
        record.TryFire(60, Now, Calendar);
        record.MarkDelivered(1);

        var parsed = TimerRecord.Parse(record.ToBytes());

        Assert.Equal(record.Timer, parsed.Timer);
        Assert.Equal(("r-1", 1L, 1), (parsed.RequestId, parsed.DeliveredThrough, parsed.UndeliveredCount));
        Assert.Equal(record.Fires, parsed.Fires);
    }
}
