using GameSystem.StateManager.V1;
using Grpc.Core;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>Checkpoints and rollback: state, inventory and experience return together, once.</summary>
public abstract partial class StateManagerContract
{
    private static async Task<Checkpoint> CheckpointAsync(StateManagerServiceClient client, string player, string id, CheckpointKind kind = CheckpointKind.Manual, string displayName = "", bool overwrite = false, long expectedVersion = 0) =>
        (await client.CreateCheckpointAsync(new CreateCheckpointRequest
        {
            PlayerId = player,
            CheckpointId = id,
            RequestId = Guid.NewGuid().ToString(),
            Checkpoint = new Checkpoint { DisplayName = displayName, Kind = kind, Description = "taken by a contract test" },
            AllowOverwrite = overwrite,
            ExpectedVersion = expectedVersion,
        }, cancellationToken: Timeout)).Checkpoint;

    [Fact(Timeout = 60_000)]
    public async Task RollbackToCheckpoint_RestoresStateInventoryAndExperienceTogether_AsANewVersion_Once()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var before = await SaveAsync(harness.Client, player, GameSave(), 0);
        await AddAsync(harness.Client, player, NewRequestId(), Stack("item.sword.iron", 1), Stack("item.potion.minor-healing", 5));
        await harness.Client.GrantExperienceAsync(new GrantExperienceRequest { PlayerId = player, Amount = 450, RequestId = NewRequestId() }, cancellationToken: Timeout);
        var checkpoint = await CheckpointAsync(harness.Client, player, "before-the-dragon", displayName: "Before the dragon");
        Assert.Equal(($"players/{player}/checkpoints/before-the-dragon", 3L, 3), (checkpoint.Name, checkpoint.StateVersion, checkpoint.Snapshot.Level));

        // The fight goes badly: potions drunk, the sword lost, a new save, more experience.
        await RemoveAsync(harness.Client, player, NewRequestId(), Stack("item.potion.minor-healing", 5), Stack("item.sword.iron", 1));
        await AddAsync(harness.Client, player, NewRequestId(), Stack("item.material.wolf-pelt", 3));
        await harness.Client.GrantExperienceAsync(new GrantExperienceRequest { PlayerId = player, Amount = 2000, RequestId = NewRequestId() }, cancellationToken: Timeout);
        var bad = await SaveAsync(harness.Client, player, GameSave(), 6);
        Assert.Equal(7, bad.Version);

        var id = NewRequestId();
        var rollback = new RollbackToCheckpointRequest { Name = checkpoint.Name, RequestId = id, ExpectedVersion = 7 };
        var restored = await harness.Client.RollbackToCheckpointAsync(rollback, cancellationToken: Timeout);

        Assert.Equal((8L, 7L), (restored.State.Version, restored.ReplacedVersion));
        Assert.Equal(before.Attributes, restored.State.Attributes);
        Assert.Equal(before.Location, restored.State.Location);
        Assert.Equal(before.SaveData, restored.State.SaveData);
        Assert.Equal((450L, 3), (restored.State.Experience, restored.State.Level));
        Assert.Equal(new Dictionary<string, long> { ["item.sword.iron"] = 1, ["item.potion.minor-healing"] = 5 }, Totals(restored.State.Inventory));
        Assert.Equal(8, restored.State.Inventory.StateVersion);
        Assert.Equal(before.CreateTime, restored.State.CreateTime);
        Assert.Equal(restored.State, await StateAsync(harness.Client, player));

        // A retry of the same rollback does not roll back twice, and the earlier versions stay readable.
        Assert.Equal(restored, await harness.Client.RollbackToCheckpointAsync(rollback, cancellationToken: Timeout));
        Assert.Equal(8, (await StateAsync(harness.Client, player)).Version);
        Assert.Equal(bad, await StateAsync(harness.Client, player, version: 7));

