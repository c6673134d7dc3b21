using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>WatchRegion: snapshot, every change in version order on every instance, resume after a reconnect, and the ends of a stream.</summary>
public abstract partial class WorldStateContract
{
    [Fact(Timeout = 90_000)]
    public async Task WatchRegion_OnTwoInstances_StreamsEveryChangeOfBothInVersionOrder()
    {
        await using var harness = await StartAsync(instances: 2);
        var (region, entities) = await SeedAsync(harness, 3);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        await using var first = harness.ClientAs(harness.Game, 0).WatchRegionAsync(new WatchRegionRequest { RegionId = region.RegionId }, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);
        await using var second = harness.ClientAs(harness.Builder, 1).WatchRegionAsync(new WatchRegionRequest { RegionId = region.RegionId }, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);
        var snapshot = await NextAsync(first);
        Assert.Equal((4L, true, 3), (snapshot.Snapshot.Version, snapshot.Snapshot.Complete, snapshot.Snapshot.Entities.Count));
        Assert.Equal(region.RegionId, snapshot.Snapshot.Region.RegionId);
        Assert.Equal(4, (await NextAsync(second)).Snapshot.Version);

        // Writers on both instances at once: some changes reach a stream through its own
        // instance, the others only through the store.
        const int Changes = 24;
        var writes = Enumerable.Range(0, Changes).Select(i => ApplyAsync(harness.ClientAs(harness.Game, i % 2), Event(region.RegionId, "npc.heartbeat", Increment(entities[i % 3].EntityId, "ticks", 1), SetProperty("", "last_tick", Int(i))))).ToList();
        await Task.WhenAll(writes);

        var seenFirst = new List<RegionChanged>();
        var seenSecond = new List<RegionChanged>();
        for (var i = 0; i < Changes; i++)
        {
            seenFirst.Add((await NextAsync(first)).Change);
            seenSecond.Add((await NextAsync(second)).Change);
        }

        Assert.Equal(Enumerable.Range(5, Changes).Select(v => (long)v), seenFirst.Select(c => c.Version));
        Assert.Equal(seenFirst, seenSecond);
        Assert.Equal(writes.Select(w => w.Result.Result.Event.EventId).Order(StringComparer.Ordinal), seenFirst.Select(c => c.EventId).Order(StringComparer.Ordinal));
        Assert.All(seenFirst, c => Assert.Equal("npc.heartbeat", c.EventType));
        Assert.All(seenFirst, c => Assert.Single(c.UpsertedEntities));
        var last = seenFirst[^1];
        Assert.Equal(last.Region.Properties["last_tick"], (await RegionAsync(harness.Client, region.RegionId)).Properties["last_tick"]);
        await watch.CancelAsync();
    }

    [Fact(Timeout = 90_000)]
    public async Task WatchRegion_ResumedFromTheLastVersionSeen_MissesNothingWrittenWhileDisconnected()
    {
        await using var harness = await StartAsync(instances: 2);
        var (region, entities) = await SeedAsync(harness, 2);
        var lastSeen = 0L;
        using (var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout))
        {
            await using var stream = harness.ClientAs(harness.Game, 0).WatchRegionAsync(new WatchRegionRequest { RegionId = region.RegionId }, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);
            lastSeen = (await NextAsync(stream)).Snapshot.Version;
            await ApplyAsync(harness.Client, Event(region.RegionId, "door.knocked", SetProperty(entities[0].EntityId, "knocks", Int(1))));
            lastSeen = (await NextAsync(stream)).Change.Version;
            await watch.CancelAsync();
        }

        // Disconnected: changes through the other instance, a creation, a deletion.
        var missed = new List<long>
        {
            (await ApplyAsync(harness.ClientAs(harness.Game, 1), Event(region.RegionId, "door.knocked", SetProperty(entities[0].EntityId, "knocks", Int(2))))).Result.RegionVersion,
            (await harness.ClientAs(harness.Game, 1).CreateEntityAsync(new CreateEntityRequest { RegionId = region.RegionId, Entity = NewEntity("chest"), RequestId = NewRequestId() }, cancellationToken: Timeout)).RegionVersion,
            (await harness.Client.DeleteEntityAsync(new DeleteEntityRequest { RegionId = region.RegionId, EntityId = entities[1].EntityId }, cancellationToken: Timeout)).RegionVersion,
        };

        using var again = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        await using var resumed = harness.ClientAs(harness.Game, 1).WatchRegionAsync(new WatchRegionRequest { RegionId = region.RegionId, FromVersion = lastSeen }, cancellationToken: again.Token).GetAsyncEnumerator(again.Token);
        var replayed = new List<RegionChanged>();
        for (var i = 0; i < missed.Count; i++)
        {
            var next = await NextAsync(resumed);
            Assert.Equal(WatchRegionResponse.UpdateOneofCase.Change, next.UpdateCase);
            replayed.Add(next.Change);
        }

        Assert.Equal(missed, replayed.Select(c => c.Version));
        Assert.Equal(Int(2), replayed[0].UpsertedEntities.Single().Properties["knocks"]);
        Assert.Equal("chest", replayed[1].UpsertedEntities.Single().Kind);
        Assert.Equal([entities[1].EntityId], replayed[2].RemovedEntityIds);

        // And it goes on live after the replay.
        var live = (await ApplyAsync(harness.Client, Event(region.RegionId, "door.knocked", SetProperty(entities[0].EntityId, "knocks", Int(3))))).Result.RegionVersion;
        Assert.Equal(live, (await NextAsync(resumed)).Change.Version);

