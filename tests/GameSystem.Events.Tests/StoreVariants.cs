using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Events.Tests;

public sealed class InMemoryEventRelayTests(NatsServerFixture nats) : EventRelayContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisEventRelayTests(NatsServerFixture nats, RedisServerFixture redis) : EventRelayContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

public sealed class RedisClusterEventRelayTests(NatsServerFixture nats, RedisClusterFixture cluster) : EventRelayContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
