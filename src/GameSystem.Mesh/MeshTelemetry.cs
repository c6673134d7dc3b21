using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Grpc.Core;

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

    /// <summary>The <c>rpc.system</c> of every mesh span and metric.</summary>
    public const string RpcSystem = "nats-mesh";

    private static readonly object[] BoxedCodes = [.. Enumerable.Range(0, 17).Select(static i => (object)i)];
    private static readonly ConcurrentDictionary<object, (KeyValuePair<string, object?> Service, Func<int> Count)> ActiveCallSources = new();

    // Read from the servers' own counters at collection time: nothing on the call path.
    private static readonly ObservableUpDownCounter<int> ActiveCalls = Meter.CreateObservableUpDownCounter(
        "gamesystem.mesh.server.active_calls", ObserveActiveCalls, "{call}", "Calls (unary and streams) running on this process's instances, by service.");

    private static readonly ConcurrentDictionary<MeshHealthService, byte> HealthSources = new();

    // 1 while a service's health here is SERVING, 0 otherwise: summed by service across instances,
    // 0 means no instance anywhere serves it.
    private static readonly ObservableGauge<int> HealthStatus = Meter.CreateObservableGauge(
        "gamesystem.mesh.health.status", ObserveHealth, "{status}", "1 when this instance's grpc.health.v1 status of the service is SERVING, 0 when it is not.");

    /// <summary>Records a served call's duration, by <c>rpc.service</c>, <c>rpc.method</c> and <c>rpc.grpc.status_code</c>.</summary>
    public static void RecordServerCall(MeshMethod method, TimeSpan elapsed, StatusCode code)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (ServerDuration.Enabled)
        {
            ServerDuration.Record(elapsed.TotalSeconds, CallTags(method, code));
        }
    }

    /// <summary>Records a call's duration as its caller saw it, by <c>rpc.service</c>, <c>rpc.method</c> and <c>rpc.grpc.status_code</c>.</summary>
    public static void RecordClientCall(MeshMethod method, TimeSpan elapsed, StatusCode code)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (ClientDuration.Enabled)
        {
            ClientDuration.Record(elapsed.TotalSeconds, CallTags(method, code));
        }
    }

    /// <summary>Counts a call turned away because its service was full.</summary>
    public static void RecordShed(MeshMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (ShedCalls.Enabled)
        {
            var tags = new TagList
            {
                { "rpc.system", RpcSystem },
                { "rpc.service", method.ServiceFullName },
                { "rpc.method", method.Name },
            };
            ShedCalls.Add(1, tags);
        }
    }

    /// <summary>
    /// Reports the calls running on one served service instance as
    /// <c>gamesystem.mesh.server.active_calls</c> until the result is disposed.
    /// </summary>
    public static IDisposable ReportActiveCalls(string serviceFullName, Func<int> activeCalls)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceFullName);
        ArgumentNullException.ThrowIfNull(activeCalls);
        var registration = new Registration();
        ActiveCallSources[registration] = (new("rpc.service", serviceFullName), activeCalls);
        return registration;
    }

    private static TagList CallTags(MeshMethod method, StatusCode code) => new()
    {
        { "rpc.system", RpcSystem },
        { "rpc.service", method.ServiceFullName },
        { "rpc.method", method.Name },
        { "rpc.grpc.status_code", (uint)code < BoxedCodes.Length ? BoxedCodes[(int)code] : (int)code },
    };

    private static IEnumerable<Measurement<int>> ObserveActiveCalls()
    {
        // Instances of one service in a process (tests, a host serving it twice) add up.
        foreach (var group in ActiveCallSources.Values.GroupBy(s => s.Service.Value))
        {
            yield return new Measurement<int>(group.Sum(s => s.Count()), group.First().Service);
        }
    }

    internal static void ReportHealth(MeshHealthService health) => HealthSources.TryAdd(health, 0);

    internal static void StopReportingHealth(MeshHealthService health) => HealthSources.TryRemove(health, out _);

    private static IEnumerable<Measurement<int>> ObserveHealth()
    {
        foreach (var health in HealthSources.Keys)
        {
            foreach (var (service, serving) in health.ServiceStatuses())
            {
                yield return new Measurement<int>(serving ? 1 : 0, new KeyValuePair<string, object?>("rpc.service", service));
            }
        }
    }

    private sealed class Registration : IDisposable
    {
        public void Dispose() => ActiveCallSources.TryRemove(this, out _);
    }
}
