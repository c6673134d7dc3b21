using System.Diagnostics;
using Bogus;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Host.Tests;

/// <summary>
/// The standard grpc.health.v1.Health service every host answers over the mesh, as an
/// orchestrator or a client in another language sees it: no token, statuses from real probes
/// (NATS, the store, each service's readiness), NOT_SERVING the moment a graceful stop begins.
/// </summary>
public sealed class HostHealthTests(NatsServerFixture nats)
{
    private const string TimeManager = "gamesystem.time_manager.v1.TimeManagerService";
    private const string EventBus = "gamesystem.event_bus.v1.EventBusService";
    private const int Seed = 20260110;

    // Fast rounds, so each change is seen within a second; the default is 2 s.
    private static readonly string[] QuickHealth = ["--GameSystem:Health:PollInterval", "00:00:00.2"];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(5);

    [Fact(Timeout = 60_000)]
    public async Task Check_OnAHealthyHost_IsServingOverallAndForItsService_AndAnUnknownNameIsNotFound()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        Assert.Equal(ServingStatus.Serving, (await caller.Health.CheckAsync(new HealthCheckRequest(), deadline: Deadline, cancellationToken: Cancellation)).Status);
        Assert.Equal(ServingStatus.Serving, (await caller.Health.CheckAsync(new HealthCheckRequest { Service = TimeManager }, deadline: Deadline, cancellationToken: Cancellation)).Status);

