using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;

namespace GameSystem.Services.LanguageSystem.Tests;

public sealed class InMemoryLanguageSystemTests(NatsServerFixture nats) : LanguageSystemContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisLanguageSystemTests(NatsServerFixture nats, RedisServerFixture redis) : LanguageSystemContract(nats), IAsyncDisposable
{
    private readonly RedisStores _stores = new(redis);

    protected override ValueTask<IStateStore> CreateStoreAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
