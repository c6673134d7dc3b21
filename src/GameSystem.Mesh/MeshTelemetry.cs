using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace GameSystem.Mesh;

/// <summary>
/// The mesh's traces and metrics, on the standard .NET APIs that OpenTelemetry listens to:
/// add <see cref="SourceName"/> with <c>AddSource</c> and <see cref="MeterName"/> with
/// <c>AddMeter</c>. Span and metric names follow the OpenTelemetry RPC conventions.
/// </summary>
public static class MeshTelemetry
{
    /// <summary>Name of the <see cref="ActivitySource"/> and the <see cref="Meter"/>.</summary>
    public const string SourceName = "GameSystem.Mesh";

    /// <summary>Name of the meter (same as <see cref="SourceName"/>).</summary>
    public const string MeterName = SourceName;

    /// <summary>The source of client and server spans.</summary>
    public static ActivitySource ActivitySource { get; } = new(SourceName);

    internal static Meter Meter { get; } = new(MeterName);

    /// <summary>Server call duration, in seconds (OpenTelemetry <c>rpc.server.duration</c>).</summary>
    public static Histogram<double> ServerDuration { get; } = Meter.CreateHistogram<double>("rpc.server.duration", "s", "Duration of mesh calls handled by this process.");

    /// <summary>Client call duration, in seconds (OpenTelemetry <c>rpc.client.duration</c>).</summary>
    public static Histogram<double> ClientDuration { get; } = Meter.CreateHistogram<double>("rpc.client.duration", "s", "Duration of mesh calls made by this process.");

    /// <summary>Calls a full service turned away with RESOURCE_EXHAUSTED.</summary>
    public static Counter<long> ShedCalls { get; } = Meter.CreateCounter<long>("gamesystem.mesh.server.shed", "{call}", "Calls rejected because the service was at its concurrency limit.");

    // Resilience of mesh clients (circuit breakers, retries): instrument names are what the alert rules use.
    private static readonly ConditionalWeakTable<object, Func<IEnumerable<KeyValuePair<string, MeshCircuitState>>>> CircuitSources = new();

    /// <summary>Retries of mesh calls (not the first attempt, not hedged ones), tagged <c>rpc.service</c> and <c>rpc.method</c>.</summary>
    public static Counter<long> ClientRetries { get; } = Meter.CreateCounter<long>("gamesystem.mesh.client.retries", "{retry}", "Attempts of mesh calls made again after a retryable failure.");

    /// <summary>
    /// State of each circuit breaker of the services this process calls, tagged <c>rpc.service</c>:
    /// 0 closed, 1 half-open, 2 open (<see cref="MeshCircuitState"/>). With several clients in a
    /// process, the worst state per service.
    /// </summary>
    public static ObservableGauge<int> ClientBreakerState { get; } = Meter.CreateObservableGauge(
        "gamesystem.mesh.client.breaker.state", ObserveCircuits, "{state}", "Circuit breaker state per called service: 0 closed, 1 half-open, 2 open.");

    /// <summary>
    /// Adds the breakers of <paramref name="owner"/> (a client) to <see cref="ClientBreakerState"/>,
    /// for as long as it lives or until <see cref="StopReportingCircuits"/>.
    /// </summary>
    /// <param name="owner">The client the breakers belong to; held weakly.</param>
    /// <param name="states">The current state of each breaker, by target service full name.</param>
    public static void ReportCircuits(object owner, Func<IEnumerable<KeyValuePair<string, MeshCircuitState>>> states) =>
        CircuitSources.AddOrUpdate(owner ?? throw new ArgumentNullException(nameof(owner)), states ?? throw new ArgumentNullException(nameof(states)));

    /// <summary>Removes what <see cref="ReportCircuits"/> added for <paramref name="owner"/>.</summary>
    public static void StopReportingCircuits(object owner) => CircuitSources.Remove(owner);

    private static IEnumerable<Measurement<int>> ObserveCircuits()
    {
        var worst = new Dictionary<string, MeshCircuitState>(StringComparer.Ordinal);
        foreach (var (_, states) in CircuitSources)
        {
            foreach (var (service, state) in states())
            {
                if (!worst.TryGetValue(service, out var known) || state > known)
                {
                    worst[service] = state;
                }
            }
        }

        return [.. worst.Select(p => new Measurement<int>((int)p.Value, new KeyValuePair<string, object?>("rpc.service", p.Key)))];
    }
}
