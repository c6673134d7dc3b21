using GameSystem.Common.V1;
using GameSystem.WorldState.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>Direct entity writes: request ids, ids unique within a world, expected versions under concurrency, field masks.</summary>
public abstract partial class WorldStateContract
{
    [Fact(Timeout = 60_000)]
    public async Task CreateEntity_MovesTheRegionOn_AndARetryCreatesNothingTwice()
    {
        await using var harness = await StartAsync();
        var (region, _) = await SeedAsync(harness, 0);
        var chest = NewEntity("chest");
        var request = new CreateEntityRequest { RegionId = region.RegionId, Entity = chest, RequestId = NewRequestId() };

        var created = await harness.Client.CreateEntityAsync(request, cancellationToken: Timeout);
        Assert.Equal((region.RegionId, 1L, 2L), (created.Entity.RegionId, created.Entity.Version, created.RegionVersion));
        Assert.Equal(chest.Properties, created.Entity.Properties);
        Assert.Equal(created.Entity, await EntityAsync(harness.Client, region.RegionId, chest.EntityId));

        Assert.Equal(created, await harness.Client.CreateEntityAsync(request, cancellationToken: Timeout));
        Assert.Equal(2, (await RegionAsync(harness.Client, region.RegionId)).Version);
        await FailsAsync(StatusCode.AlreadyExists, () => harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = region.RegionId, Entity = chest, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), chest.EntityId);

