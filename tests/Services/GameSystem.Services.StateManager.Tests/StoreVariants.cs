using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.StateManager.Tests;

public sealed class InMemoryStateManagerTests(NatsServerFixture nats) : StateManagerContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisStateManagerTests(NatsServerFixture nats, RedisServerFixture redis) : StateManagerContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: every change, a rollback included, must stay within the player's shard.</summary>
public sealed class RedisClusterStateManagerTests(NatsServerFixture nats, RedisClusterFixture cluster) : StateManagerContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
