using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;
using Grpc.Health.V1;
using NATS.Client.Core;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Host.Tests;

/// <summary>
/// The host's management HTTP listener as an orchestrator probes it (<c>/healthz/live</c>,
/// <c>/healthz/ready</c>), and its health in the NATS Services API's metadata as
/// <c>nats micro info</c> reads it. Readiness never flaps a healthy host, never stops one that
/// works from serving, recovers with its dependency, and turns 503 the moment a stop begins.
/// </summary>
public sealed partial class HostHttpHealthTests(NatsServerFixture nats) : IDisposable
{
    private const string TimeManager = "gamesystem.time_manager.v1.TimeManagerService";

    // Fast rounds, so each change shows within a second; the default is 2 s.
    private static readonly string[] QuickHealth = ["--GameSystem:Health:PollInterval", "00:00:00.2"];

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(5);

    public void Dispose() => _http.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task LiveAndReady_OnAHealthyHost_Answer200_WithEveryCheckDescribed()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation);
        var address = await HttpAddressAsync(host);

        var (liveCode, live) = await GetAsync(address, "/healthz/live");
        Assert.Equal(HttpStatusCode.OK, liveCode);
        Assert.Equal("Healthy", live.GetProperty("status").GetString());
        Assert.Equal(["process"], live.GetProperty("checks").EnumerateObject().Select(c => c.Name));

        var (readyCode, ready) = await GetAsync(address, "/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, readyCode);
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal(TimeManagerHost.InstanceId(host), ready.GetProperty("instance").GetString());
        var checks = ready.GetProperty("checks");
        Assert.Equal(["host", "nats", "store", "time-manager"], checks.EnumerateObject().Select(c => c.Name));
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
        Assert.Contains("in memory", checks.GetProperty("store").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(TimeManager, checks.GetProperty("time-manager").GetProperty("service").GetString());
    }

    [Fact(Timeout = 90_000)]
    public async Task Ready_OnAHealthyHost_StaysReadyThroughManyHealthRounds_WhileCallsKeepWorking()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, QuickHealth);
        var address = await HttpAddressAsync(host);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "steady", RequestId = "r-steady", TimeScale = 60 }, deadline: Deadline, cancellationToken: Cancellation);

        // 60 probes 0.1 s apart: 30 health rounds or more, as a kubelet would see them.
        var rounds = Stopwatch.StartNew();
        for (var i = 0; i < 60; i++)
        {
            var (code, ready) = await GetAsync(address, "/healthz/ready");
            Assert.True(code == HttpStatusCode.OK, $"Probe {i} at {rounds.Elapsed.TotalSeconds:0.0} s answered {(int)code}: {ready}\n{host.Transcript}");
            var clock = await caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "steady" }, deadline: Deadline, cancellationToken: Cancellation);
            Assert.Equal("steady", clock.Clock.WorldId);
            await Task.Delay(100, Cancellation);
        }

        Assert.True(rounds.Elapsed > TimeSpan.FromSeconds(6), "The probes ran over fewer health rounds than intended.");
        Assert.DoesNotContain(host.Output, line => line.Contains("NotServing", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Ready_WhenEventBusHasNoJetStream_Answers503NamingIt_WhileTimeManagerKeepsServingCalls()
    {
        await using var plain = await NatsServerFixture.StartAsync(jetStream: false);
        var url = $"nats://127.0.0.1:{plain.Port}";
        var prefix = MeshCaller.NewPrefix();
        await using var host = HostProcess.Start(["--services", "event-bus,time-manager", "--nats", url, "--GameSystem:Mesh:SubjectPrefix", prefix, .. QuickHealth]);
        var address = await HttpAddressAsync(host);
        await using var caller = await MeshCaller.ConnectAsync(url, prefix);

        var (code, ready) = await GetAsync(address, "/healthz/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
        var checks = ready.GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("event-bus").GetProperty("status").GetString());
        Assert.Contains("the service itself is not ready", checks.GetProperty("event-bus").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", checks.GetProperty("time-manager").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("nats").GetProperty("status").GetString());

        // Not ready is no reason to stop serving: every call time-manager can answer, it answers.
        for (var i = 0; i < 20; i++)
        {
            await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = $"w{i}", RequestId = $"r{i}", TimeScale = 60 }, deadline: Deadline, cancellationToken: Cancellation);
            Assert.Equal($"w{i}", (await caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = $"w{i}" }, deadline: Deadline, cancellationToken: Cancellation)).Clock.WorldId);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync(address, "/healthz/ready")).Code);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(address, "/healthz/live")).Code);
            await Task.Delay(50, Cancellation);
        }

        Assert.False(host.HasExited, host.Transcript);
    }

    [Fact(Timeout = 120_000)]
    public async Task Ready_WhileRedisIsDown_Answers503ForTheStore_LiveStays200_AndTheSameHostIsReadyOnceRedisIsBack()
    {
        var directory = Directory.CreateTempSubdirectory("gamesystem-host-httphealth-").FullName;
        var port = ServerProcess.FreePort();
        var redis = await RedisServerFixture.StartAsync(durable: true, port, directory);
        try
        {
            var prefix = MeshCaller.NewPrefix();
            await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, ["--GameSystem:Store:Redis", $"127.0.0.1:{port}", .. QuickHealth]);
            var address = await HttpAddressAsync(host);
            await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
            var instance = TimeManagerHost.InstanceId(host);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(address, "/healthz/ready")).Code);
            Assert.Equal("SERVING", (await ServiceMetadataAsync(caller, "INFO", instance)).GetProperty("health").GetString());

            await redis.KillAsync();
            var ready = await WaitForReadyAsync(address, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10), host);
            var store = ready.GetProperty("checks").GetProperty("store");
            Assert.Equal("Unhealthy", store.GetProperty("status").GetString());
            Assert.Contains($"Redis at 127.0.0.1:{port}", store.GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.Equal("Unhealthy", ready.GetProperty("checks").GetProperty("time-manager").GetProperty("status").GetString());
            Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("nats").GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(address, "/healthz/live")).Code);

            // The services still answer what they can: the mesh health call, and $SRV with the reason.
            var check = await caller.Health.CheckAsync(new HealthCheckRequest { Service = TimeManager }, deadline: Deadline, cancellationToken: Cancellation);
            Assert.Equal(ServingStatus.NotServing, check.Status);
            var metadata = await ServiceMetadataAsync(caller, "INFO", instance);
            Assert.Equal("NOT_SERVING", metadata.GetProperty("health").GetString());
            Assert.Contains("the state store", metadata.GetProperty("health_reason").GetString(), StringComparison.Ordinal);

            await redis.DisposeAsync();
            redis = await RedisServerFixture.StartAsync(durable: true, port, directory);
            ready = await WaitForReadyAsync(address, HttpStatusCode.OK, TimeSpan.FromSeconds(45), host);
            Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("store").GetProperty("status").GetString());
            await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "back", RequestId = "r-back", TimeScale = 60 }, deadline: Deadline, cancellationToken: Cancellation);
            Assert.Equal("SERVING", (await ServiceMetadataAsync(caller, "INFO", instance)).GetProperty("health").GetString());
            Assert.False(host.HasExited, host.Transcript);
        }
        finally
        {
            await redis.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Ready_Turns503AsSoonAsAGracefulStopBegins_WhileACallInFlightStillRuns()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Mesh:ShutdownTimeout", "00:00:08");
        var address = await HttpAddressAsync(host);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var instance = TimeManagerHost.InstanceId(host);
        await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "stop", RequestId = "r-stop", TimeScale = 60 }, deadline: Deadline, cancellationToken: Cancellation);

        // A call in flight that only the end of the drain ends: a clock watch the caller keeps open.
        await using var clock = caller.TimeManager.WatchClockAsync(new WatchClockRequest { WorldId = "stop" }, cancellationToken: Cancellation).GetAsyncEnumerator(Cancellation);
        Assert.True(await clock.MoveNextAsync());
        var clockEnded = DrainAsync(clock);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(address, "/healthz/ready")).Code);

        host.Terminate();
        var stopping = Stopwatch.StartNew();
        var (code, ready) = await GetAsync(address, "/healthz/ready");
        while (code != HttpStatusCode.ServiceUnavailable)
        {
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(2), $"Readiness still answered {(int)code} {stopping.Elapsed.TotalSeconds:0.0} s into the stop.\n{host.Transcript}");
            await Task.Delay(20, Cancellation);
            (code, ready) = await GetAsync(address, "/healthz/ready");
        }

        Assert.False(clockEnded.IsCompleted, $"The clock watch ended before readiness turned 503.\n{host.Transcript}");
        Assert.Contains("graceful stop", ready.GetProperty("checks").GetProperty("host").GetProperty("description").GetString(), StringComparison.Ordinal);

        // Through the drain: the process is alive, and $SRV says why this instance is going.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(address, "/healthz/live")).Code);
        var metadata = await ServiceMetadataAsync(caller, "INFO", instance);
        Assert.Equal("NOT_SERVING", metadata.GetProperty("health").GetString());
        Assert.Equal("the host is stopping", metadata.GetProperty("health_reason").GetString());
        Assert.False(clockEnded.IsCompleted, host.Transcript);

        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30), Cancellation));
        Assert.True(clockEnded.IsCompleted, host.Transcript);
    }

    [Fact(Timeout = 60_000)]
    public async Task ServiceApi_OnAHealthyHost_CarriesServingHealthInPingInfoAndStats_ForTheServiceAndTheHealthService()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var instance = TimeManagerHost.InstanceId(host);

        foreach (var verb in new[] { "PING", "INFO", "STATS" })
        {
            var metadata = await ServiceMetadataAsync(caller, verb, instance);
            Assert.Equal("SERVING", metadata.GetProperty("health").GetString());
            Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse(metadata.GetProperty("health_checked_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture) < TimeSpan.FromSeconds(30));
            Assert.False(metadata.TryGetProperty("health_reason", out _));
        }

        var health = await ServiceMetadataAsync(caller, "INFO", instance, HealthDispatcher.Info.Name);
        Assert.Equal("grpc.health.v1.Health", health.GetProperty("proto_service").GetString());
        Assert.Equal("SERVING", health.GetProperty("health").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Http_WhenTurnedOff_TheHostServesWithoutIt()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = HostProcess.Start(TimeManagerHost.Arguments(nats, prefix, "--GameSystem:Host:Http:Enabled", "false"));
        await host.WaitForOutputAsync(line => line.Contains("Health over HTTP: off", StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "quiet", RequestId = "r-quiet", TimeScale = 60 }, deadline: Deadline, cancellationToken: Cancellation);
        Assert.DoesNotContain(host.Output, line => line.Contains("/healthz/", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Http_WhenItsPortIsTaken_TheHostExitsWith3_NamingTheSetting()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;

        await using var host = HostProcess.Start(TimeManagerHost.Arguments(nats, MeshCaller.NewPrefix()), new Dictionary<string, string> { ["GameSystem__Host__Http__Urls"] = $"http://127.0.0.1:{port}" });

        Assert.Equal(3, await host.WaitForExitAsync(TimeManagerHost.StartTimeout, Cancellation));
        var error = string.Join('\n', host.Errors);
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("GameSystem:Host:Http:Urls", error, StringComparison.Ordinal);
    }

    /// <summary>The listener's address, as the host's banner names it once it listens.</summary>
    internal static async Task<Uri> HttpAddressAsync(HostProcess host)
    {
        var line = await host.WaitForOutputAsync(l => HealthLine().IsMatch(l), TimeManagerHost.StartTimeout, Cancellation);
        return new Uri(HealthLine().Match(line).Groups["address"].Value);
    }

    private async Task<(HttpStatusCode Code, JsonElement Body)> GetAsync(Uri address, string path)
    {
        using var response = await _http.GetAsync(new Uri(address, path), Cancellation);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        return (response.StatusCode, body.RootElement.Clone());
    }

    private async Task<JsonElement> WaitForReadyAsync(Uri address, HttpStatusCode wanted, TimeSpan within, HostProcess host)
    {
        var waited = Stopwatch.StartNew();
        var (code, body) = await GetAsync(address, "/healthz/ready");
        while (code != wanted)
        {
            Assert.True(waited.Elapsed < within, $"Readiness stayed {(int)code} for {within.TotalSeconds} s, waiting for {(int)wanted}: {body}\n{host.Transcript}");
            await Task.Delay(100, Cancellation);
            (code, body) = await GetAsync(address, "/healthz/ready");
        }

        return body;
    }

    /// <summary>The metadata one instance answers on <c>$SRV.{verb}.{service}.{instance}</c>, as <c>nats micro info</c> reads it.</summary>
    private static async Task<JsonElement> ServiceMetadataAsync(MeshCaller caller, string verb, string instance, string service = "time-manager")
    {
        var reply = await caller.Connection.RequestAsync<byte[], byte[]>($"$SRV.{verb}.{service}.{instance}", [], replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) }, cancellationToken: Cancellation);
        using var document = JsonDocument.Parse(reply.Data);
        return document.RootElement.GetProperty("metadata").Clone();
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

    [GeneratedRegex(@"Health over HTTP: (?<address>http://[^/\s]+)/healthz/live")]
    private static partial Regex HealthLine();
}