        var events = await harness.EventsAsync(player, Timeout);
        var rolledBack = PlayerStateRolledBack.Parser.ParseFrom(Assert.Single(events, e => e.Type == "state.player.rolled_back").Payload);
        Assert.Equal((checkpoint.Name, 8L, 7L), (rolledBack.Checkpoint, rolledBack.Version, rolledBack.ReplacedVersion));
        var change = InventoryChanged.Parser.ParseFrom(events.Last(e => e.Type == "state.inventory.changed").Payload);
        Assert.Equal(("", "rollback:before-the-dragon", 8L), (change.RequestId, change.Reason, change.StateVersion));
        Assert.Equal([Stack("item.potion.minor-healing", 5), Stack("item.sword.iron", 1)], change.Added);
        Assert.Equal([Stack("item.material.wolf-pelt", 3)], change.Removed);
    }

    [Fact(Timeout = 60_000)]
    public async Task RollbackToCheckpoint_WithAStaleVersionOrAMissingCheckpoint_ChangesNothing()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        await SaveAsync(harness.Client, player, GameSave(), 0);
        var checkpoint = await CheckpointAsync(harness.Client, player, "slot-1");
        var current = await SaveAsync(harness.Client, player, GameSave(), 1);

        await FailsAsync(StatusCode.FailedPrecondition, () => harness.Client.RollbackToCheckpointAsync(new RollbackToCheckpointRequest { Name = checkpoint.Name, RequestId = NewRequestId(), ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "version 2", "expected_version 1", "nothing was rolled back");
        await FailsAsync(StatusCode.NotFound, () => harness.Client.RollbackToCheckpointAsync(new RollbackToCheckpointRequest { Name = $"players/{player}/checkpoints/slot-9", RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), "slot-9");
        Assert.Equal(["name"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.RollbackToCheckpointAsync(new RollbackToCheckpointRequest { Name = $"players/{player}/saves/slot-1", RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), "players/{player_id}/checkpoints/{id}")));
        Assert.Equal(["request_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.RollbackToCheckpointAsync(new RollbackToCheckpointRequest { Name = checkpoint.Name }, cancellationToken: Timeout).AsTask(), "is required")));
        Assert.Equal(current, await StateAsync(harness.Client, player));
    }

    [Fact(Timeout = 60_000)]
    public async Task Checkpoints_AreCreatedGotListedNewestFirstAndDeleted_AndAnIdTakenIsAlreadyExistsUnlessOverwritten()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        await FailsAsync(StatusCode.FailedPrecondition, () => CheckpointAsync(harness.Client, player, "slot-1"), "no state to checkpoint");
        await SaveAsync(harness.Client, player, GameSave(), 0);
        var names = new List<string>();
        foreach (var id in new[] { "slot-1", "slot-2", "quicksave" })
        {
            names.Add((await CheckpointAsync(harness.Client, player, id, displayName: _faker.Lorem.Sentence(3))).Name);
        }

        await CheckpointAsync(harness.Client, player, "region-entry", CheckpointKind.Auto);
        await FailsAsync(StatusCode.AlreadyExists, () => CheckpointAsync(harness.Client, player, "slot-1"), "slot-1", "allow_overwrite");
        await FailsAsync(StatusCode.FailedPrecondition, () => CheckpointAsync(harness.Client, player, "slot-3", expectedVersion: 5), "version 1", "expected_version 5");
        await SaveAsync(harness.Client, player, GameSave(), 1);
        var quick = await CheckpointAsync(harness.Client, player, "quicksave", overwrite: true, expectedVersion: 2);
        Assert.Equal(2, quick.StateVersion);

        var all = await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player }, cancellationToken: Timeout);
        Assert.Equal(["quicksave", "region-entry", "slot-2", "slot-1"], all.Checkpoints.Select(c => c.Name.Split('/')[^1]));
        Assert.All(all.Checkpoints, c => Assert.Null(c.Snapshot));
        var manual = await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player, Kind = CheckpointKind.Manual, PageSize = 2, IncludeSnapshot = true }, cancellationToken: Timeout);
        Assert.Equal(["quicksave", "slot-2"], manual.Checkpoints.Select(c => c.Name.Split('/')[^1]));
        Assert.All(manual.Checkpoints, c => Assert.NotNull(c.Snapshot));
        var rest = await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player, Kind = CheckpointKind.Manual, PageSize = 2, PageToken = manual.NextPageToken }, cancellationToken: Timeout);
        Assert.Equal(["slot-1"], rest.Checkpoints.Select(c => c.Name.Split('/')[^1]));
        Assert.Equal("", rest.NextPageToken);
        await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player, Kind = CheckpointKind.Auto, PageToken = manual.NextPageToken }, cancellationToken: Timeout).AsTask(), "page_token");

        var got = (await harness.Client.GetCheckpointAsync(new GetCheckpointRequest { Name = quick.Name }, cancellationToken: Timeout)).Checkpoint;
        Assert.Equal(quick, got);
        await harness.Client.DeleteCheckpointAsync(new DeleteCheckpointRequest { Name = names[0] }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetCheckpointAsync(new GetCheckpointRequest { Name = names[0] }, cancellationToken: Timeout).AsTask(), "slot-1");
        await FailsAsync(StatusCode.NotFound, () => harness.Client.DeleteCheckpointAsync(new DeleteCheckpointRequest { Name = names[0] }, cancellationToken: Timeout).AsTask());
        await harness.Client.DeleteCheckpointAsync(new DeleteCheckpointRequest { Name = names[0], AllowMissing = true }, cancellationToken: Timeout);
        Assert.Equal(3, (await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player }, cancellationToken: Timeout)).Checkpoints.Count);
        Assert.Equal(["checkpoint_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => CheckpointAsync(harness.Client, player, "Slot 1"), "[a-z0-9-]")));
        Assert.Equal(["checkpoint_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => CheckpointAsync(harness.Client, player, new string('s', 65)), "65 characters")));
    }

    [Fact(Timeout = 60_000)]
    public async Task AutoCheckpoints_BeyondTen_PruneTheOldest_AndLeaveManualOnesAlone()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        await SaveAsync(harness.Client, player, GameSave(), 0);
        await CheckpointAsync(harness.Client, player, "slot-1");
        for (var i = 1; i <= 12; i++)
        {
            await CheckpointAsync(harness.Client, player, $"auto-{i}", CheckpointKind.Auto);
        }

        var autos = await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player, Kind = CheckpointKind.Auto, PageSize = 100 }, cancellationToken: Timeout);
        Assert.Equal(Enumerable.Range(3, 10).Reverse().Select(i => $"auto-{i}"), autos.Checkpoints.Select(c => c.Name.Split('/')[^1]));
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetCheckpointAsync(new GetCheckpointRequest { Name = $"players/{player}/checkpoints/auto-1" }, cancellationToken: Timeout).AsTask());
        Assert.Equal(11, (await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player, PageSize = 100 }, cancellationToken: Timeout)).Checkpoints.Count);
    }
}
