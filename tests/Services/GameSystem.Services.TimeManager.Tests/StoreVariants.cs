using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.TimeManager.Tests;

public sealed class InMemoryTimeManagerTests(NatsServerFixture nats) : TimeManagerContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisTimeManagerTests(NatsServerFixture nats, RedisServerFixture redis) : TimeManagerContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override ValueTask<IStateStore> CreateStoreAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: every world, directory and wake partition lands on some shard, and no transaction may span two.</summary>
public sealed class RedisClusterTimeManagerTests(NatsServerFixture nats, RedisClusterFixture cluster) : TimeManagerContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override ValueTask<IStateStore> CreateStoreAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
