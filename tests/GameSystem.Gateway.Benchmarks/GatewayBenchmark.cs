using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using GameSystem.Auth.V1;
using GameSystem.Events;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Mesh.Benchmarks;
using GameSystem.Mesh.Nats;
using GameSystem.Services.Router;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using AuthService = GameSystem.Services.Auth.AuthService;
using TimeManagerService = GameSystem.Services.TimeManager.TimeManagerService;

namespace GameSystem.Gateway.Benchmarks;

/// <summary>
/// Unary HTTP/JSON through the gateway, NATS and time-manager against, in the same run, (a) a
/// minimal-API endpoint and (b) gRPC JSON transcoding doing the same work in one process, at 1, 16
/// and 128 in flight. The work: <c>GET /v1/worlds/{world_id}/clock</c> over HTTP/1.1 with a bearer
/// token, the token checked by the contract's access rule, the same <c>GetClock</c> of the same
/// time-manager on the same in-memory store, proto3 JSON back. Windows alternate between the sides
/// so drift on a shared machine hits all of them; ratios are medians of the rounds' own ratios.
/// </summary>
/// <remarks>
/// The gateway runs as deployed: it checks the token, sends the call over NATS with it, and the
/// service's identity interceptor checks it again; router's table is followed (empty, so every
/// route goes over NATS) and the rate limiter is on, with a limit no benchmark caller reaches.
/// With <c>--breakdown</c> the gateway's variants run in the same rounds to show where its time
/// goes: the service without the identity interceptor, the gateway without the rate limiter, and
/// the mesh call alone (the generated client, NATS, the service), without HTTP.
/// </remarks>
internal static class GatewayBenchmark
{
    private const string WorldId = "bench-world";

    /// <summary>Players whose tokens the callers carry (caller i has player i mod n's): a deployment's load comes from many accounts, each its own rate-limit bucket.</summary>
    private const int Players = 16;

    /// <summary>A per-account rate no caller here reaches, so the limiter runs but never refuses.</summary>
    private const int UnreachedRate = 10_000_000;

    private static readonly ImmutableArray<MeshServiceInfo> Contracts = MeshCatalog.FromAssemblies([typeof(IAuthService).Assembly]);

