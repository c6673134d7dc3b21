using GameSystem.State;
using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.Services.Testing;

/// <summary>
/// Redis state stores on a fixture's redis-server or Redis Cluster, each under a key prefix of
/// its own; one connection for all, fail-fast as the host connects.
/// </summary>
public sealed class RedisStores(string connectionString) : IAsyncDisposable
{
    private ConnectionMultiplexer? _connection;

    /// <summary>Stores on the fixture's single redis-server.</summary>
    public RedisStores(RedisServerFixture redis)
        : this((redis ?? throw new ArgumentNullException(nameof(redis))).ConnectionString)
    {
    }

    /// <summary>Stores on the fixture's 3-primary Redis Cluster.</summary>
    public RedisStores(RedisClusterFixture cluster)
        : this((cluster ?? throw new ArgumentNullException(nameof(cluster))).ConnectionString)
    {
    }

    /// <summary>The shared connection (opened on first use).</summary>
    public async ValueTask<ConnectionMultiplexer> ConnectAsync()
    {
        if (_connection is null)
        {
            var options = ConfigurationOptions.Parse(connectionString);
            options.BacklogPolicy = BacklogPolicy.FailFast;
            _connection = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        }

        return _connection;
    }

    /// <summary>A store that sees no key any other store wrote.</summary>
    public async ValueTask<IStateStore> CreateAsync() => await CreateRedisAsync().ConfigureAwait(false);

    /// <summary>A store that sees no key any other store wrote, with its outbox side.</summary>
    public async ValueTask<RedisStateStore> CreateRedisAsync() =>
        new(await ConnectAsync().ConfigureAwait(false), RedisStateStoreOptions.Default with { KeyPrefix = $"gs-test:{Guid.NewGuid():N}:" });

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
