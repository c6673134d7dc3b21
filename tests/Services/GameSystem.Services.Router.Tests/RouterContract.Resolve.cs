using System.Diagnostics;
using GameSystem.Router.V1;
using Grpc.Core;

namespace GameSystem.Services.Router.Tests;

/// <summary>Resolve, the cut-over, and WatchRoutes across instances.</summary>
public abstract partial class RouterContract
{
    private static async Task<ResolveResponse> ResolveAsync(RouterServiceClient client, string method, string path, string splitKey = "") =>
        await client.ResolveAsync(new ResolveRequest { HttpMethod = method, Path = path, SplitKey = splitKey }, cancellationToken: Timeout);

    private static async Task<Route> SetWeightsAsync(RouterServiceClient client, Route route, uint legacy, uint nats) =>
        (await client.SetBackendWeightsAsync(new SetBackendWeightsRequest
        {
            RouteId = route.RouteId,
            ExpectedVersion = route.Version,
            UpdatedBy = "cutover-test",
            Weights = { new BackendWeight { BackendId = "legacy", Weight = legacy }, new BackendWeight { BackendId = "nats", Weight = nats } },
        }, cancellationToken: Timeout)).Route;

    private static Backend Off(Backend backend)
    {
        backend.Disabled = true;
        return backend;
    }

    [Fact(Timeout = 60_000)]
    public async Task Resolve_PicksTheMostSpecificEnabledRoute_AndSaysWhichAndAtWhatVersion()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        await CreateAsync(client, HttpRoute("catch-all", "/**", "", Legacy(100)));
        await CreateAsync(client, HttpRoute("players", "/v1/players/**", "", Legacy(100)));
        var accept = await CreateAsync(client, HttpRoute("quests-accept", "/v1/players/{player_id}/quests:accept", "POST", Nats(100)));
        var off = HttpRoute("quests-off", "/v1/players/*/quests:accept", "POST", Nats(100, "nats-off"));
        off.Priority = 100;
        off.Disabled = true;
        await CreateAsync(client, off);

        var resolved = await ResolveAsync(client, "POST", "/v1/players/p-123/quests:accept", "p-123");
        var player = await ResolveAsync(client, "GET", "/v1/players/p-123");
        var other = await ResolveAsync(client, "GET", "/v2/anything");

