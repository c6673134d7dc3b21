using GameSystem.Common.V1;
using GameSystem.TimeManager.V1;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>Maps game seconds to years, seasons, days and day phases of one world's calendar.</summary>
internal sealed class GameCalendar
{
    public const long SecondsPerDay = 86_400;
    public const int DefaultDaysPerSeason = 30;
    public const int SeasonsPerYear = 4;

    private static readonly (DayPhase Phase, int StartMinute)[] DefaultPhases =
    [
        (DayPhase.Dawn, 5 * 60),
        (DayPhase.Morning, 7 * 60),
        (DayPhase.Midday, 11 * 60),
        (DayPhase.Afternoon, 14 * 60),
        (DayPhase.Evening, 18 * 60),
        (DayPhase.Night, 21 * 60),
    ];

    private readonly (DayPhase Phase, int StartMinute)[] _phases;

    private GameCalendar(int daysPerSeason, (DayPhase Phase, int StartMinute)[] phases)
    {
        DaysPerSeason = daysPerSeason;
        _phases = phases;
    }

    public int DaysPerSeason { get; }

    public int DaysPerYear => DaysPerSeason * SeasonsPerYear;

    public long SecondsPerYear => DaysPerYear * SecondsPerDay;

    /// <summary>Fills the defaults of an unset or partly set calendar.</summary>
    public static Calendar Normalize(Calendar? calendar)
    {
        var normalized = calendar?.Clone() ?? new Calendar();
        if (normalized.DaysPerSeason == 0)
        {
            normalized.DaysPerSeason = DefaultDaysPerSeason;
        }

        if (normalized.DayPhaseStarts.Count == 0)
        {
            normalized.DayPhaseStarts.AddRange(DefaultPhases.Select(p => new DayPhaseStart { Phase = p.Phase, StartMinuteOfDay = p.StartMinute }));
        }

        return normalized;
    }

    /// <summary>The first problem of a calendar as an actionable message naming the field; null when valid.</summary>
    public static string? Validate(Calendar calendar, string field)
    {
        if (calendar.DaysPerSeason is < 0 or > 1000)
        {
            return $"{field}.days_per_season must be 1-1000 (0 selects the default of {DefaultDaysPerSeason}); got {calendar.DaysPerSeason}.";
        }

        var starts = calendar.DayPhaseStarts;
        if (starts.Count == 0)
        {
            return null;
        }

        var expected = Enum.GetValues<DayPhase>().Where(p => p != DayPhase.Unspecified).ToArray();
        if (starts.Count != expected.Length || starts.Select(s => s.Phase).Distinct().Count() != expected.Length || starts.Any(s => s.Phase == DayPhase.Unspecified))
        {
            return $"{field}.day_phase_starts must list each of the {expected.Length} day phases exactly once (or be empty for the default).";
        }

        for (var i = 0; i < starts.Count; i++)
        {
            if (starts[i].StartMinuteOfDay is < 0 or > 1439)
            {
                return $"{field}.day_phase_starts[{i}].start_minute_of_day must be 0-1439; got {starts[i].StartMinuteOfDay}.";
            }

            if (i > 0 && starts[i].StartMinuteOfDay <= starts[i - 1].StartMinuteOfDay)
            {
                return $"{field}.day_phase_starts must have strictly increasing start_minute_of_day; entry {i} ({starts[i].Phase}) starts at {starts[i].StartMinuteOfDay}, not after {starts[i - 1].StartMinuteOfDay}.";
            }
        }

        return null;
    }

    /// <summary>Builds the calendar of a normalized, valid <see cref="Calendar"/>.</summary>
    public static GameCalendar From(Calendar calendar)
    {
        var normalized = Normalize(calendar);
        return new GameCalendar(normalized.DaysPerSeason, normalized.DayPhaseStarts.Select(s => (s.Phase, s.StartMinuteOfDay)).ToArray());
    }

    public GameTime ToGameTime(long elapsedGameSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elapsedGameSeconds);
        var day = elapsedGameSeconds / SecondsPerDay;
        var secondOfDay = elapsedGameSeconds % SecondsPerDay;
        var dayOfYear = (int)(day % DaysPerYear);
        return new GameTime
        {
            ElapsedGameSeconds = elapsedGameSeconds,
            Year = checked((int)(day / DaysPerYear) + 1),
            DayOfYear = dayOfYear + 1,
            Hour = (int)(secondOfDay / 3600),
            Minute = (int)(secondOfDay % 3600 / 60),
            Season = (Season)(dayOfYear / DaysPerSeason + 1),
            DayPhase = PhaseAt((int)(secondOfDay / 60)),
        };
    }

    public DayPhase PhaseAt(int minuteOfDay)
    {
        // Before the first start of the day, the last phase (wrapping past midnight) still runs.
        var phase = _phases[^1].Phase;
        foreach (var (candidate, start) in _phases)
        {
            if (start <= minuteOfDay)
            {
                phase = candidate;
            }
        }

        return phase;
    }

    /// <summary>The first problem of a date as a message naming the field; null when valid.</summary>
    public string? ValidateDate(CalendarDate date, string field)
    {
        if (date.Year < 1)
        {
            return $"{field}.year must be 1 or more; got {date.Year}.";
        }

        if (date.DayOfYear < 1 || date.DayOfYear > DaysPerYear)
        {
            return $"{field}.day_of_year must be 1-{DaysPerYear} for this calendar ({DaysPerSeason} days per season); got {date.DayOfYear}.";
        }

        if (date.Hour is < 0 or > 23)
        {
            return $"{field}.hour must be 0-23; got {date.Hour}.";
        }

        if (date.Minute is < 0 or > 59)
        {
            return $"{field}.minute must be 0-59; got {date.Minute}.";
        }

        return date.Second is < 0 or > 59 ? $"{field}.second must be 0-59; got {date.Second}." : null;
    }

    public long ToGameSeconds(CalendarDate date)
    {
        var day = checked(((long)date.Year - 1) * DaysPerYear + date.DayOfYear - 1);
        return checked(day * SecondsPerDay + date.Hour * 3600L + date.Minute * 60L + date.Second);
    }

    /// <summary>The next start of <paramref name="phase"/> strictly after <paramref name="after"/>.</summary>
    public long NextDayPhaseStart(long after, DayPhase phase)
    {
        var start = _phases.First(p => p.Phase == phase).StartMinute * 60L;
        var candidate = after / SecondsPerDay * SecondsPerDay + start;
        return candidate > after ? candidate : candidate + SecondsPerDay;
    }

    /// <summary>The next first day (00:00) of <paramref name="season"/> strictly after <paramref name="after"/>.</summary>
    public long NextSeasonStart(long after, Season season)
    {
        var offset = ((int)season - 1) * DaysPerSeason * SecondsPerDay;
        var candidate = after / SecondsPerYear * SecondsPerYear + offset;
        return candidate > after ? candidate : candidate + SecondsPerYear;
    }
}
