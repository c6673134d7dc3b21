using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GameSystem.State;

/// <summary>
/// The store's spans and metrics, on the <see cref="SourceName"/> activity source and meter
/// (OpenTelemetry's <c>AddSource</c>/<c>AddMeter</c>): a client span per operation and the
/// <c>db.client.operation.duration</c> histogram (seconds), both with the database semantic
/// conventions' <c>db.system.name</c> (<c>redis</c> or <c>memory</c>), <c>db.operation.name</c>
/// (<c>get</c>, <c>set</c>, <c>transaction</c>, <c>outbox.claim</c> …) and, on failure, <c>error.type</c>.
/// Recorded by <see cref="InstrumentedStateStore"/>, which the DI registration puts in front of the store.
/// </summary>
public static class StateTelemetry
{
    /// <summary>Name of the <see cref="ActivitySource"/> and the <see cref="Meter"/>.</summary>
    public const string SourceName = "GameSystem.State";

    internal static ActivitySource ActivitySource { get; } = new(SourceName);

    internal static Meter Meter { get; } = new(SourceName);

    internal static Histogram<double> OperationDuration { get; } = Meter.CreateHistogram<double>(
        "db.client.operation.duration", "s", "Duration of state store operations, by store and operation.");

    /// <summary>True when anyone records the store's spans or metrics: otherwise a call costs one forward.</summary>
    internal static bool IsObserved => OperationDuration.Enabled || ActivitySource.HasListeners();
}
