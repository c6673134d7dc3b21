using GameSystem.Events.Internal;

namespace GameSystem.Events.Tests;

public sealed class BackoffTests
{
    [Fact]
    public void Next_DoublesFromTheFirstDelay_WithJitter_AndNeverPassesTheCap()
    {
        var first = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromSeconds(1);
        var seen = new HashSet<TimeSpan>();
        for (var run = 0; run < 200; run++)
        {
            var backoff = new Backoff(first, max);
            for (var failure = 1; failure <= 12; failure++)
            {
                var ceiling = TimeSpan.FromTicks(Math.Min(first.Ticks << (failure - 1), max.Ticks));
                var delay = backoff.Next();
                Assert.InRange(delay, ceiling / 2, ceiling);
                seen.Add(delay);
            }
        }

        // Jitter: instances failing together do not retry in step.
        Assert.True(seen.Count > 1000, $"only {seen.Count} distinct delays");
    }

    [Fact]
    public void Reset_StartsAgainFromTheFirstDelay()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
        for (var i = 0; i < 8; i++)
        {
            backoff.Next();
        }

        backoff.Reset();
        Assert.Equal(0, backoff.Failures);
        Assert.InRange(backoff.Next(), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100));
    }
}
