using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.State.Tests;

/// <summary>The shared suite on a single redis-server, with the store's options of <paramref name="compileShapes"/>.</summary>
public abstract class RedisStoreContract(RedisServerFixture redis, bool compileShapes) : StateStoreContract, IAsyncLifetime
{
    private ConnectionMultiplexer? _connection;
    private IStateStore? _store;

    protected ConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("Not initialized.");

    protected override IStateStore Store => _store ?? throw new InvalidOperationException("Not initialized.");

    // Redis keeps real time; a second is long enough not to expire mid-step on a busy machine.
    protected override TimeSpan ShortTtl => TimeSpan.FromSeconds(1);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration, Timeout);

    public async ValueTask InitializeAsync()
    {
        _connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        _store = new RedisStateStore(_connection, RedisStateStoreOptions.Default with { KeyPrefix = $"gs-test:{Guid.NewGuid():N}:", CompileTransactionShapes = compileShapes });
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The suite with every transaction through the general script, which runs the shapes too large to compile.</summary>
public sealed class RedisGeneralScriptStateStoreTests(RedisServerFixture redis) : RedisStoreContract(redis, compileShapes: false);

public sealed class RedisStateStoreTests(RedisServerFixture redis) : RedisStoreContract(redis, compileShapes: true)
{
    [Fact(Timeout = 10_000)]
    public async Task Entries_AreHashesUnderTheKeyPrefix_WithValueAndVersionTogether()
    {
        var prefix = $"gs-test:{Guid.NewGuid():N}:";
        var store = new RedisStateStore(Connection, RedisStateStoreOptions.Default with { KeyPrefix = prefix });

        await store.SetAsync("quest/{q1}/state", "accepted"u8.ToArray(), cancellationToken: Timeout);

        var hash = await Connection.GetDatabase().HashGetAllAsync(prefix + "quest/{q1}/state");
        Assert.Equal("accepted", hash.Single(h => h.Name == "v").Value.ToString());
        Assert.Equal(1, (long)hash.Single(h => h.Name == "ver").Value);
    }

    [Fact(Timeout = 10_000)]
    public async Task Scripts_RunByTheirSha_AfterTheFirstCall()
    {
        // A server of its own: other tests' scripts would blur the counts.
        await using var redisServer = await RedisServerFixture.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redisServer.Port},allowAdmin=true");
        var store = new RedisStateStore(connection);
        var server = connection.GetServers().Single();
        var before = await CommandCallsAsync(server);

        for (var i = 0; i < 5; i++)
        {
            await store.ExecuteAsync(new StateTransaction().Increment($"sha/{{p}}/{i}").IndexAdd("sha/{p}/idx", $"m{i}"), Timeout);
        }

        var after = await CommandCallsAsync(server);
        Assert.Equal(5, after.EvalSha - before.EvalSha);
        Assert.Equal(1, after.Eval - before.Eval);
    }

    [Fact(Timeout = 10_000)]
    public void KeyPrefix_WithBraces_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new RedisStateStore(Connection, RedisStateStoreOptions.Default with { KeyPrefix = "gs:{tenant}:" }));
    }

    private static async Task<(long Eval, long EvalSha)> CommandCallsAsync(IServer server)
    {
        var info = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        static long Calls(Dictionary<string, string> stats, string command) =>
            stats.TryGetValue("cmdstat_" + command, out var line) ? long.Parse(line.Split(',')[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (Calls(info, "eval"), Calls(info, "evalsha"));
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
