using System.Diagnostics;
using System.Diagnostics.Metrics;

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
}
