using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.State.Tests;

public sealed class RedisStateStoreTests(RedisServerFixture redis) : StateStoreContract, IAsyncLifetime
{
    private ConnectionMultiplexer? _connection;
    private IStateStore? _store;

    protected override IStateStore Store => _store ?? throw new InvalidOperationException("Not initialized.");

    // Redis keeps real time; a second is long enough not to expire mid-step on a busy machine.
    protected override TimeSpan ShortTtl => TimeSpan.FromSeconds(1);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration, Timeout);

    public async ValueTask InitializeAsync()
    {
        _connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        _store = new RedisStateStore(_connection, RedisStateStoreOptions.Default with { KeyPrefix = $"gs-test:{Guid.NewGuid():N}:" });
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task Entries_AreHashesUnderTheKeyPrefix_WithValueAndVersionTogether()
    {
        var prefix = $"gs-test:{Guid.NewGuid():N}:";
        var store = new RedisStateStore(_connection!, RedisStateStoreOptions.Default with { KeyPrefix = prefix });

        await store.SetAsync("quest/1", "accepted"u8.ToArray(), cancellationToken: Timeout);

        var hash = await _connection!.GetDatabase().HashGetAllAsync(prefix + "quest/1");
        Assert.Equal("accepted", hash.Single(h => h.Name == "v").Value.ToString());
        Assert.Equal(1, (long)hash.Single(h => h.Name == "ver").Value);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("plain", "plain")]
    [InlineData(@"a*b?c[d]e\f", @"a\*b\?c\[d\]e\\f")]
    [InlineData("^-", @"\^\-")]
    public void EscapeGlob_EscapesEveryPatternCharacter(string literal, string pattern)
    {
        Assert.Equal(pattern, RedisStateStore.EscapeGlob(literal));
    }
}
