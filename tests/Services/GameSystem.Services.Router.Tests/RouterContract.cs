using Bogus;
using GameSystem.Mesh;
using GameSystem.Router.V1;
using GameSystem.State;
using GameSystem.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Router.Tests;

/// <summary>The router contract through the generated client over nats-server (with a real event-bus), run once per state store.</summary>
public abstract partial class RouterContract(NatsServerFixture nats)
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261202) };

    /// <summary>Instances in tests: a heartbeat soon after subscribing, so a test knows when one follows the events.</summary>
    private static readonly RouterOptions TestOptions = RouterOptions.Default with { ChangeEventsHeartbeat = TimeSpan.FromSeconds(1) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<(RouterDeployment Deployment, RouterServiceClient Client)> StartAsync(RouterOptions? options = null)
    {
        var (deployment, instance) = await StartInstanceAsync(options);
        return (deployment, instance.Client);
    }

    private async Task<(RouterDeployment Deployment, RouterInstance Instance)> StartInstanceAsync(RouterOptions? options = null)
    {
        var deployment = await RouterDeployment.StartAsync(nats.Url, await CreateStoreAsync(), await CreateStoreAsync());
        return (deployment, await deployment.AddInstanceAsync(options ?? TestOptions, cancellationToken: Timeout));
    }

    private static string NewId(string prefix = "route") => $"{prefix}-{Faker.Lorem.Word().ToLowerInvariant()}-{Faker.Random.AlphaNumeric(6).ToLowerInvariant()}";

    private static Backend Legacy(uint weight, string id = "legacy") =>
        new() { BackendId = id, Kind = BackendKind.LegacyHttp, Target = $"http://{Faker.Internet.DomainWord()}.legacy.internal:8080", Weight = weight };

    private static Backend Nats(uint weight, string id = "nats", string version = "") =>
        new() { BackendId = id, Kind = BackendKind.Nats, Target = "quest-system", Version = version, Weight = weight };

    private static Route HttpRoute(string routeId, string template, string method = "", params Backend[] backends)
    {
        var route = new Route
        {
            RouteId = routeId,
            Description = Faker.Lorem.Sentence(),
            Match = new RouteMatch { HttpMethod = method, PathTemplate = template },
            Sticky = true,
            UpdatedBy = Faker.Internet.UserName(),
        };
        route.Backends.AddRange(backends.Length > 0 ? backends : [Legacy(100), Nats(0)]);
        return route;
    }

    private static async Task<Route> CreateAsync(RouterServiceClient client, Route route) =>
        (await client.CreateRouteAsync(new CreateRouteRequest { RequestId = Guid.NewGuid().ToString(), Route = route }, cancellationToken: Timeout)).Route;

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, error.StatusCode);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The fields the google.rpc.BadRequest of an INVALID_ARGUMENT names.</summary>
    private static List<string> ViolatedFields(RpcException error)
    {
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var status = error.GetRpcStatus();
        return [.. Assert.Single(status.Details).Unpack<Google.Rpc.BadRequest>().FieldViolations.Select(v => v.Field)];
    }

    // ---- CreateRoute / GetRoute ----

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_StartsAtVersionOne_AndGetRouteReadsIt()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = HttpRoute(NewId(), "/v1/players/{player_id}/quests:accept", "POST", Legacy(90), Nats(10, version: "2.3.0"));

        var created = await CreateAsync(client, route);
        var read = (await client.GetRouteAsync(new GetRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout)).Route;

        Assert.Equal(1, created.Version);
        Assert.NotNull(created.CreateTime);
        Assert.Equal(created.CreateTime, created.UpdateTime);
        Assert.Equal(created, read);
        Assert.Equal(route.Backends, read.Backends);
        Assert.Equal(route.UpdatedBy, read.UpdatedBy);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_RetriedWithTheSameRequestId_ReturnsTheFirstResult_EvenAfterAChange()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var request = new CreateRouteRequest { RequestId = Guid.NewGuid().ToString(), Route = HttpRoute(NewId(), "/v1/quests") };

        var first = (await client.CreateRouteAsync(request, cancellationToken: Timeout)).Route;
        await client.SetBackendWeightsAsync(new SetBackendWeightsRequest { RouteId = first.RouteId, ExpectedVersion = 1, Weights = { new BackendWeight { BackendId = "nats", Weight = 50 } } }, cancellationToken: Timeout);
        var retry = (await client.CreateRouteAsync(request, cancellationToken: Timeout)).Route;

        Assert.Equal(first, retry);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_ReusingARequestIdForAnotherRoute_FailsInvalidArgument()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var id = Guid.NewGuid().ToString();
        await client.CreateRouteAsync(new CreateRouteRequest { RequestId = id, Route = HttpRoute(NewId(), "/v1/a") }, cancellationToken: Timeout);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => client.CreateRouteAsync(new CreateRouteRequest { RequestId = id, Route = HttpRoute(NewId(), "/v1/b") }, cancellationToken: Timeout).AsTask(), "different");
        Assert.Equal(["request_id"], ViolatedFields(error));
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_WhenTheIdIsTaken_FailsAlreadyExists()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = await CreateAsync(client, HttpRoute(NewId(), "/v1/a"));

        await FailsAsync(StatusCode.AlreadyExists, () => CreateAsync(client, HttpRoute(route.RouteId, "/v1/b")), route.RouteId);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_WithTheSameMatchAndPriorityAsAnother_FailsAlreadyExists_ButAnotherPriorityIsFine()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var first = await CreateAsync(client, HttpRoute(NewId(), "/v1/players/{player_id}/quests", "GET"));

        await FailsAsync(StatusCode.AlreadyExists, () => CreateAsync(client, HttpRoute(NewId(), "/v1/players/*/quests", "GET")), first.RouteId);
        var boosted = HttpRoute(NewId(), "/v1/players/*/quests", "GET");
        boosted.Priority = 5;
        await CreateAsync(client, boosted);
        await CreateAsync(client, HttpRoute(NewId(), "/v1/players/*/quests", "POST"));
        await CreateAsync(client, HttpRoute(NewId(), "/v1/players/*/quests"));
    }

    public static TheoryData<string, string> InvalidRoutes => new()
    {
        { "route_id", "" },
        { "route_id", "Quests_Accept" },
        { "match", "no-match" },
        { "match.path_template", "v1/no-slash" },
        { "match.path_template", "/v1/**/x" },
        { "match.http_method", "get" },
        { "match.rpc_method", "NotAMethod" },
        { "match.rpc_method", "both" },
        { "backends", "none" },
        { "backends", "seventeen" },
        { "backends", "all-zero" },
        { "backends[1].backend_id", "duplicate-id" },
        { "backends[1]", "duplicate-destination" },
        { "backends[0].target", "ftp://legacy" },
        { "backends[0].target", "relative/url" },
        { "backends[0].target", "http://user:pw@legacy" },
        { "backends[1].target", "Quest System" },
        { "backends[0].kind", "no-kind" },
        { "backends[0].weight", "10001" },
        { "backends[1].version", "v2" },
        { "description", "long" },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(InvalidRoutes))]
    public async Task CreateRoute_WithAnInvalidField_FailsInvalidArgument_NamingIt(string field, string problem)
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = HttpRoute(NewId(), "/v1/quests", "GET", Legacy(50), Nats(50));
        switch (problem)
        {
            case "" or "Quests_Accept": route.RouteId = problem; break;
            case "no-match": route.Match = null; break;
            case "v1/no-slash" or "/v1/**/x": route.Match.PathTemplate = problem; break;
            case "get": route.Match.HttpMethod = problem; break;
            case "NotAMethod": route.Match = new RouteMatch { RpcMethod = problem }; break;
            case "both": route.Match.RpcMethod = "gamesystem.quest_system.v1.QuestSystemService/AcceptQuest"; break;
            case "none": route.Backends.Clear(); break;
            case "seventeen": route.Backends.Clear(); route.Backends.AddRange(Enumerable.Range(0, 17).Select(i => Nats(1, $"nats-{i}", $"1.0.{i}"))); break;
            case "all-zero": route.Backends[0].Weight = 0; route.Backends[1].Weight = 0; break;
            case "duplicate-id": route.Backends[1].BackendId = route.Backends[0].BackendId; break;
            case "duplicate-destination": route.Backends[1] = Legacy(10, "legacy-2"); route.Backends[1].Target = route.Backends[0].Target; break;
            case "ftp://legacy" or "relative/url" or "http://user:pw@legacy": route.Backends[0].Target = problem; break;
            case "Quest System": route.Backends[1].Target = problem; break;
            case "no-kind": route.Backends[0].Kind = BackendKind.Unspecified; break;
            case "10001": route.Backends[0].Weight = 10_001; break;
            case "v2": route.Backends[1].Version = problem; break;
            case "long": route.Description = new string('x', 1001); break;
        }

        var error = await FailsAsync(StatusCode.InvalidArgument, () => CreateAsync(client, route));

        Assert.Contains("route." + field, ViolatedFields(error));
        Assert.Empty((await client.ListRoutesAsync(new ListRoutesRequest(), cancellationToken: Timeout)).Routes);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_WithSeveralProblems_ListsEveryOne()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = HttpRoute("Bad Id", "no-slash", "get", Legacy(20_000));
        route.Backends[0].Target = "not a url";

        var error = await FailsAsync(StatusCode.InvalidArgument, () => CreateAsync(client, route));

        Assert.Equal(["route.route_id", "route.match.path_template", "route.match.http_method", "route.backends[0].target", "route.backends[0].weight"], ViolatedFields(error));
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_WithoutRequestIdOrRoute_FailsInvalidArgument()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;

        Assert.Equal(["request_id"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.CreateRouteAsync(new CreateRouteRequest { Route = HttpRoute(NewId(), "/v1/a") }, cancellationToken: Timeout).AsTask())));
        Assert.Equal(["route"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.CreateRouteAsync(new CreateRouteRequest { RequestId = "r-1" }, cancellationToken: Timeout).AsTask())));
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRoute_ValidateOnly_ReturnsTheRoute_AndStoresNothing()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var route = HttpRoute(NewId(), "/v1/a");

        var validated = (await client.CreateRouteAsync(new CreateRouteRequest { RequestId = Guid.NewGuid().ToString(), Route = route, ValidateOnly = true }, cancellationToken: Timeout)).Route;

        Assert.Equal((route.RouteId, 1L), (validated.RouteId, validated.Version));
        await FailsAsync(StatusCode.NotFound, () => client.GetRouteAsync(new GetRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout).AsTask(), route.RouteId);
    }

    [Fact(Timeout = 60_000)]
    public async Task GetRoute_OfAnUnknownOrMalformedId_FailsNotFoundOrInvalidArgument()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;

        await FailsAsync(StatusCode.NotFound, () => client.GetRouteAsync(new GetRouteRequest { RouteId = "no-such-route" }, cancellationToken: Timeout).AsTask(), "no-such-route");
        Assert.Equal(["route_id"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.GetRouteAsync(new GetRouteRequest { RouteId = "Not/An/Id" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal(["route_id"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.GetRouteAsync(new GetRouteRequest(), cancellationToken: Timeout).AsTask())));
    }

    // ---- ListRoutes ----

    [Fact(Timeout = 60_000)]
    public async Task ListRoutes_PagesInRouteIdOrder_AndFilters()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var route = HttpRoute(NewId(), $"/v1/area-{i}/**", "", i % 2 == 0 ? [Legacy(100)] : [Legacy(50), Nats(50)]);
            route.Disabled = i == 3;
            ids.Add((await CreateAsync(client, route)).RouteId);
        }

        var pages = new List<List<string>>();
        var token = "";
        do
        {
            var page = await client.ListRoutesAsync(new ListRoutesRequest { PageSize = 3, PageToken = token }, cancellationToken: Timeout);
            pages.Add([.. page.Routes.Select(r => r.RouteId)]);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var nats = await client.ListRoutesAsync(new ListRoutesRequest { BackendKind = BackendKind.Nats }, cancellationToken: Timeout);
        var enabledNats = await client.ListRoutesAsync(new ListRoutesRequest { BackendTarget = "quest-system", ExcludeDisabled = true }, cancellationToken: Timeout);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));
        Assert.Equal(ids.Order(StringComparer.Ordinal), pages.SelectMany(p => p));
        Assert.Equal(ids.Where((_, i) => i % 2 == 1).Order(StringComparer.Ordinal), nats.Routes.Select(r => r.RouteId));
        Assert.Equal(ids.Where((_, i) => i % 2 == 1 && i != 3).Order(StringComparer.Ordinal), enabledNats.Routes.Select(r => r.RouteId));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListRoutes_WithABadPageSizeOrToken_FailsInvalidArgument()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;

        Assert.Equal(["page_size"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.ListRoutesAsync(new ListRoutesRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask())));
        Assert.Equal(["page_token"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.ListRoutesAsync(new ListRoutesRequest { PageToken = "garbage!" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal(["backend_kind"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => client.ListRoutesAsync(new ListRoutesRequest { BackendKind = (BackendKind)9 }, cancellationToken: Timeout).AsTask())));
    }

    // ---- UpdateRoute ----

    [Fact(Timeout = 60_000)]
    public async Task UpdateRoute_ChangesOnlyTheMaskedFields_AndMovesTheVersion()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var created = await CreateAsync(client, HttpRoute(NewId(), "/v1/a", "GET"));
        var changes = new Route { RouteId = created.RouteId, Description = "moved", Priority = 7, Match = new RouteMatch { PathTemplate = "/v1/b" } };

        var updated = (await client.UpdateRouteAsync(new UpdateRouteRequest { Route = changes, UpdateMask = FieldMask.FromString("description,priority"), ExpectedVersion = 1 }, cancellationToken: Timeout)).Route;

        Assert.Equal(("moved", 7, 2L), (updated.Description, updated.Priority, updated.Version));
        Assert.Equal(created.Match, updated.Match);
        Assert.Equal(created.Backends, updated.Backends);
        Assert.Equal(created.CreateTime, updated.CreateTime);
        Assert.Equal(updated, (await client.GetRouteAsync(new GetRouteRequest { RouteId = created.RouteId }, cancellationToken: Timeout)).Route);
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateRoute_FromAStaleVersion_FailsAborted_AndChangesNothing()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var created = await CreateAsync(client, HttpRoute(NewId(), "/v1/a"));
        await client.UpdateRouteAsync(new UpdateRouteRequest { Route = new Route { RouteId = created.RouteId, Priority = 1 }, UpdateMask = FieldMask.FromString("priority"), ExpectedVersion = 1 }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.Aborted, () => client.UpdateRouteAsync(new UpdateRouteRequest { Route = new Route { RouteId = created.RouteId, Priority = 9 }, UpdateMask = FieldMask.FromString("priority"), ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "version 2");

        Assert.Equal(1, (await client.GetRouteAsync(new GetRouteRequest { RouteId = created.RouteId }, cancellationToken: Timeout)).Route.Priority);
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateRoute_WithABadMaskVersionOrResult_FailsInvalidArgument_AndAnUnknownRouteNotFound()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var created = await CreateAsync(client, HttpRoute(NewId(), "/v1/a"));
        var other = await CreateAsync(client, HttpRoute(NewId(), "/v1/b"));
        Task Update(Route route, string mask, long version) => client.UpdateRouteAsync(new UpdateRouteRequest { Route = route, UpdateMask = mask.Length == 0 ? null : FieldMask.FromString(mask), ExpectedVersion = version }, cancellationToken: Timeout).AsTask();

        Assert.Equal(["update_mask"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Update(new Route { RouteId = created.RouteId }, "", 1))));
        Assert.Equal(["update_mask"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Update(new Route { RouteId = created.RouteId }, "version", 1))));
        Assert.Equal(["update_mask"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Update(new Route { RouteId = created.RouteId }, "route_id", 1))));
        Assert.Equal(["expected_version"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Update(new Route { RouteId = created.RouteId, Priority = 1 }, "priority", 0))));
        Assert.Equal(["route.backends"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Update(new Route { RouteId = created.RouteId }, "backends", 1))));
        await FailsAsync(StatusCode.AlreadyExists, () => Update(new Route { RouteId = created.RouteId, Match = other.Match }, "match", 1), other.RouteId);
        await FailsAsync(StatusCode.NotFound, () => Update(new Route { RouteId = "no-such-route", Priority = 1 }, "priority", 1), "no-such-route");
    }

    // ---- SetBackendWeights ----

    [Fact(Timeout = 60_000)]
    public async Task SetBackendWeights_ChangesTheListedWeights_KeepsTheOthers_AndRecordsWho()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var created = await CreateAsync(client, HttpRoute(NewId(), "/v1/a", "", Legacy(90), Nats(10), Nats(0, "nats-v2", "2.0.0")));

        var set = (await client.SetBackendWeightsAsync(new SetBackendWeightsRequest
        {
            RouteId = created.RouteId,
            ExpectedVersion = 1,
            UpdatedBy = "ops-alice",
            Weights = { new BackendWeight { BackendId = "legacy", Weight = 80 }, new BackendWeight { BackendId = "nats", Weight = 20 } },
        }, cancellationToken: Timeout)).Route;

        Assert.Equal([80u, 20u, 0u], set.Backends.Select(b => b.Weight));
        Assert.Equal((2L, "ops-alice"), (set.Version, set.UpdatedBy));
        Assert.Equal(created.Backends.Select(b => (b.BackendId, b.Target, b.Version)), set.Backends.Select(b => (b.BackendId, b.Target, b.Version)));
    }

    [Fact(Timeout = 60_000)]
    public async Task SetBackendWeights_RefusesStaleVersions_UnknownBackends_AndLeavingNoTraffic()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var created = await CreateAsync(client, HttpRoute(NewId(), "/v1/a", "", Legacy(100), Nats(0)));
        Task Set(long version, params (string Id, uint Weight)[] weights)
        {
            var request = new SetBackendWeightsRequest { RouteId = created.RouteId, ExpectedVersion = version };
            request.Weights.AddRange(weights.Select(w => new BackendWeight { BackendId = w.Id, Weight = w.Weight }));
            return client.SetBackendWeightsAsync(request, cancellationToken: Timeout).AsTask();
        }

        await FailsAsync(StatusCode.Aborted, () => Set(7, ("nats", 10)), "version 1");
        await FailsAsync(StatusCode.NotFound, () => Set(1, ("nats-v9", 10)), "nats-v9");
        await FailsAsync(StatusCode.FailedPrecondition, () => Set(1, ("legacy", 0)), "no backend");
        Assert.Equal(["weights[0].weight"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Set(1, ("nats", 10_001)))));
        Assert.Equal(["weights[1].backend_id"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Set(1, ("nats", 1), ("nats", 2)))));
        Assert.Equal(["weights"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Set(1))));
        Assert.Equal(["expected_version"], ViolatedFields(await FailsAsync(StatusCode.InvalidArgument, () => Set(0, ("nats", 1)))));
        await FailsAsync(StatusCode.NotFound, () => client.SetBackendWeightsAsync(new SetBackendWeightsRequest { RouteId = "no-such-route", ExpectedVersion = 1, Weights = { new BackendWeight { BackendId = "nats", Weight = 1 } } }, cancellationToken: Timeout).AsTask());

        Assert.Equal(1, (await client.GetRouteAsync(new GetRouteRequest { RouteId = created.RouteId }, cancellationToken: Timeout)).Route.Version);
    }

    // ---- DeleteRoute ----

    [Fact(Timeout = 60_000)]
    public async Task DeleteRoute_IsIdempotent_UnlessAVersionIsExpected()
    {
        var (deployment, client) = await StartAsync();
        await using var _ = deployment;
        var created = await CreateAsync(client, HttpRoute(NewId(), "/v1/a"));

        await FailsAsync(StatusCode.Aborted, () => client.DeleteRouteAsync(new DeleteRouteRequest { RouteId = created.RouteId, ExpectedVersion = 2 }, cancellationToken: Timeout).AsTask(), "version 1");
        var deleted = await client.DeleteRouteAsync(new DeleteRouteRequest { RouteId = created.RouteId, ExpectedVersion = 1 }, cancellationToken: Timeout);
        var again = await client.DeleteRouteAsync(new DeleteRouteRequest { RouteId = created.RouteId }, cancellationToken: Timeout);

        Assert.True(deleted.Deleted);
        Assert.False(again.Deleted);
        await FailsAsync(StatusCode.NotFound, () => client.DeleteRouteAsync(new DeleteRouteRequest { RouteId = created.RouteId, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => client.GetRouteAsync(new GetRouteRequest { RouteId = created.RouteId }, cancellationToken: Timeout).AsTask());
        var recreated = await CreateAsync(client, HttpRoute(created.RouteId, "/v1/a"));
        Assert.Equal(1, recreated.Version);
    }

    // ---- Access ----

    [Fact(Timeout = 30_000)]
    public async Task Writes_ByACallerWithoutTheAdminScope_FailPermissionDenied_WhileReadsPass()
    {
        await using var connection = await nats.ConnectAsync("router-access");
        await using var invoker = new GameSystem.Mesh.Nats.NatsMeshClient(connection, GameSystem.Mesh.Nats.MeshClientOptions.Default);
        await using var service = new RouterService(await CreateStoreAsync(), new GameSystem.Events.EventOutbox("router"), new GameSystem.EventBus.V1.EventBusServiceClient(invoker), Microsoft.Extensions.Options.Options.Create(RouterOptions.Default), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<RouterService>.Instance);
        var route = HttpRoute(NewId(), "/v1/a");
        route.UpdatedBy = "";
        var player = TestCallContext.As("player-1", Timeout, "quests.read");
        var admin = TestCallContext.As("ops-alice", Timeout, "router.*");

        var created = await service.CreateRouteAsync(new CreateRouteRequest { RequestId = "r-1", Route = route }, admin);
        var error = await Assert.ThrowsAsync<RpcException>(() => service.SetBackendWeightsAsync(new SetBackendWeightsRequest { RouteId = created.Route.RouteId, ExpectedVersion = 1, Weights = { new BackendWeight { BackendId = "nats", Weight = 5 } } }, player).AsTask());
        var read = await service.GetRouteAsync(new GetRouteRequest { RouteId = created.Route.RouteId }, player);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("router.admin", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("ops-alice", read.Route.UpdatedBy);
        Assert.Equal(1, read.Route.Version);
    }
}
