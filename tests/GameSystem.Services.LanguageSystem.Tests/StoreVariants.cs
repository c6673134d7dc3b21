using GameSystem.State;
using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.Services.LanguageSystem.Tests;

public sealed class InMemoryLanguageSystemTests(NatsServerFixture nats) : LanguageSystemContract(nats)
{
    protected override ValueTask<IStateStore> CreateStoreAsync() => ValueTask.FromResult<IStateStore>(new InMemoryStateStore());
}

public sealed class RedisLanguageSystemTests(NatsServerFixture nats, RedisServerFixture redis) : LanguageSystemContract(nats), IAsyncDisposable
{
    private ConnectionMultiplexer? _connection;

    protected override async ValueTask<IStateStore> CreateStoreAsync()
    {
        _connection ??= await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        return new RedisStateStore(_connection, RedisStateStoreOptions.Default with { KeyPrefix = $"gs-test:{Guid.NewGuid():N}:" });
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
