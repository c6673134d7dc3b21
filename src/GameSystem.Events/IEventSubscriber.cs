namespace GameSystem.Events;

/// <summary>
/// A service that reacts to domain events. The host reads <see cref="Subscriptions"/> once
/// when it starts the service and runs an <see cref="EventConsumer"/> for each, named
/// <c>&lt;service&gt;.&lt;subscription&gt;</c> (e.g. <c>time-manager.world-sync</c>).
/// </summary>
/// <example>
/// <code>
/// public IReadOnlyList&lt;EventSubscription&gt; Subscriptions =>
/// [
///     new("world-sync", ["world.region.deleted", "world.region.created"], OnRegionChangedAsync),
/// ];
///
/// private async ValueTask OnRegionChangedAsync(ReceivedEvent received, CancellationToken cancellationToken)
/// {
///     var region = received.Payload&lt;RegionChanged&gt;();
///     … // idempotent: the same event may arrive again
/// }
/// </code>
/// </example>
public interface IEventSubscriber
{
    /// <summary>What the service subscribes to, each with its handler.</summary>
    IReadOnlyList<EventSubscription> Subscriptions { get; }
}
