using GameSystem.Common.V1;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Events;

/// <summary>
/// A service's outbox: the domain events of a state change are recorded in the same store
/// transaction as the change (<see cref="Publish"/>), so they exist exactly when the change
/// does; the host's relay then delivers them to event-bus, in order per partition, at least
/// once, deduplicated there by event id.
/// </summary>
/// <remarks>
/// The host gives every service that takes an <see cref="EventOutbox"/> in its constructor one
/// named after the service, and runs the relay that drains it.
/// </remarks>
public sealed class EventOutbox
{
    private readonly TimeProvider _time;

    /// <summary>Creates the outbox of the service <paramref name="serviceName"/> (e.g. <c>time-manager</c>).</summary>
    public EventOutbox(string serviceName, TimeProvider? timeProvider = null)
    {
        StateKeys.ValidateOutbox(serviceName, nameof(serviceName));
        Name = serviceName;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The outbox name, which is the service's name and the events' default <c>source</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// Adds <paramref name="domainEvent"/> to <paramref name="transaction"/>, into the outbox of
    /// the transaction's partition. Fills what the producer left unset: <c>event_id</c> (a new
    /// UUIDv7, fixed from now on, so every redelivery carries the same id), <c>occurred_at</c>
    /// (now) and <c>source</c> (the service). <c>type</c> is required.
    /// </summary>
    /// <returns><paramref name="transaction"/>, for chaining.</returns>
    /// <exception cref="ArgumentException">The event has no type.</exception>
    public StateTransaction Publish(StateTransaction transaction, DomainEvent domainEvent)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(domainEvent);
        if (domainEvent.Type.Length == 0)
        {
            throw new ArgumentException("A domain event needs a type (e.g. 'quest.completed').", nameof(domainEvent));
        }

        var stored = domainEvent.Clone();
        if (stored.EventId.Length == 0)
        {
            stored.EventId = Guid.CreateVersion7(_time.GetUtcNow()).ToString();
        }

        stored.OccurredAt ??= Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        if (stored.Source.Length == 0)
        {
            stored.Source = Name;
        }

        transaction.Enqueue(Name, stored.ToByteArray());

        // The relay of this process hears of the write the moment it applies, so the event goes
        // out at once; its periodic sweep stays the fallback for other instances and crashes.
        if (PartitionEnqueued is { } listeners)
        {
            var partition = transaction.Partition!;
            transaction.OnApplied(() => listeners(partition));
        }

        return transaction;
    }

    /// <summary>Raised, with the partition, after a transaction holding an event of this outbox applied.</summary>
    internal event Action<string>? PartitionEnqueued;
}