        await FailsAsync(StatusCode.OutOfRange, () => FirstAsync(harness, new WatchRegionRequest { RegionId = region.RegionId, FromVersion = live + 5 }), $"from_version {live + 5}", $"current version {live}");
        await again.CancelAsync();
    }

    [Fact(Timeout = 90_000)]
    public async Task WatchRegion_FromAVersionTheLogNoLongerHolds_SendsAResetSnapshot_OrFailsOutOfRangeWhenReplayIsRequired()
    {
        await using var harness = await StartAsync(options: WorldStateOptions.Default with { ChangeRetention = TimeSpan.FromSeconds(1) });
        var (region, entities) = await SeedAsync(harness, 2);
        await Task.Delay(TimeSpan.FromSeconds(2.5), Timeout);
        var kept = (await ApplyAsync(harness.Client, Event(region.RegionId, "chest.opened", SetProperty(entities[0].EntityId, "looted", Flag(true))))).Result.RegionVersion;

        var reset = await FirstAsync(harness, new WatchRegionRequest { RegionId = region.RegionId, FromVersion = 1 });
        Assert.Equal((true, true, kept, 2), (reset.Snapshot.Reset, reset.Snapshot.Complete, reset.Snapshot.Version, reset.Snapshot.Entities.Count));

        await FailsAsync(StatusCode.OutOfRange, () => FirstAsync(harness, new WatchRegionRequest { RegionId = region.RegionId, FromVersion = 1, RequireReplay = true }), "from_version 1", $"oldest version it can resume from is {kept - 1}");

        // The change still kept replays.
        var replay = await FirstAsync(harness, new WatchRegionRequest { RegionId = region.RegionId, FromVersion = kept - 1, RequireReplay = true });
        Assert.Equal(kept, replay.Change.Version);
    }

    [Fact(Timeout = 90_000)]
    public async Task WatchRegion_OfSomeKinds_SendsOnlyTheirChanges_AndTheStreamEndsWhenTheRegionIsDeleted()
    {
        await using var harness = await StartAsync();
        var (region, _) = await SeedAsync(harness, 0);
        var npc = await CreateEntityAsync(harness, region.RegionId, NewEntity("npc"));
        var chest = await CreateEntityAsync(harness, region.RegionId, NewEntity("chest"));
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var stream = harness.Client.WatchRegionAsync(new WatchRegionRequest { RegionId = region.RegionId, Kinds = { "npc" } }, cancellationToken: watch.Token);
        var received = new List<WatchRegionResponse>();
        var reading = Task.Run(async () =>
        {
            await foreach (var item in stream)
            {
                received.Add(item);
            }
        }, Timeout);

        await WaitUntilAsync(() => received.Count >= 1);
        Assert.Equal([npc.EntityId], received[0].Snapshot.Entities.Select(e => e.EntityId));
        await ApplyAsync(harness.Client, Event(region.RegionId, "chest.looted", SetProperty(chest.EntityId, "gold", Int(0))));
        await ApplyAsync(harness.Client, Event(region.RegionId, "npc.angered", SetProperty(npc.EntityId, "mood", Text("angry"))));
        var mimic = await CreateEntityAsync(harness, region.RegionId, NewEntity("npc"));
        await harness.Client.UpdateEntityAsync(new UpdateEntityRequest { RegionId = region.RegionId, Entity = new Entity { EntityId = mimic.EntityId, Kind = "chest" }, UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "kind" } } }, cancellationToken: Timeout);
        await harness.BuilderClient.DeleteRegionAsync(new DeleteRegionRequest { RegionId = region.RegionId, Force = true }, cancellationToken: Timeout);
        await reading.WaitAsync(Timeout);

        var changes = received.Skip(1).Select(r => r.Change).ToList();
        Assert.Equal(4, changes.Count);
        Assert.Equal(("npc.angered", npc.EntityId), (changes[0].EventType, changes[0].UpsertedEntities.Single().EntityId));
        Assert.Equal(mimic.EntityId, changes[1].UpsertedEntities.Single().EntityId);

        // The mimic turned into a chest: for a stream of NPCs it is gone.
        Assert.Equal([mimic.EntityId], changes[2].RemovedEntityIds);
        Assert.Empty(changes[2].UpsertedEntities);
        Assert.True(changes[3].Deleted);
        Assert.Equal([npc.EntityId], changes[3].RemovedEntityIds);
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchRegion_OfAMissingRegionOrWithBadInput_FailsAtOnce()
    {
        await using var harness = await StartAsync();
        await FailsAsync(StatusCode.NotFound, () => FirstAsync(harness, new WatchRegionRequest { RegionId = "atlantis" }), "atlantis");
        Assert.Equal(["region_id"], await ViolationsOfAsync(() => FirstAsync(harness, new WatchRegionRequest())));
        Assert.Equal(["from_version"], await ViolationsOfAsync(() => FirstAsync(harness, new WatchRegionRequest { RegionId = "atlantis", FromVersion = -1 })));
        Assert.Equal(["kinds[0]"], await ViolationsOfAsync(() => FirstAsync(harness, new WatchRegionRequest { RegionId = "atlantis", Kinds = { "Not A Kind" } })));
    }

    private static async Task<WatchRegionResponse> NextAsync(IAsyncEnumerator<WatchRegionResponse> stream)
    {
        Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), Timeout), "the stream ended");
        return stream.Current;
    }

    private static async Task<WatchRegionResponse> FirstAsync(WorldStateHarness harness, WatchRegionRequest request)
    {
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        await using var stream = harness.Client.WatchRegionAsync(request, cancellationToken: watch.Token).GetAsyncEnumerator(watch.Token);
        var first = await NextAsync(stream);
        await watch.CancelAsync();
        return first;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(20, Timeout);
        }
    }
}
