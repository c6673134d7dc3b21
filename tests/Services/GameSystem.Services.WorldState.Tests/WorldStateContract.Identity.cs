using GameSystem.Services.Testing;
using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>Who may call what, behind the runtime's identity interceptor, with tokens the real auth issued.</summary>
public abstract partial class WorldStateContract
{
    [Fact]
    public void TheContract_DeclaresTheAdminScopeOnRegionWrites_AndTheWriteScopeOnEntityWritesAndEvents()
    {
        var access = ContractAccess.Of(typeof(IWorldStateService));
        Assert.Equal(
            new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["ApplyWorldEvent"] = "authenticated world-state.write",
                ["CreateEntity"] = "authenticated world-state.write",
                ["CreateRegion"] = "authenticated world-state.admin",
                ["DeleteEntity"] = "authenticated world-state.write",
                ["DeleteRegion"] = "authenticated world-state.admin",
                ["GetEntity"] = "authenticated",
                ["GetRegion"] = "authenticated",
                ["GetWorldEvent"] = "authenticated",
                ["ListRegions"] = "authenticated",
                ["QueryRegion"] = "authenticated",
                ["UpdateEntity"] = "authenticated world-state.write",
                ["UpdateRegion"] = "authenticated world-state.admin",
                ["WatchRegion"] = "authenticated",
            },
            access);
    }

    [Fact(Timeout = 90_000)]
    public async Task APlayer_ReadsTheWorld_ButWritesNothing_AndAnonymousCallsAreUnauthenticated()
    {
        await using var harness = await StartAsync();
        var (region, entities) = await SeedAsync(harness, 1);
        var player = harness.ClientAs(await harness.Identity.PlayerAsync(Timeout));
        var anonymous = harness.ClientAs(TestCaller.Anonymous);

        Assert.Equal(region.RegionId, (await RegionAsync(player, region.RegionId)).RegionId);
        Assert.Single((await player.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId }, cancellationToken: Timeout)).Entities);
        await FailsAsync(StatusCode.PermissionDenied, () => player.CreateRegionAsync(new CreateRegionRequest { Region = NewRegion(region.WorldId), RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), "world-state.admin");
        await FailsAsync(StatusCode.PermissionDenied, () => ApplyAsync(player, Event(region.RegionId, "chest.looted", SetProperty(entities[0].EntityId, "gold", Int(999_999)))), "world-state.write");
        await FailsAsync(StatusCode.PermissionDenied, () => player.DeleteEntityAsync(new DeleteEntityRequest { RegionId = region.RegionId, EntityId = entities[0].EntityId }, cancellationToken: Timeout).AsTask(), "world-state.write");
        await FailsAsync(StatusCode.Unauthenticated, () => RegionAsync(anonymous, region.RegionId), "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => FirstAsyncAs(anonymous, new WatchRegionRequest { RegionId = region.RegionId }));

        // A world builder holds world-state.admin only: regions, not gameplay.
        await FailsAsync(StatusCode.PermissionDenied, () => ApplyAsync(harness.BuilderClient, Event(region.RegionId, "gate.opened", SetProperty("", "gate_open", Flag(true)))), "world-state.write", harness.Builder.Subject);
        Assert.Equal(2, (await RegionAsync(harness.Client, region.RegionId)).Version);
    }

    private static async Task FirstAsyncAs(WorldStateServiceClient client, WatchRegionRequest request)
    {
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        await using var stream = client.WatchRegionAsync(request, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);
        await stream.MoveNextAsync();
    }
}
