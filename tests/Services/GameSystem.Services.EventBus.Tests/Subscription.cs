using GameSystem.EventBus.V1;

namespace GameSystem.Services.EventBus.Tests;

/// <summary>A Subscribe stream read one item at a time; disposing it breaks off, as a client that disconnects does.</summary>
internal sealed class Subscription : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly IAsyncEnumerator<SubscribeResponse> _items;

    private Subscription(EventBusServiceClient client, SubscribeRequest request, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _items = client.SubscribeAsync(request, cancellationToken: _stop.Token).GetAsyncEnumerator(_stop.Token);
    }

    /// <summary>Subscribes and waits for the first heartbeat, so the consumer exists when it returns (the request's heartbeat should be short).</summary>
    public static async Task<Subscription> OpenAsync(EventBusServiceClient client, SubscribeRequest request, CancellationToken cancellationToken, bool waitForHeartbeat = true)
    {
        var subscription = new Subscription(client, request, cancellationToken);
        if (waitForHeartbeat)
        {
            var first = await subscription.NextAsync();
            Assert.True(first.ItemCase == SubscribeResponse.ItemOneofCase.Heartbeat, $"expected a heartbeat before any event, got {first}");
        }

        return subscription;
    }

    public async Task<SubscribeResponse> NextAsync()
    {
        Assert.True(await _items.MoveNextAsync(), "the subscription ended");
        return _items.Current;
    }

    /// <summary>The next <paramref name="count"/> events, skipping heartbeats.</summary>
    public async Task<List<SubscribeResponse>> EventsAsync(int count)
    {
        var events = new List<SubscribeResponse>();
        while (events.Count < count)
        {
            var item = await NextAsync();
            if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event)
            {
                events.Add(item);
            }
        }

        return events;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _items.DisposeAsync();
        }
        catch (OperationCanceledException)
        {
        }
        catch (Grpc.Core.RpcException)
        {
        }

        _stop.Dispose();
    }
}