    public static async Task<int> RunAsync(BenchmarkSettings settings)
    {
        Console.WriteLine($"GameSystem gateway benchmark: warm-up {settings.Warmup.TotalSeconds:0} s per side, {settings.Rounds} rounds of {settings.Window.TotalSeconds:0} s windows, concurrency {string.Join("/", settings.Concurrency)}{(settings.Breakdown.Length > 0 ? $", breakdown at {string.Join("/", settings.Breakdown)}" : "")}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");

        await using var nats = await NatsServerFixture.StartAsync();
        using var natsProcess = Process.GetProcessById(nats.ProcessId);
        var natsUrl = $"nats://127.0.0.1:{nats.Port}";
        // Tokens for auth's longest lifetime: the default five minutes end inside a run, and a token
        // that expires mid-window is (rightly) refused.
        var authOptions = TestIdentity.TestAuthOptions() with { AccessTokenLifetime = TimeSpan.FromHours(1) };
        var identity = IdentityOptions.Default with { Issuer = authOptions.Issuer, Audience = authOptions.Audience, ServiceSecret = authOptions.ServiceSecret };
        var store = new InMemoryStateStore();

        await using var serverConnection = await ServiceMesh.ConnectAsync(natsUrl, "bench-services");
        await using var clientConnection = await ServiceMesh.ConnectAsync(natsUrl, "bench-client");
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = "bench" });

        // auth, time-manager and router as a host serves them, behind the identity interceptor.
        var auth = new AuthService(store, new EventOutbox("auth", TimeProvider.System), TimeProvider.System, NullLogger<AuthService>.Instance, Options.Create(authOptions));
        using var time = new TimeManagerService(store, store, TimeProvider.System, NullLogger<TimeManagerService>.Instance, new EventOutbox("time-manager", TimeProvider.System));
        await using var router = new RouterService(store, new EventOutbox("router", TimeProvider.System), new GameSystem.EventBus.V1.EventBusServiceClient(invoker), Options.Create(RouterOptions.Default), TimeProvider.System, NullLogger<RouterService>.Instance);
        using var serverKeys = new SigningKeyProvider(new AuthServiceClient(invoker), identity, TimeProvider.System);
        var interceptor = new IdentityServerInterceptor(new AccessTokenValidator(serverKeys, identity, TimeProvider.System), Contracts);
        await using var services = await ServeAsync(serverConnection, "bench", [interceptor], auth, time, router);

        var (rootToken, playerTokens) = await TokensAsync(new AuthServiceClient(invoker));
        await new TimeManagerServiceClient(invoker).CreateClockAsync(
            new CreateClockRequest { WorldId = WorldId, RequestId = Guid.NewGuid().ToString(), TimeScale = 60, DisplayName = "Benchmark world" },
            BearerToken.Attach(default, rootToken).Headers);

        // The baselines verify in process, with the same validator type against the same auth's keys.
        using var baselineKeys = new SigningKeyProvider(new AuthServiceClient(invoker), identity, TimeProvider.System);
        var baselineValidator = new AccessTokenValidator(baselineKeys, identity, TimeProvider.System);
        var getClock = Contracts.Single(c => c.Name == "time-manager").Methods.Single(m => m.Name == "GetClock");

        var apps = new List<WebApplication>();
        var servers = new List<NatsMeshServer>();
        try
        {
            var minimal = await Started(apps, MinimalApiEndpoint.StartAsync(time, baselineValidator, getClock));
            var transcoding = await Started(apps, TranscodingEndpoint.StartAsync(time, baselineValidator, Contracts));
            var gateway = await Started(apps, StartGatewayAsync(natsUrl, "bench", authOptions.ServiceSecret, UnreachedRate));

            using var handler = new System.Net.Http.SocketsHttpHandler
            {
                // HTTP/1.1 carries one request per connection at a time: a connection per caller.
                MaxConnectionsPerServer = settings.Concurrency.Append(16).Max(),
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
            };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
            var requests = new ClockRequests(http, WorldId, playerTokens);

            var sides = new List<Side>
            {
                new("minimal API", requests.To(Address(minimal))),
                new("transcoding", requests.To(Address(transcoding))),
                new("gateway", requests.To(Address(gateway))),
            };
            foreach (var side in sides)
            {
                var sample = await requests.SampleAsync(Address(apps[sides.IndexOf(side)]));
                Console.WriteLine($"  {side.Name}: {sample.Length} bytes of JSON per answer");
            }

            var variants = new List<Side>();
            if (settings.Breakdown.Length > 0)
            {
                // The same auth and time-manager on a second prefix without the identity interceptor, so
                // the token is checked by the gateway only; router keeps it (it refuses an unverified
                // watcher), so that gateway follows router's table as the others do.
                servers.Add(await ServeAsync(serverConnection, "bench-open", [], auth, time));
                servers.Add(await ServeAsync(serverConnection, "bench-open", [interceptor], router));
                var withoutServiceIdentity = await Started(apps, StartGatewayAsync(natsUrl, "bench-open", authOptions.ServiceSecret, UnreachedRate));
                var withoutRateLimiter = await Started(apps, StartGatewayAsync(natsUrl, "bench", authOptions.ServiceSecret, 0));
                var client = new TimeManagerServiceClient(invoker);
                variants.Add(new("gateway, service without identity", requests.To(Address(withoutServiceIdentity))));
                variants.Add(new("gateway without rate limiter", requests.To(Address(withoutRateLimiter))));
                variants.Add(new("mesh call alone", caller =>
                {
                    var headers = BearerToken.Attach(default, playerTokens[caller % playerTokens.Count]).Headers;
                    var request = new GetClockRequest { WorldId = WorldId };
                    return async () =>
                    {
                        var response = await client.GetClockAsync(request, headers);
                        if (response.Clock.WorldId != WorldId)
                        {
                            throw new InvalidOperationException("the mesh call returned a clock of another world");
                        }
                    };
                }));
            }

            return await MeasureAsync(settings, natsProcess, sides, variants);
        }
        finally
        {
            // The gateways first, so none of them sees its services go away.
            foreach (var app in apps)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }

            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static async Task<int> MeasureAsync(BenchmarkSettings settings, Process nats, IReadOnlyList<Side> sides, IReadOnlyList<Side> variants)
    {
        Console.WriteLine("Warming up (tiered JIT needs several seconds under load) …");
        foreach (var side in sides.Concat(variants))
        {
            await Load.RunAsync(side.Call, 16, settings.Warmup);
        }

        var results = new List<Level>();
        foreach (var concurrency in settings.Concurrency)
        {
            var measured = settings.Breakdown.Contains(concurrency) ? [.. sides, .. variants] : sides.ToList();
            var rounds = measured.ToDictionary(s => s.Name, _ => new List<(Figures Figures, Cpu Cpu)>());
            for (var round = 0; round < settings.Rounds; round++)
            {
                foreach (var side in measured)
                {
                    var result = await Cpu.MeasureAsync(nats, () => Load.RunAsync(side.Call, concurrency, settings.Window));
                    rounds[side.Name].Add(result);
                    Console.WriteLine($"  c={concurrency,-4} round {round + 1} {side.Name,-34} {result.Figures} {result.Cpu}");
                }
            }

            var gateway = rounds["gateway"].Select(r => r.Figures).ToList();
            results.Add(new Level(concurrency, [.. measured.Select(s => new SideResult(
                s.Name,
                Figures.Median([.. rounds[s.Name].Select(r => r.Figures)]),
                Cpu.Median(rounds[s.Name].Select(r => r.Cpu)),
                Figures.PairedRatio(gateway, [.. rounds[s.Name].Select(r => r.Figures)])))]));
        }

        return Report(results);
    }

    private static int Report(List<Level> levels)
    {
        Console.WriteLine();
        Console.WriteLine("Medians of the rounds (µs; B/call is bytes allocated in this process per call, load generator included; CPU is µs per call of this process + nats-server; ratios are medians of the rounds' own throughput ratios):");
        Console.WriteLine("| in flight | minimal calls/s | transcoding calls/s | gateway calls/s | gateway/minimal | gateway/transcoding | p50 min / tr / gw | p99 min / tr / gw | B/call min / tr / gw | CPU/call min / tr / gw (of it nats-server) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var passed = true;
        foreach (var level in levels)
        {
            var (m, t, g) = (level["minimal API"], level["transcoding"], level["gateway"]);

            // The round ratios were taken against the gateway; gateway/x is the median of their inverses.
            var (vsMinimal, vsTranscoding) = (1 / m.VsGateway, 1 / t.VsGateway);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {level.Concurrency} | {m.Figures.CallsPerSecond:0} | {t.Figures.CallsPerSecond:0} | {g.Figures.CallsPerSecond:0} | {vsMinimal:P1} | {vsTranscoding:P1} | {m.Figures.P50Micros:0} / {t.Figures.P50Micros:0} / {g.Figures.P50Micros:0} | {m.Figures.P99Micros:0} / {t.Figures.P99Micros:0} / {g.Figures.P99Micros:0} | {m.Figures.BytesPerCall:0} / {t.Figures.BytesPerCall:0} / {g.Figures.BytesPerCall:0} | {m.Cpu.TotalMicros:0} / {t.Cpu.TotalMicros:0} / {g.Cpu.TotalMicros:0} ({g.Cpu.NatsMicros:0}) |"));
            if (level.Concurrency >= 128 && (vsMinimal < 0.70 || vsTranscoding < 0.70))
            {
                passed = false;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  target missed: at {level.Concurrency} in flight the gateway makes {vsMinimal:P1} of the minimal API's throughput and {vsTranscoding:P1} of transcoding's (target ≥ 70 % of each)"));
            }
        }

        var breakdown = levels.Where(l => l.Sides.Count > 3).ToList();
        if (breakdown.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("Where the gateway's time goes (same rounds; vs gateway is the median of the rounds' throughput ratios):");
            Console.WriteLine("| in flight | side | calls/s | vs gateway | p50 | p99 | B/call | CPU/call (of it nats-server) |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|");
            foreach (var level in breakdown)
            {
                foreach (var side in level.Sides)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {level.Concurrency} | {side.Name} | {side.Figures.CallsPerSecond:0} | {side.VsGateway:P1} | {side.Figures.P50Micros:0} | {side.Figures.P99Micros:0} | {side.Figures.BytesPerCall:0} | {side.Cpu.TotalMicros:0.0} ({side.Cpu.NatsMicros:0.0}) |"));
                }
            }

            foreach (var level in breakdown)
            {
                var gateway = level["gateway"].Cpu.TotalMicros;
                var mesh = level["mesh call alone"].Cpu.TotalMicros;
                var serviceIdentity = gateway - level["gateway, service without identity"].Cpu.TotalMicros;
                var rateLimiter = gateway - level["gateway without rate limiter"].Cpu.TotalMicros;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  at {level.Concurrency} in flight, CPU per call: gateway {gateway:0} µs = mesh call alone {mesh:0} µs ({mesh / gateway:P0}: client, nats-server, service with its token check) + HTTP, JSON and the gateway's own work {gateway - mesh:0} µs ({(gateway - mesh) / gateway:P0}); the service's second token check {serviceIdentity:0} µs, the rate limiter {rateLimiter:0} µs; the minimal API does the whole request in {level["minimal API"].Cpu.TotalMicros:0} µs, transcoding in {level["transcoding"].Cpu.TotalMicros:0} µs"));
            }
        }

        Console.WriteLine(passed ? "Target met: at 128 in flight the gateway makes ≥ 70 % of the throughput of each baseline." : "Target NOT met (see above).");
        return passed ? 0 : 1;
    }

    private static async Task<NatsMeshServer> ServeAsync(NatsConnection connection, string prefix, ImmutableArray<MeshServerInterceptor> interceptors, params object[] implementations)
    {
        var server = new NatsMeshServer(connection, MeshServerOptions.Default with { SubjectPrefix = prefix, Interceptors = interceptors });
        foreach (var implementation in implementations)
        {
            foreach (var contract in Contracts.Where(c => c.ServiceInterface.IsInstanceOfType(implementation)))
            {
                server.AddService(contract.Bind(implementation));
            }
        }

        await server.StartAsync();
        return server;
    }

    /// <summary>The administrator's token (to create the clock) and the players' (to read it), from auth's own Register and Login.</summary>
    private static async Task<(string Root, IReadOnlyList<string> Players)> TokensAsync(AuthServiceClient auth)
    {
        async Task<string> LoginAsync(string username)
        {
            await auth.RegisterAsync(new RegisterRequest { Username = username, Email = $"{username}@bench.example", Password = "correct horse battery", RequestId = Guid.NewGuid().ToString() });
            var login = await auth.LoginAsync(new LoginRequest { Login = username, Password = "correct horse battery", ClientName = "gateway-benchmark/1.0" });
            return login.Tokens.AccessToken;
        }

        var root = await LoginAsync(TestIdentity.RootUsername);
        var players = new List<string>();
        for (var i = 0; i < Players; i++)
        {
            players.Add(await LoginAsync($"bench-player-{i}"));
        }

        return (root, players);
    }

    private static async Task<WebApplication> StartGatewayAsync(string natsUrl, string prefix, string? serviceSecret, int permitsPerSecond)
    {
        var gateway = GatewayApplication.Build(
        [
            "--urls=http://127.0.0.1:0",
            $"--GameSystem:Nats:Servers={natsUrl}",
            $"--GameSystem:Mesh:SubjectPrefix={prefix}",
            $"--GameSystem:Identity:ServiceSecret={serviceSecret}",
            $"--GameSystem:Gateway:RateLimit:PermitsPerSecond={permitsPerSecond}",
            $"--GameSystem:Gateway:RateLimit:Burst={Math.Max(1, permitsPerSecond)}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await gateway.StartAsync();
        return gateway;
    }

    private static async Task<WebApplication> Started(List<WebApplication> apps, Task<WebApplication> starting)
    {
        var app = await starting;
        apps.Add(app);
        return app;
    }

    private static Uri Address(WebApplication app) => new(GatewayApplication.Addresses(app).Single());

    private sealed record Side(string Name, Func<int, Func<ValueTask>> Call);

    private sealed record SideResult(string Name, Figures Figures, Cpu Cpu, double VsGateway);

    private sealed record Level(int Concurrency, IReadOnlyList<SideResult> Sides)
    {
        public SideResult this[string name] => Sides.Single(s => s.Name == name);
    }
}
