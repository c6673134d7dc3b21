using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.Payment.Tests;

public sealed class InMemoryPaymentTests(NatsServerFixture nats) : PaymentContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisPaymentTests(NatsServerFixture nats, RedisServerFixture redis) : PaymentContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: every transaction must stay within one partition's shard.</summary>
public sealed class RedisClusterPaymentTests(NatsServerFixture nats, RedisClusterFixture cluster) : PaymentContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
