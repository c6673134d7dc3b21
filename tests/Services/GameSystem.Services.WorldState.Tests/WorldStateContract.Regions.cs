using GameSystem.Common.V1;
using GameSystem.WorldState.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>Regions: creation with a request id, the directory of ids across worlds, listing on indexes, masked updates, deletion.</summary>
public abstract partial class WorldStateContract
{
    [Fact(Timeout = 60_000)]
    public async Task CreateRegion_IsVersionOne_AndARetryReturnsTheFirstResult_WhileAnotherRequestForTheIdIsAlreadyExists()
    {
        await using var harness = await StartAsync();
        var world = NewWorld();
        var region = NewRegion(world);
        var request = new CreateRegionRequest { Region = region, RequestId = NewRequestId() };

        var created = (await harness.BuilderClient.CreateRegionAsync(request, cancellationToken: Timeout)).Region;
        Assert.Equal((region.RegionId, world, 1L), (created.RegionId, created.WorldId, created.Version));
        Assert.Equal(region.Properties, created.Properties);
        Assert.NotNull(created.CreateTime);
        Assert.Equal(created, await RegionAsync(harness.Client, region.RegionId));

        var retry = (await harness.BuilderClient.CreateRegionAsync(request, cancellationToken: Timeout)).Region;
        Assert.Equal(created, retry);

        await FailsAsync(StatusCode.AlreadyExists, () => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = region, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), region.RegionId);
        var other = region.Clone();
        other.DisplayName = "Somewhere else";
        var reused = await FailsAsync(StatusCode.InvalidArgument, () => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = other, RequestId = request.RequestId }, cancellationToken: Timeout).AsTask(), "already used");
        Assert.Equal(["request_id"], Violations(reused));

        // Region ids are unique across worlds.
        var elsewhere = region.Clone();
        elsewhere.WorldId = NewWorld();
        await FailsAsync(StatusCode.AlreadyExists, () => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = elsewhere, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), world);
        Assert.Equal(1, (await RegionAsync(harness.Client, region.RegionId)).Version);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateRegion_WithBadInput_NamesEveryFieldAtFault_AndCreatesNothing()
    {
        await using var harness = await StartAsync();
        var bad = NewRegion("", regionId: "Market Square!");
        bad.Properties["mystery"] = new TypedValue();
        bad.Properties["bad key"] = Int(1);
        bad.Bounds = new Bounds { Min = new Vector3 { X = 10 }, Max = new Vector3 { X = -10 } };
        bad.Tags.Add(new string('t', 65));

        var fields = await ViolationsOfAsync(() => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = bad, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["region.region_id", "region.world_id", "region.bounds", "region.properties[mystery]", "region.properties[bad key]", "region.tags[1]"], fields);

        Assert.Equal(["region"], await ViolationsOfAsync(() => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["request_id"], await ViolationsOfAsync(() => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = NewRegion(NewWorld()) }, cancellationToken: Timeout).AsTask()));
        var tooLong = NewRegion(NewWorld(), regionId: new string('a', 129));
        var error = await FailsAsync(StatusCode.InvalidArgument, () => harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = tooLong, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), "got 129 characters");
        Assert.Equal(["region.region_id"], Violations(error));

        var orphan = NewRegion(NewWorld(), parent: "no-such-parent");
        await FailsAsync(StatusCode.FailedPrecondition, () => CreateRegionAsync(harness, orphan), "no-such-parent");
        await FailsAsync(StatusCode.NotFound, () => RegionAsync(harness.Client, orphan.RegionId));

        // A refused creation leaves the id free, for any world.
        var free = orphan.Clone();
        free.ParentRegionId = "";
        free.WorldId = NewWorld();
        Assert.Equal(1, (await CreateRegionAsync(harness, free)).Version);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListRegions_PagesAWorldInIdOrder_AndFiltersByParentAndTag()
    {
        await using var harness = await StartAsync();
        var world = NewWorld();
        var county = await CreateRegionAsync(harness, NewRegion(world, "aldermere"));
        var children = new List<Region>();
        for (var i = 0; i < 5; i++)
        {
            var child = NewRegion(world, NewRegionId("aldermere"), county.RegionId);
            child.Tags.Clear();
            child.Tags.Add(i % 2 == 0 ? "town" : "forest");
            children.Add(await CreateRegionAsync(harness, child));
        }

        var elsewhere = await CreateRegionAsync(harness, NewRegion(NewWorld()));

        var all = new List<string>();
        var request = new ListRegionsRequest { WorldId = world, PageSize = 2 };
        do
        {
            var page = await harness.Client.ListRegionsAsync(request, cancellationToken: Timeout);
            Assert.True(page.Regions.Count <= 2);
            all.AddRange(page.Regions.Select(r => r.RegionId));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        Assert.Equal([.. children.Select(c => c.RegionId).Append(county.RegionId).Order(StringComparer.Ordinal)], all);

        var towns = await harness.Client.ListRegionsAsync(new ListRegionsRequest { ParentRegionId = county.RegionId, Tag = "town" }, cancellationToken: Timeout);
        Assert.Equal(children.Where(c => c.Tags.Contains("town")).Select(c => c.RegionId).Order(StringComparer.Ordinal), towns.Regions.Select(r => r.RegionId));

        var everywhere = await harness.Client.ListRegionsAsync(new ListRegionsRequest { PageSize = 500 }, cancellationToken: Timeout);
        Assert.Contains(everywhere.Regions, r => r.RegionId == elsewhere.RegionId);
        Assert.Equal(7, everywhere.Regions.Count);

        Assert.Equal(["page_size"], await ViolationsOfAsync(() => harness.Client.ListRegionsAsync(new ListRegionsRequest { PageSize = -1 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["page_size"], await ViolationsOfAsync(() => harness.Client.ListRegionsAsync(new ListRegionsRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["page_token"], await ViolationsOfAsync(() => harness.Client.ListRegionsAsync(new ListRegionsRequest { PageToken = "not-a-token" }, cancellationToken: Timeout).AsTask()));
        var first = await harness.Client.ListRegionsAsync(new ListRegionsRequest { WorldId = world, PageSize = 1 }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.ListRegionsAsync(new ListRegionsRequest { WorldId = world, Tag = "town", PageToken = first.NextPageToken }, cancellationToken: Timeout).AsTask(), "other filters");
        Assert.Equal(["world_id", "tag"], await ViolationsOfAsync(() => harness.Client.ListRegionsAsync(new ListRegionsRequest { WorldId = "bad world", Tag = "#" }, cancellationToken: Timeout).AsTask()));
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateRegion_ChangesWhatTheMaskNames_AndAStaleExpectedVersionChangesNothing()
    {
        await using var harness = await StartAsync();
        var region = await CreateRegionAsync(harness, NewRegion(NewWorld()));
        var changes = new Region { RegionId = region.RegionId, DisplayName = "Aldermere Market", Properties = { ["gate_open"] = Flag(true), ["curfew"] = Int(22) } };

        var updated = (await harness.BuilderClient.UpdateRegionAsync(new UpdateRegionRequest
        {
            Region = changes,
            UpdateMask = new FieldMask { Paths = { "display_name", "properties.gate_open", "properties.curfew", "properties.climate" } },
            ExpectedVersion = 1,
        }, cancellationToken: Timeout)).Region;
        Assert.Equal((2L, "Aldermere Market"), (updated.Version, updated.DisplayName));
        Assert.Equal(Flag(true), updated.Properties["gate_open"]);
        Assert.Equal(Int(22), updated.Properties["curfew"]);
        Assert.False(updated.Properties.ContainsKey("climate"), "a masked key absent from the request is removed");
        Assert.Equal(region.Properties["danger_level"], updated.Properties["danger_level"]);
        Assert.Equal(region.WorldId, updated.WorldId);

        var stale = new UpdateRegionRequest { Region = new Region { RegionId = region.RegionId, DisplayName = "Lost write" }, UpdateMask = new FieldMask { Paths = { "display_name" } }, ExpectedVersion = 1 };
        await FailsAsync(StatusCode.FailedPrecondition, () => harness.BuilderClient.UpdateRegionAsync(stale, cancellationToken: Timeout).AsTask(), "version 2", "expected_version 1");
        Assert.Equal(updated, await RegionAsync(harness.Client, region.RegionId));

        Assert.Equal(["update_mask"], await ViolationsOfAsync(() => harness.BuilderClient.UpdateRegionAsync(new UpdateRegionRequest { Region = new Region { RegionId = region.RegionId } }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["update_mask.paths[0]", "update_mask.paths[1]"], await ViolationsOfAsync(() => harness.BuilderClient.UpdateRegionAsync(new UpdateRegionRequest { Region = new Region { RegionId = region.RegionId }, UpdateMask = new FieldMask { Paths = { "world_id", "version" } } }, cancellationToken: Timeout).AsTask()));
        await FailsAsync(StatusCode.NotFound, () => harness.BuilderClient.UpdateRegionAsync(new UpdateRegionRequest { Region = new Region { RegionId = "nowhere" }, UpdateMask = new FieldMask { Paths = { "display_name" } } }, cancellationToken: Timeout).AsTask(), "nowhere");
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateRegion_MovesARegionUnderAnother_ButNeverIntoItsOwnSubtree()
    {
        await using var harness = await StartAsync();
        var world = NewWorld();
        var county = await CreateRegionAsync(harness, NewRegion(world));
        var town = await CreateRegionAsync(harness, NewRegion(world, NewRegionId(county.RegionId), county.RegionId));
        var district = await CreateRegionAsync(harness, NewRegion(world, NewRegionId(town.RegionId), town.RegionId));
        var mask = new FieldMask { Paths = { "parent_region_id" } };

        await FailsAsync(StatusCode.FailedPrecondition, () => harness.BuilderClient.UpdateRegionAsync(new UpdateRegionRequest { Region = new Region { RegionId = county.RegionId, ParentRegionId = district.RegionId }, UpdateMask = mask }, cancellationToken: Timeout).AsTask(), "inside");
        var moved = (await harness.BuilderClient.UpdateRegionAsync(new UpdateRegionRequest { Region = new Region { RegionId = district.RegionId, ParentRegionId = county.RegionId }, UpdateMask = mask }, cancellationToken: Timeout)).Region;
        Assert.Equal(county.RegionId, moved.ParentRegionId);
        var children = await harness.Client.ListRegionsAsync(new ListRegionsRequest { ParentRegionId = county.RegionId }, cancellationToken: Timeout);
        Assert.Equal(new[] { town.RegionId, district.RegionId }.Order(StringComparer.Ordinal), children.Regions.Select(r => r.RegionId));

        // The town has no child left, so it can go; the county still has two.
        await harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = town.RegionId }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.FailedPrecondition, () => harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = county.RegionId, Force = true }, cancellationToken: Timeout).AsTask(), "1 child region");
    }

    [Fact(Timeout = 120_000)]
    public async Task DeleteRegion_WithEntities_NeedsForce_WhichDeletesThemInSteps_AndFreesTheId()
    {
        await using var harness = await StartAsync();
        var (region, entities) = await SeedAsync(harness, WorldStateService.DeleteBatchSize + 20);

        await FailsAsync(StatusCode.FailedPrecondition, () => harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = region.RegionId }, cancellationToken: Timeout).AsTask(), $"holds {entities.Count} entities", "force");
        await FailsAsync(StatusCode.FailedPrecondition, () => harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = region.RegionId, Force = true, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "expected_version 1");
        var current = await RegionAsync(harness.Client, region.RegionId);
        Assert.Equal(1 + entities.Count, current.Version);

        var deleted = await harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = region.RegionId, Force = true, ExpectedVersion = current.Version }, cancellationToken: Timeout);
        Assert.Equal(entities.Count, deleted.DeletedEntityCount);
        await FailsAsync(StatusCode.NotFound, () => RegionAsync(harness.Client, region.RegionId));
        await FailsAsync(StatusCode.NotFound, () => EntityAsync(harness.Client, region.RegionId, entities[0].EntityId));
        await FailsAsync(StatusCode.NotFound, () => harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = region.RegionId }, cancellationToken: Timeout).AsTask());
        Assert.Equal(0, (await harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = region.RegionId, AllowMissing = true }, cancellationToken: Timeout)).DeletedEntityCount);

        // The id is free again, in any world; the new region starts at version 1 and is empty.
        var again = NewRegion(NewWorld(), region.RegionId);
        Assert.Equal(1, (await CreateRegionAsync(harness, again)).Version);
        Assert.Empty((await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId }, cancellationToken: Timeout)).Entities);
    }
}
