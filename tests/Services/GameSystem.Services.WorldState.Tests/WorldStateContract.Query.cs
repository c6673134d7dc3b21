using GameSystem.Common.V1;
using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>QueryRegion: filters on the kind and tag indexes, properties, a sphere ordered by distance, and pages read at one region version.</summary>
public abstract partial class WorldStateContract
{
    [Fact(Timeout = 120_000)]
    public async Task QueryRegion_FiltersByKindTagsPropertiesAndDistance_AndPagesGiveTheWholeAnswerOnce()
    {
        await using var harness = await StartAsync();
        var (region, entities) = await SeedAsync(harness, 45);

        foreach (var kind in Kinds)
        {
            var expected = entities.Where(e => e.Kind == kind).Select(e => e.EntityId).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expected, await AllPagesAsync(harness, new QueryRegionRequest { RegionId = region.RegionId, Kinds = { kind }, EntitiesOnly = true }, pageSize: 4));
        }

        var hostileNpcs = new QueryRegionRequest { RegionId = region.RegionId, Kinds = { "npc", "chest" }, Tags = { "hostile" }, PropertyEquals = { ["hostile"] = Flag(true) } };
        Assert.Equal(
            entities.Where(e => e.Kind is "npc" or "chest" && e.Tags.Contains("hostile") && e.Properties.TryGetValue("hostile", out var h) && h.BoolValue).Select(e => e.EntityId).Order(StringComparer.Ordinal),
            await AllPagesAsync(harness, hostileNpcs, pageSize: 3));

        var center = new Vector3 { X = 0, Y = 0, Z = 0 };
        var nearby = new QueryRegionRequest { RegionId = region.RegionId, Within = new Sphere { Center = center, RadiusMeters = 250 } };
        var byDistance = entities
            .Select(e => (e.EntityId, Distance: Math.Sqrt((e.Position.X * e.Position.X) + (e.Position.Z * e.Position.Z))))
            .Where(e => e.Distance <= 250)
            .OrderBy(e => e.Distance).ThenBy(e => e.EntityId, StringComparer.Ordinal)
            .Select(e => e.EntityId).ToList();
        Assert.NotEmpty(byDistance);
        Assert.Equal(byDistance, await AllPagesAsync(harness, nearby, pageSize: 5));

        var all = await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, PageSize = 1000 }, cancellationToken: Timeout);
        Assert.Equal((46L, region.RegionId, 45), (all.RegionVersion, all.Region.RegionId, all.Entities.Count));
        Assert.Empty(all.NextPageToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryRegion_NextPageAfterTheRegionChanged_IsAborted_AndBadFiltersAreInvalid()
    {
        await using var harness = await StartAsync();
        var (region, entities) = await SeedAsync(harness, 6);
        var first = await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, PageSize = 2 }, cancellationToken: Timeout);
        Assert.Equal(7, first.RegionVersion);
        await ApplyAsync(harness.Client, Event(region.RegionId, "chest.opened", SetProperty(entities[0].EntityId, "opened_by", Text("players/acc-1"))));
        await FailsAsync(StatusCode.Aborted, () => harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Timeout).AsTask(), "version 7", "now 8");

        var bad = new QueryRegionRequest
        {
            RegionId = region.RegionId,
            Kinds = { "NPC" },
            Tags = { "a tag" },
            PropertyEquals = { ["hp"] = new TypedValue() },
            Within = new Sphere { Center = new Vector3(), RadiusMeters = 0 },
        };
        Assert.Equal(["kinds[0]", "tags[0]", "property_equals[hp]", "within.radius_meters"], await ViolationsOfAsync(() => harness.Client.QueryRegionAsync(bad, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["page_size"], await ViolationsOfAsync(() => harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, PageSize = -3 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["page_size"], await ViolationsOfAsync(() => harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, PageSize = 1001 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["page_token"], await ViolationsOfAsync(() => harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, PageToken = "bm9wZQ==" }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["region_id"], await ViolationsOfAsync(() => harness.Client.QueryRegionAsync(new QueryRegionRequest(), cancellationToken: Timeout).AsTask()));
        await FailsAsync(StatusCode.NotFound, () => harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = "atlantis" }, cancellationToken: Timeout).AsTask(), "atlantis");
    }

    /// <summary>The entity ids of every page of <paramref name="request"/>, asserting each page keeps to its size and version.</summary>
    private static async Task<List<string>> AllPagesAsync(WorldStateHarness harness, QueryRegionRequest request, int pageSize)
    {
        var ids = new List<string>();
        var page = request.Clone();
        page.PageSize = pageSize;
        long? version = null;
        do
        {
            var response = await harness.Client.QueryRegionAsync(page, cancellationToken: Timeout);
            Assert.True(response.Entities.Count <= pageSize);
            Assert.Equal(version ?? response.RegionVersion, response.RegionVersion);
            version = response.RegionVersion;
            ids.AddRange(response.Entities.Select(e => e.EntityId));
            page.PageToken = response.NextPageToken;
        }
        while (page.PageToken.Length > 0);
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        return ids;
    }
}
