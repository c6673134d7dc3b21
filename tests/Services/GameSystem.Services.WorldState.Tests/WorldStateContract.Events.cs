using GameSystem.Common.V1;
using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>World events: all mutations or none, exactly once per event id, undo mutations, concurrent increments, moves between regions.</summary>
public abstract partial class WorldStateContract
{
    [Fact(Timeout = 60_000)]
    public async Task ApplyWorldEvent_AppliesEveryMutationInOneVersion_AndTheSameEventAgainChangesNothingAndReturnsTheFirstResult()
    {
        await using var harness = await StartAsync();
        var (region, _) = await SeedAsync(harness, 0);
        var gate = await CreateEntityAsync(harness, region.RegionId, NewEntity("door"));
        var guard = await CreateEntityAsync(harness, region.RegionId, NewEntity("npc"));
        var reward = NewEntity("chest");
        var at = new Vector3 { X = 12.5, Y = 0, Z = -3 };
        var opened = Event(region.RegionId, "gate.opened",
            SetProperty(gate.EntityId, "open", Flag(true), expectedVersion: gate.Version),
            SetProperty("", "gate_open", Flag(true)),
            Increment("", "visitors", 1),
            new Mutation { CreateEntity = new CreateEntityMutation { Entity = reward } },
            Move(guard.EntityId, at),
            Remove(guard.EntityId, "mood"));

        var applied = await ApplyAsync(harness.Client, opened);
        Assert.False(applied.Duplicate);
        var result = applied.Result;
        Assert.Equal((4L, opened), (result.RegionVersion, result.Event));
        Assert.Equal(
            [(gate.EntityId, "open"), ("", "gate_open"), ("", "visitors"), (guard.EntityId, "mood")],
            result.PropertyChanges.Select(p => (p.EntityId, p.Key)).ToList());
        Assert.Equal(6, result.UndoMutations.Count);
        Assert.Equal(Mutation.KindOneofCase.SetProperty, result.UndoMutations[0].KindCase);
        Assert.Equal(Flag(true), (await EntityAsync(harness.Client, region.RegionId, gate.EntityId)).Properties["open"]);
        var movedGuard = await EntityAsync(harness.Client, region.RegionId, guard.EntityId);
        Assert.Equal((at, false, 2L), (movedGuard.Position, movedGuard.Properties.ContainsKey("mood"), movedGuard.Version));
        var now = await RegionAsync(harness.Client, region.RegionId);
        Assert.Equal((4L, Int(1), Flag(true)), (now.Version, now.Properties["visitors"], now.Properties["gate_open"]));
        Assert.Equal(reward.Properties, (await EntityAsync(harness.Client, region.RegionId, reward.EntityId)).Properties);

        var again = await ApplyAsync(harness.Client, opened);
        Assert.True(again.Duplicate);
        Assert.Equal(result, again.Result);
        Assert.Equal(now, await RegionAsync(harness.Client, region.RegionId));
        Assert.Equal(result, (await harness.Client.GetWorldEventAsync(new GetWorldEventRequest { EventId = opened.EventId }, cancellationToken: Timeout)).Result);

        var tampered = opened.Clone();
        tampered.Mutations[2].IncrementProperty.IntDelta = 1000;
        await FailsAsync(StatusCode.AlreadyExists, () => ApplyAsync(harness.Client, tampered), opened.EventId, "different content", "gate.opened");
        Assert.Equal(now, await RegionAsync(harness.Client, region.RegionId));

        var events = await harness.EventsAsync(region.WorldId, Timeout);
        var appliedEvent = Assert.Single(events, e => e.Type == "world.event.applied");
        Assert.Equal(("world:" + opened.EventId, result), (appliedEvent.EventId, WorldEventApplied.Parser.ParseFrom(appliedEvent.Payload).Result));
        var regionChanged = RegionChanged.Parser.ParseFrom(events.Last(e => e.Type == "world.region.changed").Payload);
        Assert.Equal((4L, opened.EventId, "gate.opened"), (regionChanged.Version, regionChanged.EventId, regionChanged.EventType));
        Assert.Equal(3, events.Count(e => e.Type == "world.entity.changed" && EntityChanged.Parser.ParseFrom(e.Payload).EventId == opened.EventId));
    }

