using GameSystem.Mesh.Nats.Internal;

namespace GameSystem.Mesh.Nats.Tests;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData(10, "10000000n")]
    [InlineData(250, "250000u")]
    [InlineData(5000, "5000000u")]
    [InlineData(3_600_000, "3600000m")]
    public void Format_UsesTheFinestUnitThatFitsInEightDigits(int milliseconds, string expected) =>
        Assert.Equal(expected, GrpcTimeout.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData("1H", 3_600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("3S", 3000)]
    [InlineData("250m", 250)]
    [InlineData("1500u", 1.5)]
    [InlineData("2000000n", 2)]
    public void Parse_ReadsEveryUnit(string header, double expectedMilliseconds)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(expectedMilliseconds, timeout.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("123456789S")]
    [InlineData("-5S")]
    [InlineData("10s")]
    [InlineData("1.5S")]
    public void Parse_RejectsMalformedValues(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Fact]
    public void Format_ThenParse_NeverShortensTheTimeout()
    {
        var random = new Bogus.Randomizer(7);
        for (var i = 0; i < 1000; i++)
        {
            var timeout = TimeSpan.FromTicks(random.Long(1, TimeSpan.FromDays(30).Ticks));
            Assert.True(GrpcTimeout.TryParse(GrpcTimeout.Format(timeout), out var parsed));
            Assert.True(parsed >= timeout, $"{timeout} became {parsed}");
        }
    }
}
