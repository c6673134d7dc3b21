using System.Diagnostics;
using System.Globalization;
using HdrHistogram;

namespace GameSystem.Mesh.Benchmarks;

/// <summary>The figures of one measured window.</summary>
internal sealed record Figures(double CallsPerSecond, double P50Micros, double P99Micros, double BytesPerCall)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{CallsPerSecond,8:0}/s p50 {P50Micros,6:0} µs p99 {P99Micros,6:0} µs {BytesPerCall,6:0} B/call");

    public static Figures Median(IReadOnlyList<Figures> rounds) => new(
        MedianOf(rounds.Select(r => r.CallsPerSecond)),
        MedianOf(rounds.Select(r => r.P50Micros)),
        MedianOf(rounds.Select(r => r.P99Micros)),
        MedianOf(rounds.Select(r => r.BytesPerCall)));

    /// <summary>
    /// The median of the rounds' own ratios, measured/raw. Each round runs a raw window and the
    /// measured one right after it, so drift of a shared machine between rounds, which moves
    /// both sides of a round alike, cancels out; separate medians of each side would keep it.
    /// </summary>
    public static double PairedRatio(IReadOnlyList<Figures> raw, IReadOnlyList<Figures> measured) =>
        MedianOf(raw.Zip(measured, (r, m) => m.CallsPerSecond / r.CallsPerSecond));

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>Closed-loop load: a fixed number of callers, each calling again as soon as its call returns, for a fixed time.</summary>
internal static class Load
{
    public static Task<Figures> RunAsync(Func<ValueTask> call, int concurrency, TimeSpan window) => RunAsync(_ => call, concurrency, window);

    /// <summary>As <see cref="RunAsync(Func{ValueTask}, int, TimeSpan)"/>, each caller with a call of its own (its own keys, its own versions).</summary>
    public static async Task<Figures> RunAsync(Func<int, Func<ValueTask>> callFor, int concurrency, TimeSpan window)
    {
        var histograms = new LongHistogram[concurrency];
        var calls = new long[concurrency];
        using var stop = new CancellationTokenSource(window);
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var call = callFor(i);
            var histogram = new LongHistogram(TimeStamp.Seconds(10), 3);
            long count = 0;
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                await call();
                histogram.RecordValue(Stopwatch.GetTimestamp() - started);
                count++;
            }

            histograms[i] = histogram;
            calls[i] = count;
        })).ToArray();
        await Task.WhenAll(workers);
        clock.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        var total = histograms[0];
        for (var i = 1; i < histograms.Length; i++)
        {
            total.Add(histograms[i]);
        }

        var totalCalls = calls.Sum();
        var microsPerTick = 1_000_000.0 / Stopwatch.Frequency;
        return new Figures(
            totalCalls / clock.Elapsed.TotalSeconds,
            total.GetValueAtPercentile(50) * microsPerTick,
            total.GetValueAtPercentile(99) * microsPerTick,
            (double)allocated / Math.Max(1, totalCalls));
    }
}
