using GameSystem.TimeManager.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>Pure clock transitions: reading, pausing, resuming, re-scaling and jumping a clock at a real instant.</summary>
internal static class ClockMath
{
    public const double MaxTimeScale = 86_400;

    public static bool IsValidTimeScale(double scale) => double.IsFinite(scale) && scale > 0 && scale <= MaxTimeScale;

    /// <summary>Game seconds of <paramref name="clock"/> at real instant <paramref name="now"/>.</summary>
    public static long GameSecondsAt(Clock clock, DateTimeOffset now)
    {
        if (clock.State != ClockState.Running)
        {
            return clock.AnchorGameSeconds;
        }

        var realSeconds = (now - clock.AnchorTime.ToDateTimeOffset()).TotalSeconds;
        // A clock read on an instance whose wall clock lags the anchoring one never runs backwards.
        return realSeconds <= 0 ? clock.AnchorGameSeconds : clock.AnchorGameSeconds + (long)Math.Floor(realSeconds * clock.TimeScale);
    }

    /// <summary>Anchors the clock at <paramref name="gameSeconds"/> as of <paramref name="now"/>.</summary>
    public static void Reanchor(Clock clock, long gameSeconds, DateTimeOffset now)
    {
        clock.AnchorGameSeconds = gameSeconds;
        clock.AnchorTime = Timestamp.FromDateTimeOffset(now);
    }

    public static void Pause(Clock clock, DateTimeOffset now)
    {
        Reanchor(clock, GameSecondsAt(clock, now), now);
        clock.State = ClockState.Paused;
    }

    public static void Resume(Clock clock, DateTimeOffset now)
    {
        Reanchor(clock, GameSecondsAt(clock, now), now);
        clock.State = ClockState.Running;
    }

    public static void SetTimeScale(Clock clock, double scale, DateTimeOffset now)
    {
        Reanchor(clock, GameSecondsAt(clock, now), now);
        clock.TimeScale = scale;
    }

    /// <summary>The clock as a reader sees it at <paramref name="now"/>: with `now` and `read_time` filled.</summary>
    public static Clock View(Clock stored, long version, DateTimeOffset now)
    {
        var view = stored.Clone();
        view.Version = version;
        view.Now = GameCalendar.From(stored.Calendar).ToGameTime(GameSecondsAt(stored, now));
        view.ReadTime = Timestamp.FromDateTimeOffset(now);
        return view;
    }

    /// <summary>
    /// The last game second whose timers are due at <paramref name="now"/>: the clock's time
    /// while it runs, and at least the target of a SetClockTime jump whose timers have not all
    /// fired yet; null when none is (a paused clock that did not jump).
    /// </summary>
    public static long? DueThrough(Clock clock, ScheduleRecord schedule, DateTimeOffset now)
    {
        long? through = clock.State == ClockState.Running ? GameSecondsAt(clock, now) : null;
        if (schedule.HasFireThroughGameSeconds && (through is null || schedule.FireThroughGameSeconds > through))
        {
            through = schedule.FireThroughGameSeconds;
        }

        return through;
    }

    /// <summary>
    /// The real instant the world's first scheduled timer becomes due (<see cref="DueThrough"/>
    /// reaches it): <paramref name="now"/> when a jump left it due, the instant the running
    /// clock gets there otherwise (rounded up, so it is due by then); null when nothing is
    /// scheduled, the clock is paused, or the instant is beyond the calendar of
    /// <see cref="DateTimeOffset"/>. The scheduler is woken at this instant.
    /// </summary>
    public static DateTimeOffset? WakeTime(Clock clock, ScheduleRecord schedule, DateTimeOffset now)
    {
        if (!schedule.HasNextFireAtGameSeconds)
        {
            return null;
        }

        var next = schedule.NextFireAtGameSeconds;
        if (schedule.HasFireThroughGameSeconds && next <= schedule.FireThroughGameSeconds)
        {
            return now;
        }

        if (clock.State != ClockState.Running)
        {
            return null;
        }

        var anchor = clock.AnchorTime.ToDateTimeOffset();
        var remaining = next - clock.AnchorGameSeconds;
        if (remaining <= 0)
        {
            return anchor;
        }

        var ticks = Math.Ceiling(remaining / clock.TimeScale * TimeSpan.TicksPerSecond) + 1;
        return ticks < (DateTimeOffset.MaxValue - anchor).Ticks ? anchor.AddTicks((long)ticks) : null;
    }

    /// <summary>When a running clock reaches <paramref name="gameSeconds"/>; null when paused or already past.</summary>
    public static DateTimeOffset? EstimatedRealTime(Clock clock, long gameSeconds, DateTimeOffset now)
    {
        var remaining = gameSeconds - GameSecondsAt(clock, now);
        return clock.State != ClockState.Running || remaining <= 0 ? null : now.AddSeconds(remaining / clock.TimeScale);
    }
}
