using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using Google.Protobuf;

namespace GameSystem.Events;

/// <summary>An event delivered to a subscription's handler.</summary>
public sealed class ReceivedEvent
{
    internal ReceivedEvent(StoredEvent stored, int deliveryCount, int attempt)
    {
        Stored = stored;
        DeliveryCount = deliveryCount;
        Attempt = attempt;
    }

    /// <summary>The event as event-bus stored it: stream, sequence and publish time with it.</summary>
    public StoredEvent Stored { get; }

    /// <summary>The domain event.</summary>
    public DomainEvent Event => Stored.Event;

    /// <summary>Its position in the stream.</summary>
    public ulong Sequence => Stored.Sequence;

    /// <summary>How often event-bus delivered it to this consumer, from 1; above 1 it may have been handled before.</summary>
    public int DeliveryCount { get; }

    /// <summary>This consumer's attempt at handling it, from 1.</summary>
    public int Attempt { get; }

    /// <summary>Parses the event's payload as <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The payload is of another type (its <c>payload_type</c> says so) or does not parse.</exception>
    public T Payload<T>()
        where T : IMessage<T>, new()
    {
        var expected = new T().Descriptor.FullName;
        if (!string.Equals(Event.PayloadType, expected, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Event {Event.EventId} ({Event.Type}) carries a '{Event.PayloadType}' payload, not '{expected}'.");
        }

        try
        {
            var message = new T();
            message.MergeFrom(Event.Payload);
            return message;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidOperationException($"The payload of event {Event.EventId} ({Event.Type}) is not a valid '{expected}': {ex.Message}", ex);
        }
    }
}
