using GameSystem.Services.TimeManager.Internal;
using GameSystem.TimeManager.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;

namespace GameSystem.Services.TimeManager.Tests;

public sealed class ClockMathTests
{
    private static Clock Running(FakeTimeProvider time, double scale, long start) => new()
    {
        State = ClockState.Running,
        TimeScale = scale,
        AnchorGameSeconds = start,
        AnchorTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        Calendar = GameCalendar.Normalize(null),
    };

    [Fact]
    public void Running_AdvancesTimeScaleGameSecondsPerRealSecond()
    {
        var time = new FakeTimeProvider();
        var clock = Running(time, 60, 1000);

        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1600, ClockMath.GameSecondsAt(clock, time.GetUtcNow()));
    }

    [Fact]
    public void Paused_StandsStill_ThenResumesFromWhereItStopped()
    {
        var time = new FakeTimeProvider();
        var clock = Running(time, 2, 0);
        time.Advance(TimeSpan.FromSeconds(5));

        ClockMath.Pause(clock, time.GetUtcNow());
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(10, ClockMath.GameSecondsAt(clock, time.GetUtcNow()));

        ClockMath.Resume(clock, time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(16, ClockMath.GameSecondsAt(clock, time.GetUtcNow()));
    }

    [Fact]
    public void SetTimeScale_ReanchorsSoGameTimeNeverJumps()
    {
        var time = new FakeTimeProvider();
        var clock = Running(time, 10, 0);
        time.Advance(TimeSpan.FromSeconds(10));

        ClockMath.SetTimeScale(clock, 1000, time.GetUtcNow());

        Assert.Equal(100, ClockMath.GameSecondsAt(clock, time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1100, ClockMath.GameSecondsAt(clock, time.GetUtcNow()));
    }

    [Fact]
    public void EstimatedRealTime_IsNullWhenPausedOrPast_OtherwiseDividesByScale()
    {
        var time = new FakeTimeProvider();
        var clock = Running(time, 60, 0);

        Assert.Equal(time.GetUtcNow().AddSeconds(2), ClockMath.EstimatedRealTime(clock, 120, time.GetUtcNow()));
        Assert.Null(ClockMath.EstimatedRealTime(clock, 0, time.GetUtcNow()));
        ClockMath.Pause(clock, time.GetUtcNow());
        Assert.Null(ClockMath.EstimatedRealTime(clock, 120, time.GetUtcNow()));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(double.NaN, false)]
    [InlineData(86_400.5, false)]
    [InlineData(0.001, true)]
    [InlineData(86_400, true)]
    public void IsValidTimeScale_AcceptsOnlyTheContractRange(double scale, bool valid) =>
        Assert.Equal(valid, ClockMath.IsValidTimeScale(scale));
}
