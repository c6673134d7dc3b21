using GameSystem.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace GameSystem.State.Tests;

public sealed class StateStoreRegistrationTests(RedisServerFixture redis)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Theory(Timeout = 10_000)]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public async Task AddGameSystemStateStore_WithoutRedis_UsesTheInMemoryStoreOnTheRegisteredClock(string? connectionString)
    {
        var time = new FakeTimeProvider();
        await using var provider = new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddGameSystemStateStore(connectionString)
            .BuildServiceProvider();

        var store = provider.GetRequiredService<IStateStore>();
        await store.SetAsync("registration/{p}/k", "v"u8.ToArray(), ttl: TimeSpan.FromMinutes(1), cancellationToken: Timeout);
        time.Advance(TimeSpan.FromMinutes(2));

        Assert.IsType<InMemoryStateStore>(Assert.IsType<InstrumentedStateStore>(store).Inner);
        Assert.Same(store, provider.GetRequiredService<IStateOutboxStore>());
        Assert.Null(await store.GetAsync("registration/{p}/k", Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task AddGameSystemStateStore_WithAConnectionString_UsesRedis()
    {
        var options = RedisStateStoreOptions.Default with { KeyPrefix = $"gs-test:{Guid.NewGuid():N}:" };
        await using var provider = new ServiceCollection()
            .AddGameSystemStateStore(redis.ConnectionString, options)
            .BuildServiceProvider();

        var store = provider.GetRequiredService<IStateStore>();
        var written = await store.SetAsync("registration/{p}/k", "v"u8.ToArray(), expectedVersion: 0, cancellationToken: Timeout);

        Assert.IsType<RedisStateStore>(Assert.IsType<InstrumentedStateStore>(store).Inner);
        Assert.Same(store, provider.GetRequiredService<IStateOutboxStore>());
        Assert.Equal(StateWriteResult.Written(1), written);
        Assert.Equal(1, (await store.GetAsync("registration/{p}/k", Timeout))!.Version);
    }
}
