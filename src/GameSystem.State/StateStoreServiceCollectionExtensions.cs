using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace GameSystem.State;

/// <summary>Registers the state store.</summary>
public static class StateStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IStateStore"/>: a <see cref="RedisStateStore"/> when
    /// <paramref name="redisConnectionString"/> is given (connecting on first use, through a
    /// shared <see cref="IConnectionMultiplexer"/>), otherwise the embedded <see cref="InMemoryStateStore"/>
    /// on the registered <see cref="TimeProvider"/>, if any.
    /// </summary>
    public static IServiceCollection AddGameSystemStateStore(this IServiceCollection services, string? redisConnectionString, RedisStateStoreOptions? redisOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (string.IsNullOrWhiteSpace(redisConnectionString))
        {
            services.TryAddSingleton<IStateStore>(sp => new InMemoryStateStore(sp.GetService<TimeProvider>()));
            return services;
        }

        var configuration = ConfigurationOptions.Parse(redisConnectionString);
        services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(configuration));
        services.TryAddSingleton<IStateStore>(sp => new RedisStateStore(sp.GetRequiredService<IConnectionMultiplexer>(), redisOptions));
        return services;
    }
}