    [Fact(Timeout = 60_000)]
    public async Task ApplyWorldEvent_WithAFailingMutation_AppliesNoneOfThem_AndRecordsNothing_SoItCanBeRetried()
    {
        await using var harness = await StartAsync();
        var (region, entities) = await SeedAsync(harness, 1);
        var npc = await CreateEntityAsync(harness, region.RegionId, NewEntity("npc"));
        var before = await RegionAsync(harness.Client, region.RegionId);

        var ambush = Event(region.RegionId, "ambush.started",
            SetProperty("", "danger_level", Int(9)),
            Increment(npc.EntityId, "mood", 1));
        await FailsAsync(StatusCode.FailedPrecondition, () => ApplyAsync(harness.Client, ambush), "event.mutations[1]", "'mood'", "a string", "int_delta");
        Assert.Equal(before, await RegionAsync(harness.Client, region.RegionId));
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetWorldEventAsync(new GetWorldEventRequest { EventId = ambush.EventId }, cancellationToken: Timeout).AsTask(), ambush.EventId);

        var stale = Event(region.RegionId, "npc.wounded", SetProperty(npc.EntityId, "hp", Int(1), expectedVersion: npc.Version + 1));
        await FailsAsync(StatusCode.FailedPrecondition, () => ApplyAsync(harness.Client, stale), $"version {npc.Version}", "not expected_entity_version");
        var staleRegion = Event(region.RegionId, "gate.opened", SetProperty("", "gate_open", Flag(true)));
        staleRegion.ExpectedRegionVersion = before.Version - 1;
        await FailsAsync(StatusCode.FailedPrecondition, () => ApplyAsync(harness.Client, staleRegion), "expected_region_version");
        await FailsAsync(StatusCode.NotFound, () => ApplyAsync(harness.Client, Event(region.RegionId, "loot.taken", Remove("chest.ghost-1", "gold"))), "chest.ghost-1");
        await FailsAsync(StatusCode.NotFound, () => ApplyAsync(harness.Client, Event("no-such-region", "gate.opened", SetProperty("", "gate_open", Flag(true)))), "no-such-region");
        Assert.Equal(before, await RegionAsync(harness.Client, region.RegionId));

        // Fixed, the same event id applies: nothing of the failed attempts was recorded.
        ambush.Mutations[1] = Increment(npc.EntityId, "hp", -5);
        var applied = await ApplyAsync(harness.Client, ambush);
        Assert.False(applied.Duplicate);
        Assert.Equal(before.Version + 1, applied.Result.RegionVersion);
        Assert.Equal(npc.Properties["hp"].IntValue - 5, (await EntityAsync(harness.Client, region.RegionId, npc.EntityId)).Properties["hp"].IntValue);
        Assert.Single(entities);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApplyWorldEvent_WithBadInput_NamesEveryFieldAtFault()
    {
        await using var harness = await StartAsync();
        var (region, _) = await SeedAsync(harness, 0);
        var bad = Event(region.RegionId, "Gate Opened",
            new Mutation(),
            SetProperty("", "gate_open", new TypedValue()),
            Increment("npc with spaces", "hp", 1),
            new Mutation { IncrementProperty = new IncrementPropertyMutation { Key = "hp" } },
            Move("npc.ok-1", null),
            new Mutation { CreateEntity = new CreateEntityMutation { Entity = new Entity { EntityId = "chest.x", Kind = "" } } });
        bad.EventId = new string('e', 201);
        bad.ExpectedRegionVersion = -1;

        var fields = await ViolationsOfAsync(() => ApplyAsync(harness.Client, bad));
        Assert.Equal(
            ["event.event_id", "event.type", "event.expected_region_version", "event.mutations[0]", "event.mutations[1].set_property.value", "event.mutations[2].increment_property.entity_id", "event.mutations[3].increment_property", "event.mutations[4].move_entity", "event.mutations[5].create_entity.entity.kind"],
            fields);
        var tooMany = Event(region.RegionId, "storm.passed", [.. Enumerable.Range(0, 101).Select(i => Increment("", "rain", i))]);
        Assert.Equal(["event.mutations"], await ViolationsOfAsync(() => ApplyAsync(harness.Client, tooMany)));
        Assert.Equal(["event.mutations"], await ViolationsOfAsync(() => ApplyAsync(harness.Client, Event(region.RegionId, "nothing.happened"))));
        Assert.Equal(["event"], await ViolationsOfAsync(() => harness.Client.ApplyWorldEventAsync(new ApplyWorldEventRequest(), cancellationToken: Timeout).AsTask()));
        Assert.Equal(["event_id"], await ViolationsOfAsync(() => harness.Client.GetWorldEventAsync(new GetWorldEventRequest(), cancellationToken: Timeout).AsTask()));
        Assert.Equal(1, (await RegionAsync(harness.Client, region.RegionId)).Version);
    }

