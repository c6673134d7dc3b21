using System.Diagnostics;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// The running host when its Redis dies and comes back: calls fail fast with UNAVAILABLE (never
/// INTERNAL, never a hang to the deadline) and the same host serves again once Redis is back.
/// </summary>
public sealed class HostStoreOutageTests(NatsServerFixture nats)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task RedisKilledAndRestarted_CallsFailUnavailableMeanwhile_ThenTheSameHostServesAgain()
    {
        var directory = Directory.CreateTempSubdirectory("gamesystem-host-redis-").FullName;
        var port = ServerProcess.FreePort();
        var redis = await RedisServerFixture.StartAsync(durable: true, port, directory);
        try
        {
            var prefix = MeshCaller.NewPrefix();
            await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Store:Redis", $"127.0.0.1:{port}");
            await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
            await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "outage", RequestId = "r-1", TimeScale = 60 }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Cancellation);

            await redis.KillAsync();
            for (var i = 0; i < 3; i++)
            {
                var started = Stopwatch.StartNew();
                var error = await Assert.ThrowsAsync<RpcException>(async () =>
                    await caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "outage" }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Cancellation));
                Assert.True(error.StatusCode == StatusCode.Unavailable, $"{error.Status}\n{host.Transcript}");
                Assert.Contains("state store", error.Status.Detail, StringComparison.OrdinalIgnoreCase);
                Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"A call while Redis is down took {started.Elapsed.TotalSeconds:0.0} s.");
            }

            await redis.DisposeAsync();
            redis = await RedisServerFixture.StartAsync(durable: true, port, directory);
            var deadline = Stopwatch.StartNew();
            GetClockResponse? clock = null;
            while (clock is null)
            {
                try
                {
                    clock = await caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "outage" }, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: Cancellation);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && deadline.Elapsed < TimeSpan.FromSeconds(45))
                {
                    await Task.Delay(100, Cancellation);
                }
            }

            Assert.Equal("outage", clock.Clock.WorldId);
            Assert.False(host.HasExited, host.Transcript);
        }
        finally
        {
            await redis.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
