using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.WorldState.Tests;

public sealed class InMemoryWorldStateTests(NatsServerFixture nats) : WorldStateContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisWorldStateTests(NatsServerFixture nats, RedisServerFixture redis) : WorldStateContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: every transaction must stay within one world's (or the directory's) shard.</summary>
public sealed class RedisClusterWorldStateTests(NatsServerFixture nats, RedisClusterFixture cluster) : WorldStateContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