    [Fact(Timeout = 90_000)]
    public async Task ApplyWorldEvent_ConcurrentIncrementsOnTwoInstances_NeverLoseOne_AndRetriesApplyOnce()
    {
        await using var harness = await StartAsync(instances: 2);
        var (region, entities) = await SeedAsync(harness, 1);
        var ore = await CreateEntityAsync(harness, region.RegionId, NewEntity("resource.ore"));
        var start = await RegionAsync(harness.Client, region.RegionId);
        var events = Enumerable.Range(0, 30).Select(i => Event(region.RegionId, "ore.mined", Increment("", "ore_mined", 1), new Mutation { IncrementProperty = new IncrementPropertyMutation { EntityId = ore.EntityId, Key = "yield", DoubleDelta = -0.01 } })).ToList();

        // Every event sent twice, to both instances at once: as a producer's retry racing its first try.
        var calls = events.SelectMany(e => new[] { ApplyAsync(harness.ClientAs(harness.Game, 0), e), ApplyAsync(harness.ClientAs(harness.Game, 1), e) }).ToList();
        var responses = await Task.WhenAll(calls);

        Assert.Equal(30, responses.Count(r => !r.Duplicate));
        Assert.Equal(30, responses.Count(r => r.Duplicate));
        Assert.All(responses.GroupBy(r => r.Result.Event.EventId), pair => Assert.Single(pair.Select(r => r.Result).Distinct()));
        var end = await RegionAsync(harness.Client, region.RegionId);
        Assert.Equal((start.Version + 30, 30L), (end.Version, end.Properties["ore_mined"].IntValue));
        Assert.Equal(ore.Properties["yield"].DoubleValue - 0.3, (await EntityAsync(harness.Client, region.RegionId, ore.EntityId)).Properties["yield"].DoubleValue, 6);
        Assert.Equal(Enumerable.Range((int)start.Version + 1, 30).Select(v => (long)v), responses.Where(r => !r.Duplicate).Select(r => r.Result.RegionVersion).Order());
        Assert.Single(entities);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApplyWorldEvent_MovesAnEntityToAnotherRegion_AndItsUndoMutationsBringEverythingBack()
    {
        await using var harness = await StartAsync();
        var (square, _) = await SeedAsync(harness, 0);
        var tavern = await CreateRegionAsync(harness, NewRegion(square.WorldId, NewRegionId(square.RegionId), square.RegionId));
        var bard = await CreateEntityAsync(harness, square.RegionId, NewEntity("npc"));
        var before = (await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = square.RegionId }, cancellationToken: Timeout)).Entities.Single();
        var squareBefore = await RegionAsync(harness.Client, square.RegionId);

        var evening = Event(square.RegionId, "npc.schedule.evening",
            SetProperty(bard.EntityId, "mood", Text("merry")),
            Move(bard.EntityId, new Vector3 { X = 1, Y = 0, Z = 2 }, tavern.RegionId),
            Increment("", "lanterns_lit", 12));
        var result = (await ApplyAsync(harness.Client, evening)).Result;
        Assert.Equal(squareBefore.Version + 1, result.RegionVersion);
        Assert.Equal(tavern.Version + 1, result.OtherRegionVersions[tavern.RegionId]);
        var moved = await EntityAsync(harness.Client, tavern.RegionId, bard.EntityId);
        Assert.Equal((tavern.RegionId, Text("merry")), (moved.RegionId, moved.Properties["mood"]));
        await FailsAsync(StatusCode.NotFound, () => EntityAsync(harness.Client, square.RegionId, bard.EntityId), tavern.RegionId);

        // The saga's compensation: the undo mutations as a new event of the same region.
        var undo = Event(square.RegionId, "npc.schedule.evening.undone", [.. result.UndoMutations]);
        await ApplyAsync(harness.Client, undo);
        var restored = await EntityAsync(harness.Client, square.RegionId, bard.EntityId);
        Assert.Equal((before.Position, before.Properties), (restored.Position, restored.Properties));
        var squareAfter = await RegionAsync(harness.Client, square.RegionId);
        Assert.False(squareAfter.Properties.ContainsKey("lanterns_lit"), "a property the event created is removed by its undo");
        Assert.Equal(squareBefore.Properties["danger_level"], squareAfter.Properties["danger_level"]);
        Assert.Empty((await harness.Client.QueryRegionAsync(new QueryRegionRequest { RegionId = tavern.RegionId }, cancellationToken: Timeout)).Entities);

        // A region in another world is not a destination.
        var faraway = await CreateRegionAsync(harness, NewRegion(NewWorld()));
        await FailsAsync(StatusCode.FailedPrecondition, () => ApplyAsync(harness.Client, Event(square.RegionId, "npc.teleported", Move(bard.EntityId, null, faraway.RegionId))), faraway.RegionId, "does not exist in world");
    }
}
