using GameSystem.EventBus.V1;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Services.EventBus.Tests;

/// <summary>What event-bus keeps when nats-server dies, and what it says when JetStream is missing, on servers of the test's own.</summary>
public sealed class EventBusResilienceTests
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 90_000)]
    public async Task Events_SurviveANatsServerKilledAndRestartedOnItsStore()
    {
        var store = Directory.CreateTempSubdirectory("gamesystem-eventbus-store-").FullName;
        try
        {
            var server = await NatsServerFixture.StartAsync(storeDirectory: store);
            var port = server.Port;
            await using var bus = await EventBusHarness.StartAsync($"nats://127.0.0.1:{port}");
            var ids = new List<string>();
            for (var i = 0; i < 25; i++)
            {
                var domainEvent = new GameSystem.Common.V1.DomainEvent { EventId = Guid.NewGuid().ToString(), Type = "world.region.changed", Subject = $"regions/r-{i}" };
                await bus.Client.PublishAsync(new PublishRequest { Event = domainEvent }, cancellationToken: Timeout);
                ids.Add(domainEvent.EventId);
            }

            await server.KillAsync();
            await server.DisposeAsync();
            await using var restarted = await NatsServerFixture.StartAsync(port, store);

            var info = await RetryUntilReconnectedAsync(() => bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events" }, cancellationToken: Timeout).AsTask());
            var replayed = new List<string>();
            await foreach (var item in bus.Client.SubscribeAsync(new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.All }, cancellationToken: Timeout))
            {
                replayed.Add(item.Event.Event.EventId);
                if (replayed.Count == ids.Count)
                {
                    break;
                }
            }

            Assert.Equal(25, info.Stream.EventCount);
            Assert.Equal(ids, replayed);
            var duplicate = await bus.Client.PublishAsync(new PublishRequest { Event = new GameSystem.Common.V1.DomainEvent { EventId = ids[^1], Type = "world.region.changed" } }, cancellationToken: Timeout);
            Assert.True(duplicate.Duplicate);
            Assert.Equal(25UL, duplicate.Sequence);
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task EveryCall_WithoutJetStream_FailsUnavailableSayingHowToEnableIt()
    {
        await using var server = await NatsServerFixture.StartAsync(jetStream: false);
        await using var bus = await EventBusHarness.StartAsync($"nats://127.0.0.1:{server.Port}");

        var publish = await Assert.ThrowsAsync<RpcException>(() => bus.Client.PublishAsync(new PublishRequest { Event = new GameSystem.Common.V1.DomainEvent { EventId = "e-1", Type = "quest.completed" } }, cancellationToken: Timeout).AsTask());
        var info = await Assert.ThrowsAsync<RpcException>(() => bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events" }, cancellationToken: Timeout).AsTask());

        Assert.Equal(StatusCode.Unavailable, publish.StatusCode);
        Assert.Contains("JetStream", publish.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("start nats-server with -js", publish.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unavailable, info.StatusCode);
    }

    private static async Task<T> RetryUntilReconnectedAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && attempt < 60)
            {
                await Task.Delay(250, Timeout);
            }
        }
    }
}
