namespace GameSystem.Events.Internal;

/// <summary>
/// Jittered exponential backoff, capped: the n-th consecutive failure waits a random time
/// between half and all of <c>min(first · 2ⁿ⁻¹, max)</c>, so instances that failed together do
/// not retry in step, and a long outage is probed at most every <c>max</c>.
/// </summary>
/// <remarks>
/// Hand-written rather than Polly's: Polly computes its delays inside a retry strategy that
/// re-runs one callback, whereas the relay and the consumer keep failing state across loop
/// passes (and log on its changes), which only needs the delay.
/// </remarks>
internal struct Backoff(TimeSpan first, TimeSpan max)
{
    /// <summary>Consecutive failures since the last <see cref="Reset"/>.</summary>
    public int Failures { get; private set; }

    /// <summary>Counts a failure and returns how long to wait before the next attempt.</summary>
    public TimeSpan Next() => Delay(++Failures, first, max);

    /// <summary>The wait after the <paramref name="failures"/>-th consecutive failure (from 1).</summary>
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan max)
    {
        var ceiling = Math.Min(first.Ticks * Math.Pow(2, Math.Clamp(failures - 1, 0, 40)), max.Ticks);
        return TimeSpan.FromTicks((long)(ceiling * (0.5 + (Random.Shared.NextDouble() * 0.5))));
    }

    /// <summary>Forgets the failures: the next one waits <c>first</c> again.</summary>
    public void Reset() => Failures = 0;
}
