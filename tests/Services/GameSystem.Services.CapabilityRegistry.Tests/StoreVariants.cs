using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.CapabilityRegistry.Tests;

public sealed class InMemoryCapabilityRegistryTests(NatsServerFixture nats) : CapabilityRegistryContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisCapabilityRegistryTests(NatsServerFixture nats, RedisServerFixture redis) : CapabilityRegistryContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: every transaction must stay within the registry's one partition.</summary>
public sealed class RedisClusterCapabilityRegistryTests(NatsServerFixture nats, RedisClusterFixture cluster) : CapabilityRegistryContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
