using System.Diagnostics;
using System.Globalization;
using GameSystem.Mesh.Benchmarks;

namespace GameSystem.Gateway.Benchmarks;

/// <summary>
/// CPU spent per call during one window: by this process, where the load generator, the gateway,
/// the services and both baselines all run, and by nats-server (its <c>/proc/&lt;pid&gt;/stat</c>,
/// which <see cref="Process.TotalProcessorTime"/> reads on Linux). On two cores everything
/// competes for the same CPU, so a side's cost per call is the sum.
/// </summary>
internal readonly record struct Cpu(double ProcessMicros, double NatsMicros)
{
    public double TotalMicros => ProcessMicros + NatsMicros;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"cpu {ProcessMicros,5:0.0} + nats {NatsMicros,4:0.0} µs/call");

    public static async Task<(Figures Figures, Cpu Cpu)> MeasureAsync(Process nats, Func<Task<Figures>> window)
    {
        using var self = Process.GetCurrentProcess();
        var selfBefore = self.TotalProcessorTime;
        nats.Refresh();
        var natsBefore = nats.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        var figures = await window();
        var elapsed = Stopwatch.GetElapsedTime(started);
        self.Refresh();
        nats.Refresh();
        var calls = Math.Max(1, figures.CallsPerSecond * elapsed.TotalSeconds);
        return (figures, new Cpu((self.TotalProcessorTime - selfBefore).TotalMicroseconds / calls, (nats.TotalProcessorTime - natsBefore).TotalMicroseconds / calls));
    }

    public static Cpu Median(IEnumerable<Cpu> rounds)
    {
        var all = rounds.ToArray();
        return new Cpu(MedianOf(all.Select(r => r.ProcessMicros)), MedianOf(all.Select(r => r.NatsMicros)));
    }

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
