using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.Settings.Tests;

public sealed class InMemorySettingsTests(NatsServerFixture nats) : SettingsContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisSettingsTests(NatsServerFixture nats, RedisServerFixture redis) : SettingsContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

/// <summary>The contract on a 3-primary Redis Cluster: every transaction must stay within one partition's shard.</summary>
public sealed class RedisClusterSettingsTests(NatsServerFixture nats, RedisClusterFixture cluster) : SettingsContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(cluster);

    protected override async ValueTask<IStateStore> CreateStoreAsync() => await _stores.CreateRedisAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
