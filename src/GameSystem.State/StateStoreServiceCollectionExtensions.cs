using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace GameSystem.State;

/// <summary>Registers the state store.</summary>
public static class StateStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IStateStore"/> (and <see cref="IStateOutboxStore"/>, the same instance,
    /// an <see cref="InstrumentedStateStore"/> recording spans and durations): a <see cref="RedisStateStore"/> when
    /// <paramref name="redisConnectionString"/> is given (connecting on first use, through a
    /// shared <see cref="IConnectionMultiplexer"/>), otherwise the embedded <see cref="InMemoryStateStore"/>
    /// on the registered <see cref="TimeProvider"/>, if any. The connection string may name one
    /// server or several nodes of a Redis Cluster (<c>127.0.0.1:7000,127.0.0.1:7001</c>): the
    /// client discovers the cluster. Calls fail fast while Redis is unreachable
    /// (<see cref="BacklogPolicy.FailFast"/>) and the connection recovers by itself when it is back.
    /// </summary>
    public static IServiceCollection AddGameSystemStateStore(this IServiceCollection services, string? redisConnectionString, RedisStateStoreOptions? redisOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (string.IsNullOrWhiteSpace(redisConnectionString))
        {
            services.TryAddSingleton(sp => new InMemoryStateStore(sp.GetService<TimeProvider>()));
            services.TryAddSingleton(sp => new InstrumentedStateStore(sp.GetRequiredService<InMemoryStateStore>()));
            services.TryAddSingleton<IStateStore>(sp => sp.GetRequiredService<InstrumentedStateStore>());
            services.TryAddSingleton<IStateOutboxStore>(sp => sp.GetRequiredService<InstrumentedStateStore>());
            return services;
        }

        var configuration = ConfigurationOptions.Parse(redisConnectionString);
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(configuration));
        services.TryAddSingleton(sp => new RedisStateStore(sp.GetRequiredService<IConnectionMultiplexer>(), redisOptions, sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => new InstrumentedStateStore(sp.GetRequiredService<RedisStateStore>()));
        services.TryAddSingleton<IStateStore>(sp => sp.GetRequiredService<InstrumentedStateStore>());
        services.TryAddSingleton<IStateOutboxStore>(sp => sp.GetRequiredService<InstrumentedStateStore>());
        return services;
    }
}
