using GameSystem.Services.Settings.Internal;

namespace GameSystem.Services.Settings.Tests;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("2d", 172_800_000)]
    [InlineData("0s", 0)]
    [InlineData("1h0m1ms", 3_600_001)]
    [InlineData("0.001s", 1)]
    public void Parse_ReadsEachUnit(string text, long milliseconds) => Assert.Equal(milliseconds, DurationText.Parse(text, out _));

    [Theory]
    [InlineData("", "1-64 characters")]
    [InlineData("10", "expected a unit")]
    [InlineData("m", "expected a number")]
    [InlineData("1s1m", "largest to smallest")]
    [InlineData("1m1m", "largest to smallest")]
    [InlineData("1.0001s", "millisecond")]
    [InlineData("-1s", "expected a number")]
    [InlineData("3651d", "at most 3650d")]
    [InlineData("5 m", "expected a unit")]
    public void Parse_RefusesWithAReason(string text, string reason)
    {
        Assert.Null(DurationText.Parse(text, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(1_500, "1s500ms")]
    [InlineData(90_061_001, "1d1h1m1s1ms")]
    public void Format_IsCanonical_AndParsesBack(long milliseconds, string text)
    {
        Assert.Equal(text, DurationText.Format(milliseconds));
        Assert.Equal(milliseconds, DurationText.Parse(text, out _));
    }
}