        // Entity ids are unique within the world, across its regions.
        var hall = await CreateRegionAsync(harness, NewRegion(region.WorldId));
        await FailsAsync(StatusCode.AlreadyExists, () => harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = hall.RegionId, Entity = chest, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), region.RegionId);
        await FailsAsync(StatusCode.NotFound, () => EntityAsync(harness.Client, hall.RegionId, chest.EntityId), $"it is in region '{region.RegionId}'");

        // The events of the creation were recorded once, with the change.
        var events = await harness.EventsAsync(region.WorldId, Timeout);
        Assert.Equal(["world.region.changed", "world.region.changed", "world.entity.changed", "world.region.changed"], events.Select(e => e.Type));
        var entityChanged = EntityChanged.Parser.ParseFrom(events[2].Payload);
        Assert.Equal(("entities/" + chest.EntityId, created.Entity), (events[2].Subject, entityChanged.Entity));
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateEntity_WithBadInput_NamesEveryFieldAtFault()
    {
        await using var harness = await StartAsync();
        var (region, _) = await SeedAsync(harness, 0);
        var bad = NewEntity("npc");
        bad.EntityId = "";
        bad.Kind = "NPC!";
        bad.Position = new Vector3 { X = double.NaN };
        bad.Properties["hp"] = new TypedValue();
        bad.Properties["portrait"] = new TypedValue { BytesValue = Google.Protobuf.ByteString.CopyFrom(new byte[(64 * 1024) + 1]) };

        var fields = await ViolationsOfAsync(() => harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = region.RegionId, Entity = bad, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["entity.entity_id", "entity.kind", "entity.position", "entity.properties[hp]", "entity.properties[portrait]"], fields);
        Assert.Equal(["region_id"], await ViolationsOfAsync(() => harness.Client.CreateEntityAsync(new CreateEntityRequest { Entity = NewEntity(), RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["entity"], await ViolationsOfAsync(() => harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = region.RegionId, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["request_id"], await ViolationsOfAsync(() => harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = region.RegionId, Entity = NewEntity() }, cancellationToken: Timeout).AsTask()));
        await FailsAsync(StatusCode.NotFound, () => harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = "no-such-region", Entity = NewEntity(), RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), "no-such-region");
        Assert.Equal(1, (await RegionAsync(harness.Client, region.RegionId)).Version);
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateEntity_OfConcurrentWritersOnOneVersion_AppliesExactlyOne_AndTheOthersFailPrecondition()
    {
        await using var harness = await StartAsync(instances: 2);
        var (region, _) = await SeedAsync(harness, 0);
        var npc = await CreateEntityAsync(harness, region.RegionId, NewEntity("npc"));
        var mask = new FieldMask { Paths = { "properties.mood", "display_name" } };

        var writers = Enumerable.Range(0, 12).Select(i => harness.ClientAs(harness.Game, i % 2).UpdateEntityAsync(new UpdateEntityRequest
        {
            RegionId = region.RegionId,
            Entity = new Entity { EntityId = npc.EntityId, DisplayName = $"Writer {i}", Properties = { ["mood"] = Text($"mood-{i}") } },
            UpdateMask = mask,
            ExpectedVersion = npc.Version,
        }, cancellationToken: Timeout).AsTask()).ToList();
        var outcomes = await Task.WhenAll(writers.Select(async w => await Record.ExceptionAsync(() => w)));

        Assert.Single(outcomes, e => e is null);
        Assert.All(outcomes.Where(e => e is not null), e => Assert.Equal(StatusCode.FailedPrecondition, Assert.IsType<RpcException>(e).StatusCode));
        var winner = (await writers.Single(w => w.IsCompletedSuccessfully)).Entity;
        var stored = await EntityAsync(harness.Client, region.RegionId, npc.EntityId);
        Assert.Equal((2L, winner.DisplayName), (stored.Version, stored.DisplayName));
        Assert.Equal(winner.DisplayName.Replace("Writer ", "mood-", StringComparison.Ordinal), stored.Properties["mood"].StringValue);
        Assert.Equal(npc.Properties["hp"], stored.Properties["hp"]);
        Assert.Equal(3, (await RegionAsync(harness.Client, region.RegionId)).Version);
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateEntity_RefusesMasksItCannotWrite_AndDeleteEntityHonoursVersionsAndAllowMissing()
    {
        await using var harness = await StartAsync();
        var (region, entities) = await SeedAsync(harness, 2);
        var (door, lever) = (entities[0], entities[1]);

        Assert.Equal(["update_mask.paths[0]", "update_mask.paths[1]"], await ViolationsOfAsync(() => harness.Client.UpdateEntityAsync(new UpdateEntityRequest { RegionId = region.RegionId, Entity = new Entity { EntityId = door.EntityId }, UpdateMask = new FieldMask { Paths = { "region_id", "colour" } } }, cancellationToken: Timeout).AsTask()));
        Assert.Equal(["entity.properties[hp]"], await ViolationsOfAsync(() => harness.Client.UpdateEntityAsync(new UpdateEntityRequest { RegionId = region.RegionId, Entity = new Entity { EntityId = door.EntityId, Properties = { ["hp"] = new TypedValue() } }, UpdateMask = new FieldMask { Paths = { "properties.hp" } } }, cancellationToken: Timeout).AsTask()));
        var retag = new UpdateEntityRequest { RegionId = region.RegionId, Entity = new Entity { EntityId = door.EntityId, Tags = { "hidden", "quest-item" } }, UpdateMask = new FieldMask { Paths = { "tags" } } };
        var retagged = await harness.Client.UpdateEntityAsync(retag, cancellationToken: Timeout);
        Assert.Equal((2L, 4L), (retagged.Entity.Version, retagged.RegionVersion));

        // A retried update finds nothing to change and writes nothing: no new version.
        Assert.Equal(retagged, await harness.Client.UpdateEntityAsync(retag, cancellationToken: Timeout));

        await FailsAsync(StatusCode.FailedPrecondition, () => harness.Client.DeleteEntityAsync(new DeleteEntityRequest { RegionId = region.RegionId, EntityId = door.EntityId, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "version 2");
        var deleted = await harness.Client.DeleteEntityAsync(new DeleteEntityRequest { RegionId = region.RegionId, EntityId = door.EntityId, ExpectedVersion = 2 }, cancellationToken: Timeout);
        Assert.Equal(5, deleted.RegionVersion);
        await FailsAsync(StatusCode.NotFound, () => harness.Client.DeleteEntityAsync(new DeleteEntityRequest { RegionId = region.RegionId, EntityId = door.EntityId }, cancellationToken: Timeout).AsTask(), door.EntityId);
        Assert.Equal(5, (await harness.Client.DeleteEntityAsync(new DeleteEntityRequest { RegionId = region.RegionId, EntityId = door.EntityId, AllowMissing = true }, cancellationToken: Timeout)).RegionVersion);
        var left = await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId }, cancellationToken: Timeout);
        Assert.Equal([lever.EntityId], left.Entities.Select(e => e.EntityId));
        Assert.DoesNotContain(door.EntityId, (await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = region.RegionId, Tags = { "hidden" } }, cancellationToken: Timeout)).Entities.Select(e => e.EntityId));
    }

    [Fact(Timeout = 60_000)]
    public async Task ARegion_HoldsAtMostMaxEntities_AndAnEntityAtMostItsByteLimit_ThenResourceExhaustedWritesNothing()
    {
        await using var harness = await StartAsync(options: WorldStateOptions.Default with { MaxEntitiesPerRegion = 3 });
        var (region, entities) = await SeedAsync(harness, 3);
        await FailsAsync(StatusCode.ResourceExhausted, () => CreateEntityAsync(harness, region.RegionId, NewEntity("chest")), "already holds 3 entities");
        var spawn = Event(region.RegionId, "loot.spawned", new Mutation { CreateEntity = new CreateEntityMutation { Entity = NewEntity("chest") } });
        await FailsAsync(StatusCode.ResourceExhausted, () => ApplyAsync(harness.Client, spawn), "MaxEntitiesPerRegion");
        Assert.Equal(4, (await RegionAsync(harness.Client, region.RegionId)).Version);

        // Blobs of 60 KB each: the fifth would pass the 256 KiB an entity may take.
        var blob = new TypedValue { BytesValue = Google.Protobuf.ByteString.CopyFrom(_faker.Random.Bytes(60_000)) };
        for (var i = 0; i < 4; i++)
        {
            await harness.Client.UpdateEntityAsync(new UpdateEntityRequest { RegionId = region.RegionId, Entity = new Entity { EntityId = entities[0].EntityId, Properties = { [$"blob{i}"] = blob } }, UpdateMask = new FieldMask { Paths = { $"properties.blob{i}" } } }, cancellationToken: Timeout);
        }

        await FailsAsync(StatusCode.ResourceExhausted, () => harness.Client.UpdateEntityAsync(new UpdateEntityRequest { RegionId = region.RegionId, Entity = new Entity { EntityId = entities[0].EntityId, Properties = { ["blob4"] = blob } }, UpdateMask = new FieldMask { Paths = { "properties.blob4" } } }, cancellationToken: Timeout).AsTask(), entities[0].EntityId, "bytes");
        Assert.Equal(5, (await EntityAsync(harness.Client, region.RegionId, entities[0].EntityId)).Version);
    }
}
