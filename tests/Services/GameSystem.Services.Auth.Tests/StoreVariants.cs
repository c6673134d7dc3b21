using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.Auth.Tests;

public sealed class InMemoryAuthTests(NatsServerFixture nats) : AuthContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisAuthTests(NatsServerFixture nats, RedisServerFixture redis) : AuthContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override ValueTask<IStateStore> CreateStoreAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: the accounts, keys and throttle partitions each land on some shard, and no transaction may span two.</summary>
public sealed class RedisClusterAuthTests(NatsServerFixture nats, RedisClusterFixture cluster) : AuthContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override ValueTask<IStateStore> CreateStoreAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
