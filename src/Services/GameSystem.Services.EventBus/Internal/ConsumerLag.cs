using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// <c>gamesystem.events.consumer.pending</c>: for each durable consumer whose live subscription
/// this instance serves, the events it still has to get through (JetStream's num_pending, as of
/// the last delivery or the last lease renewal, plus those delivered and not yet acked), tagged
/// <c>stream</c> and <c>consumer</c>. One instance serves a consumer at a time, so a sum across
/// instances counts each consumer once.
/// </summary>
internal static class ConsumerLag
{
    /// <summary>The meter's name (under OpenTelemetry's <c>GameSystem.*</c>).</summary>
    public const string MeterName = "GameSystem.Services.EventBus";

    private static readonly ConcurrentDictionary<DurableSource, byte> Sources = new();
    private static readonly Meter Meter = new(MeterName);

    private static readonly ObservableGauge<long> Pending = Meter.CreateObservableGauge(
        "gamesystem.events.consumer.pending", Observe, "{event}", "Events a durable consumer has not yet acknowledged: not yet delivered (JetStream num_pending) plus delivered and unacked.");

    public static void Register(DurableSource source) => Sources.TryAdd(source, 0);

    public static void Unregister(DurableSource source) => Sources.TryRemove(source, out _);

    private static IEnumerable<Measurement<long>> Observe() =>
        Sources.Keys.Select(source => new Measurement<long>(source.Lag,
            new KeyValuePair<string, object?>("stream", source.Stream.Name),
            new KeyValuePair<string, object?>("consumer", source.ConsumerName)));
}