        Assert.Equal(("quests-accept", accept.Version, "nats"), (resolved.RouteId, resolved.RouteVersion, resolved.Backend.BackendId));
        Assert.Equal(BackendKind.Nats, resolved.Backend.Kind);
        Assert.Equal("players", player.RouteId);
        Assert.Equal("catch-all", other.RouteId);
    }

    [Fact(Timeout = 60_000)]
    public async Task Resolve_WhenNothingMatches_FailsNotFound_AndMalformedRequestsInvalidArgument()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        await CreateAsync(client, HttpRoute(NewId(), "/v1/quests", "GET"));

        await FailsAsync(StatusCode.NotFound, () => ResolveAsync(client, "POST", "/v1/quests"), "POST /v1/quests");
        await FailsAsync(StatusCode.NotFound, () => client.ResolveAsync(new ResolveRequest { RpcMethod = "gamesystem.quest_system.v1.QuestSystemService/AcceptQuest" }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["path"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.ResolveAsync(new ResolveRequest(), cancellationToken: Timeout).AsTask())));
        Assert.Equal(["path"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => ResolveAsync(client, "GET", "/v1/quests?x=1"))));
        Assert.Equal(["http_method"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => ResolveAsync(client, "", "/v1/quests"))));
        Assert.Equal(["rpc_method"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.ResolveAsync(new ResolveRequest { RpcMethod = "x.Y/*" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal(["rpc_method"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.ResolveAsync(new ResolveRequest { RpcMethod = "x.Y/Z", Path = "/v1" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal(["split_key"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => ResolveAsync(client, "GET", "/v1/quests", new string('k', 513)))));
    }

    [Fact(Timeout = 60_000)]
    public async Task Resolve_OfAnRpcMethod_UsesTheExactRouteBeforeTheServiceWildcard()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        await CreateAsync(client, new Route { RouteId = "quest-service", Match = new RouteMatch { RpcMethod = "gamesystem.quest_system.v1.QuestSystemService/*" }, Backends = { Legacy(100) } });
        await CreateAsync(client, new Route { RouteId = "quest-accept", Match = new RouteMatch { RpcMethod = "gamesystem.quest_system.v1.QuestSystemService/AcceptQuest" }, Backends = { Nats(100) } });

        var accept = await client.ResolveAsync(new ResolveRequest { RpcMethod = "gamesystem.quest_system.v1.QuestSystemService/AcceptQuest" }, cancellationToken: Timeout);
        var list = await client.ResolveAsync(new ResolveRequest { RpcMethod = "gamesystem.quest_system.v1.QuestSystemService/ListQuests" }, cancellationToken: Timeout);

        Assert.Equal(("quest-accept", "nats"), (accept.RouteId, accept.Backend.BackendId));
        Assert.Equal(("quest-service", "legacy"), (list.RouteId, list.Backend.BackendId));
    }

    [Fact(Timeout = 60_000)]
    public async Task Resolve_WithASplitKey_IsSticky_Cacheable_AndListsTheAlternatesByWeight()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        await CreateAsync(client, HttpRoute("quests", "/v1/quests/**", "", Legacy(60), Nats(30), Nats(10, "nats-v2", "2.0.0"), Off(Nats(50, "nats-off", "9.0.0"))));

        var answers = new List<ResolveResponse>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add(await ResolveAsync(client, "GET", "/v1/quests/q-1", "player-42"));
        }

        var random = await ResolveAsync(client, "GET", "/v1/quests/q-1");

        Assert.Single(answers.Select(a => a.Backend.BackendId).Distinct());
        Assert.Equal(RouterOptions.Default.ResolveCacheTtl, answers[0].CacheTtl.ToTimeSpan());
        Assert.Equal(TimeSpan.Zero, random.CacheTtl.ToTimeSpan());
        var all = answers[0].Alternates.Select(b => b.BackendId).Prepend(answers[0].Backend.BackendId).Order(StringComparer.Ordinal);
        Assert.Equal(["legacy", "nats", "nats-v2"], all);
        Assert.Equal(answers[0].Alternates.OrderByDescending(b => b.Weight).Select(b => b.BackendId), answers[0].Alternates.Select(b => b.BackendId));
    }

    [Fact(Timeout = 60_000)]
    public async Task Resolve_OnANonStickyRoute_DrawsAtRandomByWeight()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = HttpRoute("quests", "/v1/quests", "GET", Legacy(50), Nats(50));
        route.Sticky = false;
        await CreateAsync(client, route);

        var drawn = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 60 && drawn.Count < 2; i++)
        {
            drawn.Add((await ResolveAsync(client, "GET", "/v1/quests", "player-42")).Backend.BackendId);
        }

        Assert.Equal(["legacy", "nats"], drawn.Order(StringComparer.Ordinal));
    }

    /// <summary>The cut-over an operator runs: 0 % → 50 % → 100 % of players to NATS, each step keeping who is already on NATS there.</summary>
    [Fact(Timeout = 120_000)]
    public async Task Cutover_ZeroToFiftyToHundredPercentNats_MovesPlayersOneWayOnly()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = await CreateAsync(client, HttpRoute("quests-accept", "/v1/players/{player_id}/quests:accept", "POST", Legacy(100), Nats(0)));
        var players = Enumerable.Range(0, 400).Select(_ => "player-" + Faker.Random.Guid().ToString("N")).ToList();

        async Task<Dictionary<string, string>> WhereAsync() =>
            (await Task.WhenAll(players.Select(async p => (p, (await ResolveAsync(client, "POST", $"/v1/players/{p}/quests:accept", p)).Backend.BackendId))))
            .ToDictionary(x => x.p, x => x.Item2);

        var zero = await WhereAsync();
        route = await SetWeightsAsync(client, route, 50, 50);
        var half = await WhereAsync();
        route = await SetWeightsAsync(client, route, 0, 100);
        var full = await WhereAsync();

        Assert.All(zero.Values, b => Assert.Equal("legacy", b));
        Assert.InRange(half.Values.Count(b => b == "nats"), 160, 240);
        Assert.All(players.Where(p => half[p] == "nats"), p => Assert.Equal("nats", full[p]));
        Assert.All(full.Values, b => Assert.Equal("nats", b));
        Assert.Equal(3, route.Version);
        Assert.Equal("cutover-test", route.UpdatedBy);
    }

    // ---- WatchRoutes ----

    [Fact(Timeout = 60_000)]
    public async Task WatchRoutes_SendsTheTableFirst_ThenEveryChangeInOrder()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var a = await CreateAsync(client, HttpRoute("route-a", "/v1/a"));
        await CreateAsync(client, HttpRoute("route-b", "/v1/b"));
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        await using var stream = client.WatchRoutesAsync(new WatchRoutesRequest { SendInitial = true }, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);

        var initial = new List<WatchRoutesResponse>();
        while (await stream.MoveNextAsync() && !stream.Current.InitialSnapshotComplete)
        {
            initial.Add(stream.Current);
        }

        await SetWeightsAsync(client, a, 50, 50);
        await client.DeleteRouteAsync(new DeleteRouteRequest { RouteId = "route-b" }, cancellationToken: Timeout);
        var changes = new List<WatchRoutesResponse>();
        while (changes.Count < 2 && await stream.MoveNextAsync())
        {
            changes.Add(stream.Current);
        }

        await watch.CancelAsync();
        Assert.Equal([("route-a", 1L), ("route-b", 1L)], initial.Select(c => (c.Route.RouteId, c.Route.Version)));
        Assert.All(initial, c => Assert.Equal(RouteChangeType.Upserted, c.ChangeType));
        Assert.Equal([(RouteChangeType.Upserted, "route-a", 2L), (RouteChangeType.Deleted, "route-b", 0L)], changes.Select(c => (c.ChangeType, c.Route.RouteId, c.Route.Version)));
        Assert.Equal([50u, 50u], changes[0].Route.Backends.Select(b => b.Weight));
    }

    /// <summary>
    /// Two instances on one store: changes written through one reach the other's watchers and
    /// its Resolve through the events alone (its revision check is off), within a second.
    /// </summary>
    [Fact(Timeout = 90_000)]
    public async Task WatchRoutes_OnAnotherInstance_SeesEveryChange_ThroughTheEvents_WithinASecond()
    {
        var (deployment, writer) = await StartAsync();
        await using var _ = deployment;
        var other = await deployment.AddInstanceAsync(TestOptions with { RevisionCheckInterval = System.Threading.Timeout.InfiniteTimeSpan }, cancellationToken: Timeout);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        await using var stream = other.Client.WatchRoutesAsync(new WatchRoutesRequest { SendInitial = true }, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);
        Assert.True(await stream.MoveNextAsync());
        Assert.True(stream.Current.InitialSnapshotComplete);

        var route = await CreateAsync(writer, HttpRoute("quests", "/v1/quests", "GET", Legacy(100), Nats(0)));
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(("quests", 1L), (stream.Current.Route.RouteId, stream.Current.Route.Version));

        var latencies = new List<TimeSpan>();
        foreach (var (legacy, nats) in new (uint, uint)[] { (50, 50), (0, 100) })
        {
            var clock = Stopwatch.StartNew();
            route = await SetWeightsAsync(writer, route, legacy, nats);
            Assert.True(await stream.MoveNextAsync());
            latencies.Add(clock.Elapsed);
            Assert.Equal((route.Version, nats), (stream.Current.Route.Version, stream.Current.Route.Backends[1].Weight));
        }

        var resolved = await ResolveAsync(other.Client, "GET", "/v1/quests", "player-1");
        await writer.DeleteRouteAsync(new DeleteRouteRequest { RouteId = "quests" }, cancellationToken: Timeout);
        Assert.True(await stream.MoveNextAsync());
        await watch.CancelAsync();

        Assert.Equal(RouteChangeType.Deleted, stream.Current.ChangeType);
        Assert.Equal(("nats", 3L), (resolved.Backend.BackendId, resolved.RouteVersion));
        Assert.All(latencies, l => Assert.True(l < TimeSpan.FromSeconds(1), $"A change took {l.TotalMilliseconds} ms to reach the other instance's watch."));
        await FailsAsync(StatusCode.NotFound, () => ResolveAsync(other.Client, "GET", "/v1/quests", "player-1"));
    }

    [Fact(Timeout = 90_000)]
    public async Task AnInstanceStartedLater_LoadsTheTable_AndFollowsFromThere()
    {
        var (deployment, writer) = await StartAsync();
        await using var _ = deployment;
        var route = await CreateAsync(writer, HttpRoute("quests", "/v1/quests", "GET", Legacy(100), Nats(0)));
        route = await SetWeightsAsync(writer, route, 0, 100);

        var late = await deployment.AddInstanceAsync(TestOptions with { RevisionCheckInterval = System.Threading.Timeout.InfiniteTimeSpan }, cancellationToken: Timeout);
        var resolved = await ResolveAsync(late.Client, "GET", "/v1/quests", "player-7");
        await SetWeightsAsync(writer, route, 100, 0);
        var deadline = Stopwatch.StartNew();
        while ((await ResolveAsync(late.Client, "GET", "/v1/quests", "player-7")).Backend.BackendId != "legacy")
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(5), "The later instance did not follow the change through the events.");
            await Task.Delay(50, Timeout);
        }

        Assert.Equal(("nats", 2L), (resolved.Backend.BackendId, resolved.RouteVersion));
    }
}