        var unknown = $"gamesystem.{new Faker { Random = new Randomizer(Seed) }.Hacker.Noun().Replace(' ', '_')}.v1.NoSuchService";
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await caller.Health.CheckAsync(new HealthCheckRequest { Service = unknown }, deadline: Deadline, cancellationToken: Cancellation));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains(unknown, error.Status.Detail, StringComparison.Ordinal);

        var listed = await caller.Health.ListAsync(new HealthListRequest(), deadline: Deadline, cancellationToken: Cancellation);
        Assert.Equal(["", TimeManager], listed.Statuses.Keys.Order(StringComparer.Ordinal));
        Assert.All(listed.Statuses.Values, s => Assert.Equal(ServingStatus.Serving, s.Status));
        Assert.Contains(host.Output, line => line.Contains($"Health: grpc.health.v1.Health on {prefix}.grpc.health.v1.Health.*", StringComparison.Ordinal));
    }

    [Fact(Timeout = 90_000)]
    public async Task Check_WithIdentityEnforced_NeedsNoToken_WhileTheServicesStillDo()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await IdentityHost.StartServingAsync(nats, prefix, "auth,time-manager", Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        var health = await caller.Health.CheckAsync(new HealthCheckRequest { Service = TimeManager }, deadline: Deadline, cancellationToken: Cancellation);
        Assert.Equal(ServingStatus.Serving, health.Status);
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "w" }, deadline: Deadline, cancellationToken: Cancellation));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Check_WhenEventBusHasNoJetStream_EventBusIsNotServing_WhileTimeManagerServes()
    {
        await using var plain = await NatsServerFixture.StartAsync(jetStream: false);
        var url = $"nats://127.0.0.1:{plain.Port}";
        var prefix = MeshCaller.NewPrefix();
        await using var host = HostProcess.Start(["--services", "event-bus,time-manager", "--nats", url, "--GameSystem:Mesh:SubjectPrefix", prefix, .. QuickHealth]);
        await host.WaitForOutputAsync(line => line.Contains("Health: grpc.health.v1.Health on", StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(url, prefix);

        Assert.Equal(ServingStatus.NotServing, (await caller.Health.CheckAsync(new HealthCheckRequest { Service = EventBus }, deadline: Deadline, cancellationToken: Cancellation)).Status);
        Assert.Equal(ServingStatus.Serving, (await caller.Health.CheckAsync(new HealthCheckRequest { Service = TimeManager }, deadline: Deadline, cancellationToken: Cancellation)).Status);
        Assert.Equal(ServingStatus.NotServing, (await caller.Health.CheckAsync(new HealthCheckRequest(), deadline: Deadline, cancellationToken: Cancellation)).Status);
        Assert.Contains(host.Output, line => line.Contains($"{EventBus}: the service itself is not ready", StringComparison.Ordinal));
    }

    [Fact(Timeout = 90_000)]
    public async Task Watch_SeesServing_ThenNotServingAsSoonAsAGracefulStopBegins_WhileCallsAreStillInFlight()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Mesh:ShutdownTimeout", "00:00:08");
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "stop", RequestId = "r-stop", TimeScale = 60 }, deadline: Deadline, cancellationToken: Cancellation);

        // A call in flight that only the end of the drain ends: a clock watch the caller keeps open.
        await using var clock = caller.TimeManager.WatchClockAsync(new WatchClockRequest { WorldId = "stop" }, cancellationToken: Cancellation).GetAsyncEnumerator(Cancellation);
        Assert.True(await clock.MoveNextAsync());
        var clockEnded = DrainAsync(clock);

        await using var health = caller.Health.WatchAsync(new HealthCheckRequest(), cancellationToken: Cancellation).GetAsyncEnumerator(Cancellation);
        Assert.True(await health.MoveNextAsync());
        Assert.Equal(ServingStatus.Serving, health.Current.Status);

        host.Terminate();
        var stopping = Stopwatch.StartNew();
        Assert.True(await health.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(3), Cancellation), host.Transcript);
        Assert.Equal(ServingStatus.NotServing, health.Current.Status);
        Assert.False(clockEnded.IsCompleted, $"The clock watch ended {stopping.Elapsed.TotalSeconds:0.0} s into the stop, before health said NOT_SERVING.\n{host.Transcript}");

        // The drain goes on, and health still answers through it.
        var during = await caller.Health.CheckAsync(new HealthCheckRequest { Service = TimeManager }, deadline: Deadline, cancellationToken: Cancellation);
        Assert.Equal(ServingStatus.NotServing, during.Status);
        Assert.False(clockEnded.IsCompleted, host.Transcript);

        // Once the drain is over the watch ends, so the caller retries elsewhere; the host exits well.
        var ended = await Assert.ThrowsAsync<RpcException>(async () => await health.MoveNextAsync());
        Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
        Assert.True(clockEnded.IsCompleted, host.Transcript);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30), Cancellation));
    }

    [Fact(Timeout = 120_000)]
    public async Task Check_WithRedis_IsNotServingWhileRedisIsDown_AndServingOnceItIsBack()
    {
        var directory = Directory.CreateTempSubdirectory("gamesystem-host-health-").FullName;
        var port = ServerProcess.FreePort();
        var redis = await RedisServerFixture.StartAsync(durable: true, port, directory);
        try
        {
            var prefix = MeshCaller.NewPrefix();
            await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, ["--GameSystem:Store:Redis", $"127.0.0.1:{port}", .. QuickHealth]);
            await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
            Assert.Equal(ServingStatus.Serving, await CheckAsync(caller, TimeManager));

            await redis.KillAsync();
            await WaitForAsync(caller, ServingStatus.NotServing, TimeSpan.FromSeconds(10), host);
            Assert.Equal(ServingStatus.NotServing, await CheckAsync(caller, TimeManager));
            Assert.Contains(host.Output, line => line.Contains("the state store failed", StringComparison.Ordinal));

            await redis.DisposeAsync();
            redis = await RedisServerFixture.StartAsync(durable: true, port, directory);
            await WaitForAsync(caller, ServingStatus.Serving, TimeSpan.FromSeconds(45), host);
            Assert.Equal(ServingStatus.Serving, await CheckAsync(caller, TimeManager));
        }
        finally
        {
            await redis.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Watch_OnAHealthyHost_SendsOneServingAndNothingElse()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, QuickHealth);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        // 25 rounds of probes at 0.2 s: any flap would be sent.
        var watched = await Task.WhenAll(WatchForAsync(caller, "", TimeSpan.FromSeconds(5)), WatchForAsync(caller, TimeManager, TimeSpan.FromSeconds(5)));
        Assert.All(watched, statuses => Assert.Equal([ServingStatus.Serving], statuses));
        Assert.False(host.HasExited, host.Transcript);
    }

    [Fact(Timeout = 60_000)]
    public async Task Watch_OfAnUnknownName_SendsServiceUnknown_AndStaysOpen()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, QuickHealth);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        var statuses = await WatchForAsync(caller, "gamesystem.nowhere.v1.NowhereService", TimeSpan.FromSeconds(2));
        Assert.Equal([ServingStatus.ServiceUnknown], statuses);
    }

    private static async Task<ServingStatus> CheckAsync(MeshCaller caller, string service) =>
        (await caller.Health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: Deadline, cancellationToken: Cancellation)).Status;

    /// <summary>Every status a Watch of <paramref name="service"/> sends within <paramref name="duration"/>; the watch must still be open then.</summary>
    private static async Task<List<ServingStatus>> WatchForAsync(MeshCaller caller, string service, TimeSpan duration)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        stop.CancelAfter(duration);
        var seen = new List<ServingStatus>();
        try
        {
            await foreach (var response in caller.Health.WatchAsync(new HealthCheckRequest { Service = service }, cancellationToken: stop.Token))
            {
                seen.Add(response.Status);
            }

            Assert.Fail($"The watch of '{service}' ended by itself after {string.Join(", ", seen)}.");
        }
        catch (Exception e) when (stop.IsCancellationRequested && !Cancellation.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // The caller ended it, as intended.
        }

        return seen;
    }

    private static async Task WaitForAsync(MeshCaller caller, ServingStatus wanted, TimeSpan within, HostProcess host)
    {
        var waited = Stopwatch.StartNew();
        var last = await CheckAsync(caller, "");
        while (last != wanted)
        {
            Assert.True(waited.Elapsed < within, $"The host's health stayed {last} for {within.TotalSeconds} s, waiting for {wanted}.\n{host.Transcript}");
            await Task.Delay(100, Cancellation);
            last = await CheckAsync(caller, "");
        }
    }

    private static async Task DrainAsync<T>(IAsyncEnumerator<T> stream)
    {
        try
        {
            while (await stream.MoveNextAsync())
            {
            }
        }
        catch (RpcException)
        {
            // How the drain ends a stream it waited out: UNAVAILABLE.
        }
    }
}
