using GameSystem.State;
using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.Services.Testing;

/// <summary>Redis state stores on the fixture's redis-server, each under a key prefix of its own; one connection for all.</summary>
public sealed class RedisStores(RedisServerFixture redis) : IAsyncDisposable
{
    private ConnectionMultiplexer? _connection;

    /// <summary>A store that sees no key any other store wrote.</summary>
    public async ValueTask<IStateStore> CreateAsync()
    {
        _connection ??= await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString).ConfigureAwait(false);
        return new RedisStateStore(_connection, RedisStateStoreOptions.Default with { KeyPrefix = $"gs-test:{Guid.NewGuid():N}:" });
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
