using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace GameSystem.Events;

/// <summary>
/// The metrics of outbox relays and event consumers, on the <see cref="MeterName"/> meter
/// (add it with OpenTelemetry's <c>AddMeter</c>). Relay instruments carry an <c>outbox</c> tag
/// (the service), consumer instruments a <c>consumer</c> tag (<c>time-manager.world-sync</c>).
/// </summary>
/// <remarks>
/// <c>gamesystem.events.outbox.pending</c> and <c>…oldest_age</c> are what one relay last
/// saw of its whole outbox (every partition, whoever holds it), so several instances report
/// the same backlog: take the maximum across instances, not the sum.
/// </remarks>
public static class EventsTelemetry
{
    /// <summary>Name of the meter.</summary>
    public const string MeterName = "GameSystem.Events";

    /// <summary>Name of the tag that names a relay's outbox.</summary>
    public const string OutboxTag = "outbox";

    /// <summary>Name of the tag that gives the gRPC status of a failed publish (<c>Unavailable</c>, <c>FailedPrecondition</c> …).</summary>
    public const string StatusTag = "status";

    /// <summary>Name of the tag that names a consumer.</summary>
    public const string ConsumerTag = "consumer";

    private static readonly ConcurrentDictionary<EventRelay, byte> Relays = new();

    internal static Meter Meter { get; } = new(MeterName);

    internal static Counter<long> Delivered { get; } = Meter.CreateCounter<long>(
        "gamesystem.events.outbox.delivered", "{event}", "Outbox events event-bus accepted (a redelivery after a crash counts again).");

    internal static Counter<long> PublishFailures { get; } = Meter.CreateCounter<long>(
        "gamesystem.events.outbox.failed", "{attempt}", "Attempts to publish an outbox event that failed; the event stays in the outbox and is retried.");

    internal static Counter<long> Handled { get; } = Meter.CreateCounter<long>(
        "gamesystem.events.consumer.handled", "{event}", "Events a consumer's handler processed and acknowledged.");

    internal static Counter<long> HandlerFailures { get; } = Meter.CreateCounter<long>(
        "gamesystem.events.consumer.failed", "{attempt}", "Handler attempts that threw; the event is retried, then parked.");

    internal static Counter<long> Parked { get; } = Meter.CreateCounter<long>(
        "gamesystem.events.consumer.parked", "{event}", "Events a consumer gave up on and published as dead letters.");

    // Created after the registry they read, once for every relay of the process.
    private static readonly ObservableGauge<long> PendingGauge = Meter.CreateObservableGauge(
        "gamesystem.events.outbox.pending", ObservePending, "{event}", "Events in the outbox not yet delivered to event-bus.");

    private static readonly ObservableGauge<double> OldestAgeGauge = Meter.CreateObservableGauge(
        "gamesystem.events.outbox.oldest_age", ObserveOldestAge, "s", "Age of the oldest event in the outbox not yet delivered; 0 when empty.");

    internal static void Register(EventRelay relay) => Relays.TryAdd(relay, 0);

    internal static void Unregister(EventRelay relay) => Relays.TryRemove(relay, out _);

    private static IEnumerable<Measurement<long>> ObservePending() =>
        Relays.Keys.Select(relay => new Measurement<long>(relay.Backlog.Pending, relay.OutboxTagPair));

    private static IEnumerable<Measurement<double>> ObserveOldestAge() =>
        Relays.Keys.Select(relay => new Measurement<double>(relay.Backlog.OldestAge.TotalSeconds, relay.OutboxTagPair));
}
