using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GameSystem.Testing;
using Grpc.Core;
using StackExchange.Redis;

namespace GameSystem.State.Tests;

/// <summary>
/// What the store does when Redis dies: a redis-server of each test's own, durable as the README
/// says to run it (append-only file, <c>appendfsync always</c>), killed with SIGKILL and
/// restarted on its directory and port.
/// </summary>
public sealed class RedisFaultTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gamesystem-redis-fault-").FullName;
    private readonly int _port = ServerProcess.FreePort();
    private ServerProcess? _server;
    private ConnectionMultiplexer? _connection;
    private RedisStateStore? _store;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private RedisStateStore Store => _store!;

    public async ValueTask InitializeAsync()
    {
        _server = await RedisServerFixture.StartAsync(durable: true, _port, _directory);
        var options = ConfigurationOptions.Parse($"127.0.0.1:{_port}");
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = new LinearRetry(200);
        _connection = await ConnectionMultiplexer.ConnectAsync(options);
        _store = new RedisStateStore(_connection);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task KilledUnderWriteLoad_ThenRestarted_KeepsEveryAcknowledgedWrite()
    {
        const int Writers = 8;
        var acknowledged = new ConcurrentDictionary<string, string>();
        var acknowledgedIncrements = new long[Writers];
        var failures = new ConcurrentBag<Exception>();
        using var stop = new CancellationTokenSource();

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"load/{{w{w}}}/entry-{i}");
                var value = string.Create(CultureInfo.InvariantCulture, $"writer {w} write {i}");
                try
                {
                    await Store.ExecuteAsync(
                        new StateTransaction().Set(key, Encoding.UTF8.GetBytes(value), expectedVersion: 0).Increment($"load/{{w{w}}}/count"),
                        Timeout);
                    acknowledged[key] = value;
                    Interlocked.Increment(ref acknowledgedIncrements[w]);
                }
                catch (StateStoreUnavailableException ex)
                {
                    failures.Add(ex);
                    await Task.Delay(20, Timeout);
                }
            }
        }, Timeout)).ToList();

        await WaitUntilAsync(() => acknowledged.Count >= 200, "the writers to get going");
        await _server!.KillAsync();
        var killedAt = acknowledged.Count;
        await WaitUntilAsync(() => !failures.IsEmpty, "a write to fail while Redis is down");
        _server = await RedisServerFixture.StartAsync(durable: true, _port, _directory);
        await WaitUntilAsync(() => acknowledged.Count > killedAt + 200, "writes to succeed again on the restarted server");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        // Every write that was acknowledged, before the kill or after the restart, is there.
        var keys = acknowledged.Keys.ToList();
        var entries = await Store.GetManyAsync(keys, Timeout);
        for (var i = 0; i < keys.Count; i++)
        {
            Assert.True(entries[i] is not null, $"The acknowledged write {keys[i]} was lost.");
            Assert.Equal(acknowledged[keys[i]], Encoding.UTF8.GetString(entries[i]!.Value.Span));
        }

        // A write in flight at the kill may have applied without its acknowledgement, never the reverse.
        for (var w = 0; w < Writers; w++)
        {
            var count = long.Parse(Encoding.ASCII.GetString((await Store.GetAsync($"load/{{w{w}}}/count", Timeout))!.Value.Span), CultureInfo.InvariantCulture);
            Assert.InRange(count, acknowledgedIncrements[w], acknowledgedIncrements[w] + 1);
        }

        Assert.All(failures, f => Assert.Equal(StatusCode.Unavailable, ((RpcException)f).StatusCode));
    }

    [Fact(Timeout = 60_000)]
    public async Task CallsWhileRedisIsDown_FailFastWithUnavailable_AndTheStoreServesAgainWhenItIsBack()
    {
        await Store.SetAsync("down/{p}/before", "kept"u8.ToArray(), cancellationToken: Timeout);
        await _server!.KillAsync();

        var calls = new Func<CancellationToken, Task>[]
        {
            ct => Store.GetAsync("down/{p}/before", ct).AsTask(),
            ct => Store.SetAsync("down/{p}/during", "x"u8.ToArray(), cancellationToken: ct).AsTask(),
            ct => Store.ExecuteAsync(new StateTransaction().Increment("down/{p}/n").Enqueue("quest-system", "e"u8.ToArray()), ct).AsTask(),
            ct => Store.QueryIndexAsync("down/{p}/idx", StateIndexQuery.Default, ct).AsTask(),
            ct => Store.ListAsync("down/", cancellationToken: ct).AsTask(),
            ct => Store.PingAsync(ct).AsTask(),
        };
        foreach (var call in calls)
        {
            // A deadline far beyond "fast": the call must fail on its own, long before it.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            var elapsed = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<StateStoreUnavailableException>(() => call(deadline.Token));
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(5), $"A call while Redis is down took {elapsed.Elapsed.TotalSeconds:0.0} s to fail.");
        }

        _server = await RedisServerFixture.StartAsync(durable: true, _port, _directory);
        StateEntry? entry = null;
        await WaitUntilAsync(async () =>
        {
            try
            {
                entry = await Store.GetAsync("down/{p}/before", Timeout);
                return true;
            }
            catch (StateStoreUnavailableException)
            {
                return false;
            }
        }, "the store to serve again");

        Assert.Equal("kept", Encoding.UTF8.GetString(entry!.Value.Span));
        Assert.True((await Store.SetAsync("down/{p}/after", "x"u8.ToArray(), expectedVersion: 0, cancellationToken: Timeout)).Succeeded);
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(45), $"Timed out waiting for {what}.");
            await Task.Delay(50, Timeout);
        }
    }
}
