using Bogus;
using GameSystem.Common.V1;
using GameSystem.Services.TimeManager.Internal;
using GameSystem.TimeManager.V1;

namespace GameSystem.Services.TimeManager.Tests;

public sealed class GameCalendarTests
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261129) };

    private static readonly GameCalendar Default = GameCalendar.From(new Calendar());

    [Fact]
    public void ToGameTime_AtEpoch_IsYearOneDayOneMidnightOfSpringNight()
    {
        var time = Default.ToGameTime(0);

        Assert.Equal((1, 1, 0, 0, Season.Spring, DayPhase.Night), (time.Year, time.DayOfYear, time.Hour, time.Minute, time.Season, time.DayPhase));
    }

    [Theory]
    [InlineData(4 * 3600 + 59 * 60 + 59, DayPhase.Night)]
    [InlineData(5 * 3600, DayPhase.Dawn)]
    [InlineData(7 * 3600, DayPhase.Morning)]
    [InlineData(11 * 3600, DayPhase.Midday)]
    [InlineData(14 * 3600, DayPhase.Afternoon)]
    [InlineData(18 * 3600, DayPhase.Evening)]
    [InlineData(21 * 3600, DayPhase.Night)]
    public void ToGameTime_UsesTheDefaultDayPhaseStarts(long secondOfDay, DayPhase expected) =>
        Assert.Equal(expected, Default.ToGameTime(GameCalendar.SecondsPerDay * 3 + secondOfDay).DayPhase);

    [Theory]
    [InlineData(0, 1, Season.Spring)]
    [InlineData(29, 1, Season.Spring)]
    [InlineData(30, 1, Season.Summer)]
    [InlineData(60, 1, Season.Autumn)]
    [InlineData(119, 1, Season.Winter)]
    [InlineData(120, 2, Season.Spring)]
    public void ToGameTime_DerivesSeasonAndYearFromTheDay(long day, int year, Season season)
    {
        var time = Default.ToGameTime(day * GameCalendar.SecondsPerDay);

        Assert.Equal((year, season, (int)(day % 120) + 1), (time.Year, time.Season, time.DayOfYear));
    }

    [Fact]
    public void ToGameSeconds_RoundTripsThroughToGameTime_ForRandomDates()
    {
        var calendar = GameCalendar.From(new Calendar { DaysPerSeason = Faker.Random.Int(1, 1000) });
        for (var i = 0; i < 200; i++)
        {
            var date = new CalendarDate
            {
                Year = Faker.Random.Int(1, 5000),
                DayOfYear = Faker.Random.Int(1, calendar.DaysPerYear),
                Hour = Faker.Random.Int(0, 23),
                Minute = Faker.Random.Int(0, 59),
                Second = Faker.Random.Int(0, 59),
            };

            var time = calendar.ToGameTime(calendar.ToGameSeconds(date));

            Assert.Equal((date.Year, date.DayOfYear, date.Hour, date.Minute), (time.Year, time.DayOfYear, time.Hour, time.Minute));
        }
    }

    [Fact]
    public void NextDayPhaseStart_IsStrictlyAfter_AndWrapsToTomorrow()
    {
        var dawnToday = 10 * GameCalendar.SecondsPerDay + 5 * 3600;

        Assert.Equal(dawnToday, Default.NextDayPhaseStart(dawnToday - 1, DayPhase.Dawn));
        Assert.Equal(dawnToday + GameCalendar.SecondsPerDay, Default.NextDayPhaseStart(dawnToday, DayPhase.Dawn));
    }

    [Fact]
    public void NextSeasonStart_IsStrictlyAfter_AndWrapsToNextYear()
    {
        var calendar = GameCalendar.From(new Calendar { DaysPerSeason = 10 });
        var summer = 10 * GameCalendar.SecondsPerDay;

        Assert.Equal(summer, calendar.NextSeasonStart(0, Season.Summer));
        Assert.Equal(calendar.SecondsPerYear, calendar.NextSeasonStart(0, Season.Spring));
        Assert.Equal(summer + calendar.SecondsPerYear, calendar.NextSeasonStart(summer, Season.Summer));
    }

    [Fact]
    public void CustomPhases_BeforeTheFirstStart_TheLastPhaseWrapsPastMidnight()
    {
        var custom = new Calendar { DaysPerSeason = 5 };
        var phases = new[] { DayPhase.Dawn, DayPhase.Morning, DayPhase.Midday, DayPhase.Afternoon, DayPhase.Evening, DayPhase.Night };
        for (var i = 0; i < phases.Length; i++)
        {
            custom.DayPhaseStarts.Add(new DayPhaseStart { Phase = phases[i], StartMinuteOfDay = 60 + i * 120 });
        }

        var calendar = GameCalendar.From(custom);

        Assert.Null(GameCalendar.Validate(custom, "calendar"));
        Assert.Equal(DayPhase.Night, calendar.PhaseAt(59));
        Assert.Equal(DayPhase.Dawn, calendar.PhaseAt(60));
        Assert.Equal(DayPhase.Morning, calendar.PhaseAt(180));
    }

    [Fact]
    public void Validate_NamesTheFieldThatIsWrong()
    {
        Assert.Contains("calendar.days_per_season", GameCalendar.Validate(new Calendar { DaysPerSeason = 1001 }, "calendar"), StringComparison.Ordinal);
        var duplicate = GameCalendar.Normalize(new Calendar());
        duplicate.DayPhaseStarts[1].Phase = DayPhase.Dawn;
        Assert.Contains("exactly once", GameCalendar.Validate(duplicate, "calendar"), StringComparison.Ordinal);
        var unordered = GameCalendar.Normalize(new Calendar());
        unordered.DayPhaseStarts[2].StartMinuteOfDay = 1;
        Assert.Contains("strictly increasing", GameCalendar.Validate(unordered, "calendar"), StringComparison.Ordinal);
        Assert.Contains("date.day_of_year", Default.ValidateDate(new CalendarDate { Year = 1, DayOfYear = 121 }, "date"), StringComparison.Ordinal);
    }
}
