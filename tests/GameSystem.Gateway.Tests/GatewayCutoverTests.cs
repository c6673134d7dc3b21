using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using GameSystem.Identity;
using GameSystem.Router.V1;
using GameSystem.Services.Testing;
using GameSystem.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GameSystem.Gateway.Tests;

/// <summary>
/// The cutover under load: a small legacy HTTP backend started here, router's weights moved
/// 0 → 50 → 100 % towards NATS while callers keep calling, and every request counted by where
/// it went; none may fail, and each move must show within a second.
/// </summary>
public sealed class GatewayCutoverTests(NatsServerFixture nats)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task MovingRoutersWeights_MovesTrafficWithinASecond_WithNoFailedRequest()
    {
        // The gateway's meter counts requests per route and backend.
        var counted = new ConcurrentDictionary<string, long>();
        using var meters = new System.Diagnostics.Metrics.MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "GameSystem.Gateway" && instrument.Name == "gateway.requests")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? route = null, backend = null;
            foreach (var tag in tags)
            {
                route = tag.Key == "http.route" ? tag.Value as string : route;
                backend = tag.Key == "backend.id" ? tag.Value as string : backend;
            }

            counted.AddOrUpdate($"{route} {backend}", value, (_, total) => total + value);
        });
        meters.Start();
        await using var legacy = await LegacyBackend.StartAsync();
        await using var gateway = await GatewayHarness.StartAsync(nats, "--GameSystem:Gateway:RateLimit:PermitsPerSecond=0");
        var (_, root) = await gateway.PlayerAsync(TestIdentity.RootUsername, Ct);
        var (_, player) = await gateway.PlayerAsync("cutover-player", Ct);
        var admin = BearerToken.Attach(default, root).Headers;
        await gateway.CreateClockAsync(root, "w-cut", 1, Ct);
        var router = new RouterServiceClient(gateway.Invoker);
        var created = await CreateRouteAsync(router, admin, ClockRoute("clock-get", "/v1/worlds/*/clock", legacy.Url, legacyWeight: 100, natsWeight: 0));

        // Callers keep calling, each answer labelled with where it came from and when.
        var answers = new ConcurrentQueue<(long At, string Side)>();
        var failures = new ConcurrentQueue<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var clock = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                using var response = await gateway.GetAsync("/v1/worlds/w-cut/clock", CancellationToken.None, player);
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"{(int)response.StatusCode} {body}");
                    continue;
                }

                answers.Enqueue((clock.ElapsedMilliseconds, body.Contains("\"legacy\"", StringComparison.Ordinal) ? "legacy" : "nats"));
            }
        })).ToList();

        var version = created.Route.Version;
        try
        {
            await WaitForShareAsync(answers, clock, since: 0, legacyShare: 1.0);
            foreach (var natsWeight in (uint[])[50, 100])
            {
                var moved = clock.ElapsedMilliseconds;
                var set = await router.SetBackendWeightsAsync(
                    new SetBackendWeightsRequest
                    {
                        RouteId = "clock-get",
                        ExpectedVersion = version,
                        Weights = { new BackendWeight { BackendId = "legacy", Weight = 100 - natsWeight }, new BackendWeight { BackendId = "nats", Weight = natsWeight } },
                    },
                    admin,
                    cancellationToken: Ct);
                version = set.Route.Version;

                // After a second, the answers follow the new weights.
                await Task.Delay(TimeSpan.FromSeconds(1), Ct);
                await WaitForShareAsync(answers, clock, since: moved + 1000, legacyShare: (100 - natsWeight) / 100.0, allowedMs: 1500);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(callers);
        }

        Assert.Empty(failures);
        Assert.True(legacy.Served > 0);
        Assert.Contains(answers, a => a.Side == "nats");
        Assert.True(counted.GetValueOrDefault("/v1/worlds/{world_id}/clock legacy") >= legacy.Served, string.Join(", ", counted));
        Assert.True(counted.GetValueOrDefault("/v1/worlds/{world_id}/clock nats") > 0, string.Join(", ", counted));
    }

    [Fact(Timeout = 120_000)]
    public async Task AStickySplit_KeepsEachPlayerOnOneSide_AndSharesPlayersByWeight()
    {
        await using var legacy = await LegacyBackend.StartAsync();
        await using var gateway = await GatewayHarness.StartAsync(nats, "--GameSystem:Gateway:RateLimit:PermitsPerSecond=0");
        var (_, root) = await gateway.PlayerAsync(TestIdentity.RootUsername, Ct);
        var admin = BearerToken.Attach(default, root).Headers;
        await gateway.CreateClockAsync(root, "w-sticky", 1, Ct);
        var router = new RouterServiceClient(gateway.Invoker);
        await CreateRouteAsync(router, admin, ClockRoute("clock-sticky", "/v1/worlds/*/clock", legacy.Url, legacyWeight: 50, natsWeight: 50, sticky: true));

        // A probe route created after it, all legacy: once the gateway answers the probe from
        // legacy, it has the sticky route too (WatchRoutes delivers changes in order).
        await CreateRouteAsync(router, admin, ClockRoute("probe", "/v1/worlds/probe/clock", legacy.Url, legacyWeight: 1, natsWeight: null));
        var seen = false;
        for (var i = 0; i < 100 && !seen; i++)
        {
            using var probe = await gateway.GetAsync("/v1/worlds/probe/clock", Ct, root);
            seen = (await probe.Content.ReadAsStringAsync(Ct)).Contains("\"legacy\"", StringComparison.Ordinal);
            await Task.Delay(seen ? 0 : 50, Ct);
        }

        Assert.True(seen, "The gateway never picked up router's routes.");
        var sides = new Dictionary<string, HashSet<string>>();
        for (var p = 0; p < 24; p++)
        {
            var (accountId, token) = await gateway.PlayerAsync($"sticky-player-{p}", Ct);
            sides[accountId] = [];

            for (var i = 0; i < 6; i++)
            {
                using var response = await gateway.GetAsync("/v1/worlds/w-sticky/clock", Ct, token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var body = await response.Content.ReadAsStringAsync(Ct);
                sides[accountId].Add(body.Contains("\"legacy\"", StringComparison.Ordinal) ? "legacy" : "nats");
            }
        }

        // Every player saw one side only, and the players split near the weights.
        Assert.All(sides, s => Assert.Single(s.Value));
        var onLegacy = sides.Count(s => s.Value.Contains("legacy"));
        Assert.InRange(onLegacy, 4, 20);
    }

    /// <summary>A GET route to the legacy backend and (unless <paramref name="natsWeight"/> is null) to time-manager over NATS.</summary>
    private static Route ClockRoute(string id, string template, string legacyUrl, uint legacyWeight, uint? natsWeight, bool sticky = false)
    {
        var route = new Route
        {
            RouteId = id,
            Sticky = sticky,
            Match = new RouteMatch { HttpMethod = "GET", PathTemplate = template },
            Backends = { new Backend { BackendId = "legacy", Kind = BackendKind.LegacyHttp, Target = legacyUrl, Weight = legacyWeight } },
        };
        if (natsWeight is { } weight)
        {
            route.Backends.Add(new Backend { BackendId = "nats", Kind = BackendKind.Nats, Target = "time-manager", Weight = weight });
        }

        return route;
    }

    private static Task<CreateRouteResponse> CreateRouteAsync(RouterServiceClient router, Grpc.Core.Metadata? admin, Route route) =>
        router.CreateRouteAsync(new CreateRouteRequest { RequestId = Guid.NewGuid().ToString(), Route = route }, admin, cancellationToken: Ct).AsTask();

    // Waits (bounded) until at least 40 answers arrived after `since` and their legacy share is
    // within 0.2 of the expected one (exact for 0 and 1).
    private static async Task WaitForShareAsync(ConcurrentQueue<(long At, string Side)> answers, Stopwatch clock, long since, double legacyShare, int allowedMs = 5000)
    {
        var deadline = clock.ElapsedMilliseconds + allowedMs;
        double share = -1;
        int count = 0;
        while (clock.ElapsedMilliseconds < deadline)
        {
            var window = answers.Where(a => a.At >= since).ToList();
            count = window.Count;
            if (count >= 40)
            {
                share = window.Count(a => a.Side == "legacy") / (double)count;
                var close = legacyShare is 0 or 1 ? share == legacyShare : Math.Abs(share - legacyShare) <= 0.2;
                if (close)
                {
                    return;
                }
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"Expected a legacy share of {legacyShare:P0} among answers after {since} ms; saw {share:P0} of {count}.");
    }

    /// <summary>The HTTP backend the studio ran before NATS: it answers the clock route itself.</summary>
    private sealed class LegacyBackend : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _served;

        private LegacyBackend(WebApplication app) => _app = app;

        public string Url => GatewayApplication.Addresses(_app).Single();

        public int Served => Volatile.Read(ref _served);

        public static async Task<LegacyBackend> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var backend = new LegacyBackend(app);
            app.MapGet("/v1/worlds/{id}/clock", (string id) =>
            {
                Interlocked.Increment(ref backend._served);
                return Results.Text($$"""{"legacy":true,"worldId":"{{id}}"}""", "application/json");
            });
            await app.StartAsync();
            return backend;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
