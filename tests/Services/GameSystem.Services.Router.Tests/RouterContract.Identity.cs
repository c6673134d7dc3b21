using GameSystem.Router.V1;
using GameSystem.Services.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Router.Tests;

/// <summary>Who may call what, behind the runtime's identity interceptor, with tokens the real auth issued.</summary>
public abstract partial class RouterContract
{
    /// <summary>Reads WatchRoutes up to the end of its initial snapshot and returns the routes in it.</summary>
    private static async Task<List<Route>> SnapshotAsync(RouterServiceClient client)
    {
        var routes = new List<Route>();
        await foreach (var change in client.WatchRoutesAsync(new WatchRoutesRequest { SendInitial = true }, cancellationToken: Timeout))
        {
            if (change.InitialSnapshotComplete)
            {
                return routes;
            }

            routes.Add(change.Route);
        }

        throw new InvalidOperationException("WatchRoutes ended before its initial snapshot was complete.");
    }

    /// <summary>Every write of the table, on <paramref name="route"/> (at version 1), each failing with <paramref name="code"/> and naming <paramref name="mentions"/>.</summary>
    private static async Task EveryWriteFailsAsync(RouterServiceClient client, Route route, StatusCode code, params string[] mentions)
    {
        await FailsAsync(code, () => client.CreateRouteAsync(new CreateRouteRequest { RequestId = Guid.NewGuid().ToString(), Route = HttpRoute(NewId(), "/v1/elsewhere") }, cancellationToken: Timeout).AsTask(), ["CreateRoute", .. mentions]);
        await FailsAsync(code, () => client.UpdateRouteAsync(new UpdateRouteRequest { Route = new Route { RouteId = route.RouteId, Disabled = true }, UpdateMask = new FieldMask { Paths = { "disabled" } }, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), ["UpdateRoute", .. mentions]);
        await FailsAsync(code, () => client.SetBackendWeightsAsync(new SetBackendWeightsRequest { RouteId = route.RouteId, ExpectedVersion = 1, Weights = { new BackendWeight { BackendId = "nats", Weight = 100 } } }, cancellationToken: Timeout).AsTask(), ["SetBackendWeights", .. mentions]);
        await FailsAsync(code, () => client.DeleteRouteAsync(new DeleteRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout).AsTask(), ["DeleteRoute", .. mentions]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Calls_WithoutAToken_AreUnauthenticated()
    {
        var (deployment, router) = await StartInstanceAsync();
        await using var _ = deployment;
        var route = await CreateAsync(router.Client, HttpRoute(NewId(), "/v1/quests", "GET"));
        var anonymous = router.ClientAs(TestCaller.Anonymous);

        await EveryWriteFailsAsync(anonymous, route, StatusCode.Unauthenticated, "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.GetRouteAsync(new GetRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout).AsTask(), "GetRoute");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.ListRoutesAsync(new ListRoutesRequest(), cancellationToken: Timeout).AsTask(), "ListRoutes");
        await FailsAsync(StatusCode.Unauthenticated, () => ResolveAsync(anonymous, "GET", "/v1/quests"), "Resolve");
        await FailsAsync(StatusCode.Unauthenticated, () => SnapshotAsync(anonymous), "WatchRoutes");
    }

    [Fact(Timeout = 60_000)]
    public async Task Writes_WithAPlayersToken_ArePermissionDenied_NamingTheScopeAndTheCaller_WhileReadsPass()
    {
        var (deployment, router) = await StartInstanceAsync();
        await using var _ = deployment;
        var route = await CreateAsync(router.Client, HttpRoute(NewId(), "/v1/quests", "GET", Legacy(100), Nats(0)));
        var player = await deployment.Identity.PlayerAsync(Timeout);
        var client = router.ClientAs(player);

        await EveryWriteFailsAsync(client, route, StatusCode.PermissionDenied, "'router.admin'", player.Subject);

        Assert.Equal(route, (await client.GetRouteAsync(new GetRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout)).Route);
        Assert.Equal(new[] { route }, (await client.ListRoutesAsync(new ListRoutesRequest(), cancellationToken: Timeout)).Routes);
        Assert.Equal("legacy", (await ResolveAsync(client, "GET", "/v1/quests", player.Subject)).Backend.BackendId);
        Assert.Equal(new[] { route }, await SnapshotAsync(client));
    }

    [Fact(Timeout = 60_000)]
    public async Task AnOperatorWithTheAdminScope_ChangesTheTable_AndIsItsUpdatedByUnlessNamed()
    {
        var (deployment, router) = await StartInstanceAsync();
        await using var _ = deployment;
        var wildcard = router.ClientAs(await deployment.Identity.OperatorAsync("router.*", Timeout));
        var route = HttpRoute(NewId(), "/v1/quests", "GET");
        route.UpdatedBy = "";

        var created = await CreateAsync(router.Client, route);
        var weighted = (await wildcard.SetBackendWeightsAsync(new SetBackendWeightsRequest { RouteId = route.RouteId, ExpectedVersion = 1, UpdatedBy = "ops-alice", Weights = { new BackendWeight { BackendId = "nats", Weight = 10 } } }, cancellationToken: Timeout)).Route;
        var deleted = await wildcard.DeleteRouteAsync(new DeleteRouteRequest { RouteId = route.RouteId, ExpectedVersion = 2 }, cancellationToken: Timeout);

        Assert.Equal(deployment.Operator.Subject, created.UpdatedBy);
        Assert.Equal((2L, "ops-alice"), (weighted.Version, weighted.UpdatedBy));
        Assert.True(deleted.Deleted);
    }

    [Fact(Timeout = 60_000)]
    public async Task AServiceAccount_Resolves_AsTheGatewayDoes()
    {
        var (deployment, router) = await StartInstanceAsync();
        await using var _ = deployment;
        await CreateAsync(router.Client, HttpRoute("quests", "/v1/quests", "GET", Nats(100)));
        var gateway = await deployment.Identity.ServiceAsync("http-nats-gateway", Timeout);

        var resolved = await ResolveAsync(router.ClientAs(gateway), "GET", "/v1/quests");

        Assert.True(gateway.Principal!.IsService);
        Assert.Equal(("quests", "nats"), (resolved.RouteId, resolved.Backend.BackendId));
    }

    [Fact(Timeout = 60_000)]
    public async Task WithoutTheIdentityInterceptor_EveryMethodFailsClosed_WhateverTokenIsSent()
    {
        var (deployment, router) = await StartInstanceAsync();
        await using var _ = deployment;
        var route = await CreateAsync(router.Client, HttpRoute(NewId(), "/v1/quests", "GET"));

        // Served as a host with identity off serves it: the operator's token reaches the handler unverified.
        var unverified = (await deployment.AddInstanceAsync(TestOptions, verifyCallers: false, Timeout)).Client;

        await EveryWriteFailsAsync(unverified, route, StatusCode.Unauthenticated, "needs an access token with scope 'router.admin'", "no verified caller");
        await FailsAsync(StatusCode.Unauthenticated, () => unverified.GetRouteAsync(new GetRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout).AsTask(), "GetRoute needs an access token");
        await FailsAsync(StatusCode.Unauthenticated, () => ResolveAsync(unverified, "GET", "/v1/quests"), "Resolve needs an access token");
        await FailsAsync(StatusCode.Unauthenticated, () => SnapshotAsync(unverified), "WatchRoutes needs an access token");
        Assert.Equal(route, (await router.Client.GetRouteAsync(new GetRouteRequest { RouteId = route.RouteId }, cancellationToken: Timeout)).Route);
    }
}
