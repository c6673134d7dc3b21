using System.Collections.Concurrent;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using Grpc.Core;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>
/// A peer event-bus served over the same nats-server: records what time-manager publishes
/// and can refuse publishes, as a bus that is down or overloaded would. Only Publish is
/// part of what time-manager uses; the other rpcs answer UNIMPLEMENTED.
/// </summary>
internal sealed class RecordingEventBus : IEventBusService
{
    private readonly ConcurrentQueue<DomainEvent> _published = new();
    private volatile bool _refusing;

    public IReadOnlyList<DomainEvent> Published => [.. _published];

    /// <summary>While true, every publish fails with UNAVAILABLE.</summary>
    public bool Refusing
    {
        get => _refusing;
        set => _refusing = value;
    }

    public ValueTask<PublishResponse> PublishAsync(PublishRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_refusing)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "event-bus is refusing publishes (test)"));
        }

        var duplicate = _published.Any(e => e.EventId == request.Event.EventId);
        if (!duplicate)
        {
            _published.Enqueue(request.Event);
        }

        return ValueTask.FromResult(new PublishResponse { Stream = "test", Sequence = (ulong)_published.Count, Duplicate = duplicate });
    }

    public ValueTask<PublishBatchResponse> PublishBatchAsync(PublishBatchRequest request, ServerCallContext context) => throw Unused();

    public IAsyncEnumerable<SubscribeResponse> SubscribeAsync(SubscribeRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<AckResponse> AckAsync(AckRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<GetEventResponse> GetEventAsync(GetEventRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<GetStreamInfoResponse> GetStreamInfoAsync(GetStreamInfoRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<ListStreamsResponse> ListStreamsAsync(ListStreamsRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<GetConsumerResponse> GetConsumerAsync(GetConsumerRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<ListConsumersResponse> ListConsumersAsync(ListConsumersRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<DeleteConsumerResponse> DeleteConsumerAsync(DeleteConsumerRequest request, ServerCallContext context) => throw Unused();

    private static RpcException Unused() => new(new Status(StatusCode.Unimplemented, "not used by time-manager"));
}
