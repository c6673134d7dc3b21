using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.State.Tests;

/// <summary>The whole store contract on a real 3-primary Redis Cluster, and what only a cluster shows.</summary>
public sealed class RedisClusterStateStoreTests(RedisClusterFixture cluster) : StateStoreContract, IAsyncLifetime
{
    private readonly string _prefix = $"gs-test:{Guid.NewGuid():N}:";
    private ConnectionMultiplexer? _connection;
    private RedisStateStore? _store;

    protected override IStateStore Store => _store ?? throw new InvalidOperationException("Not initialized.");

    protected override TimeSpan ShortTtl => TimeSpan.FromSeconds(1);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration, Timeout);

    public async ValueTask InitializeAsync()
    {
        var options = ConfigurationOptions.Parse(cluster.ConnectionString);
        options.BacklogPolicy = BacklogPolicy.FailFast;
        _connection = await ConnectionMultiplexer.ConnectAsync(options);
        _store = new RedisStateStore(_connection, RedisStateStoreOptions.Default with { KeyPrefix = _prefix });
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task List_ByPrefix_CoversKeysOnEveryPrimary()
    {
        var keys = Enumerable.Range(0, 120).Select(i => $"spread/{{p{i}}}/entry").ToList();
        foreach (var key in keys)
        {
            await Store.SetAsync(key, "x"u8.ToArray(), cancellationToken: Timeout);
        }

        var primaries = keys.Select(k => _connection!.GetServer((RedisKey)(_prefix + k)).EndPoint.ToString()).Distinct().ToList();
        var listed = new List<string>();
        string? token = null;
        do
        {
            var page = await Store.ListAsync("spread/", 25, token, Timeout);
            listed.AddRange(page.Items.Select(i => i.Key));
            token = page.NextPageToken;
        }
        while (token is not null);

        Assert.Equal(3, primaries.Count);
        Assert.Equal(keys.Order(StringComparer.Ordinal), listed.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task List_OfOnePartition_ReadsOnlyItsShard()
    {
        await Store.SetAsync("shard/{a}/1", "x"u8.ToArray(), cancellationToken: Timeout);
        await Store.SetAsync("shard/{a}/2", "x"u8.ToArray(), cancellationToken: Timeout);
        await Store.SetAsync("shard/{b}/1", "x"u8.ToArray(), cancellationToken: Timeout);

        var page = await Store.ListAsync("shard/{a}/", cancellationToken: Timeout);

        Assert.Null(page.NextPageToken);
        Assert.Equal(["shard/{a}/1", "shard/{a}/2"], page.Items.Select(i => i.Key).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task Transaction_KeysIndexAndOutboxOfAPartition_ShareOneHashSlot()
    {
        var partition = "slot-check";
        await Store.ExecuteAsync(
            new StateTransaction().Set($"s/{{{partition}}}/a", "x"u8.ToArray()).IndexAdd($"s/{{{partition}}}/idx", "m").Enqueue("quest-system", "e"u8.ToArray()),
            Timeout);

        var slots = new[] { _prefix + $"s/{{{partition}}}/a", _prefix + $"s/{{{partition}}}/idx\u001Findex", _prefix + $"{{{partition}}}\u001Foutbox:quest-system" }
            .Select(k => _connection!.GetServer((RedisKey)k).EndPoint.ToString())
            .Distinct();
        Assert.Single(slots);
        Assert.Equal(1, (await ((IStateOutboxStore)Store).ClaimOutboxAsync("quest-system", partition, "r", TimeSpan.FromSeconds(5), 10, Timeout)).Pending);
    }
}
