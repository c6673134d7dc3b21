using GameSystem.Services.TimeManager.Internal;
using Google.Protobuf;
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
    public void TryFire_OneShot_IsTheFinalFire_AndARecurringTimersFiresNeverAre()
    {
        var oneShot = NewRecord(fireAt: 100);
        var recurring = NewRecord(fireAt: 100, interval: 60);

        var last = oneShot.TryFire(100, Now, Calendar)!;
        var fires = Enumerable.Range(0, 3).Select(_ => recurring.TryFire(recurring.Timer.FireAtGameSeconds, Now, Calendar)!).ToList();

        Assert.True(last.Final);
        Assert.All(fires, f => Assert.False(f.Final));
        Assert.Equal([1L, 2L, 3L], fires.Select(f => f.Occurrence));
    }

    [Fact]
    public void TryFire_RoundTripsThroughItsStoredForm()
    {
        var record = NewRecord(fireAt: 0, interval: 60);
        record.RequestId = "r-1";
        record.TryFire(0, Now, Calendar);

        var parsed = TimerRecord.Parser.ParseFrom(record.ToByteArray());

        Assert.Equal(record, parsed);
        Assert.Equal((1L, 60L), (parsed.Timer.FireCount, parsed.Timer.FireAtGameSeconds));
    }
}
