using Bogus;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.StateManager.V1;
using GameSystem.State;
using GameSystem.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>The state-manager contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class StateManagerContract(NatsServerFixture nats)
{
    /// <summary>A game's item catalogue: id, name, stack limit.</summary>
    private static readonly (string Id, string Name, int MaxStack)[] Catalogue =
    [
        ("item.sword.iron", "Iron Sword", 1),
        ("item.shield.oak", "Oak Shield", 1),
        ("item.potion.minor-healing", "Minor Healing Potion", 20),
        ("item.potion.mana", "Mana Potion", 20),
        ("item.ammo.arrow", "Arrow", 99),
        ("item.material.wolf-pelt", "Wolf Pelt", 50),
        ("item.material.iron-ore", "Iron Ore", 50),
        ("item.food.bread", "Loaf of Bread", 10),
        ("item.quest.dragon-scale", "Dragon Scale", 5),
        ("item.currency.ruby", "Rough Ruby", 999),
    ];

    private readonly Faker _faker = new() { Random = new Randomizer(20261203) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<StateManagerHarness> StartAsync(int instances = 1, StateManagerOptions? options = null)
    {
        var harness = await StateManagerHarness.StartAsync(nats, await CreateStoreAsync(), await CreateStoreAsync(), instances, options);
        foreach (var (id, name, max) in Catalogue)
        {
            await harness.AdminClient.PutItemDefinitionAsync(new PutItemDefinitionRequest { ItemDefinition = new ItemDefinition { ItemId = id, DisplayName = name, MaxStackSize = max } }, cancellationToken: Timeout);
        }

        return harness;
    }

    private string NewPlayer() => "acc-" + _faker.Random.AlphaNumeric(12).ToLowerInvariant();

    private static string NewRequestId() => Guid.NewGuid().ToString();

    private static ItemStack Stack(string itemId, int quantity) => new() { ItemId = itemId, Quantity = quantity };

    /// <summary>A save as a game client sends it: health, gold, a flag, a location in a region.</summary>
    private PlayerState GameSave() => new()
    {
        Attributes =
        {
            ["health"] = new TypedValue { IntValue = _faker.Random.Int(1, 100) },
            ["gold"] = new TypedValue { IntValue = _faker.Random.Int(0, 5000) },
            ["flags.met_mayor"] = new TypedValue { BoolValue = _faker.Random.Bool() },
            ["title"] = new TypedValue { StringValue = _faker.Name.JobTitle() },
        },
        Location = new PlayerLocation
        {
            WorldId = "hub",
            RegionId = "region." + _faker.Address.City().ToLowerInvariant().Replace(' ', '-'),
            Position = new Vector3 { X = _faker.Random.Double(-500, 500), Y = _faker.Random.Double(0, 50), Z = _faker.Random.Double(-500, 500) },
            HeadingDegrees = _faker.Random.Double(0, 359),
        },
        SaveData = ByteString.CopyFrom(_faker.Random.Bytes(512)),
        SaveDataFormat = "client-save/3",
    };

    private static async Task<PlayerState> SaveAsync(StateManagerServiceClient client, string player, PlayerState state, long expectedVersion, string requestId = "", params string[] mask)
    {
        var request = new SavePlayerStateRequest { PlayerId = player, State = state, ExpectedVersion = expectedVersion, RequestId = requestId };
        if (mask.Length > 0)
        {
            request.UpdateMask = new FieldMask { Paths = { mask } };
        }

        return (await client.SavePlayerStateAsync(request, cancellationToken: Timeout)).State;
    }

    private static async Task<PlayerState> StateAsync(StateManagerServiceClient client, string player, long version = 0) =>
        (await client.GetPlayerStateAsync(new GetPlayerStateRequest { PlayerId = player, Version = version }, cancellationToken: Timeout)).State;

    private static async Task<AddItemsResponse> AddAsync(StateManagerServiceClient client, string player, string requestId, params ItemStack[] items) =>
        await client.AddItemsAsync(new AddItemsRequest { PlayerId = player, RequestId = requestId, Items = { items }, Reason = "loot:test" }, cancellationToken: Timeout);

    private static async Task<Inventory> RemoveAsync(StateManagerServiceClient client, string player, string requestId, params ItemStack[] items) =>
        (await client.RemoveItemsAsync(new RemoveItemsRequest { PlayerId = player, RequestId = requestId, Items = { items }, Reason = "crafted:test" }, cancellationToken: Timeout)).Inventory;

    private static async Task<Inventory> InventoryAsync(StateManagerServiceClient client, string player) =>
        (await client.GetInventoryAsync(new GetInventoryRequest { PlayerId = player }, cancellationToken: Timeout)).Inventory;

    private static Dictionary<string, long> Totals(Inventory inventory) =>
        inventory.Slots.GroupBy(s => s.Stack.ItemId).ToDictionary(g => g.Key, g => g.Sum(s => (long)s.Stack.Quantity));

    private static int MaxStackOf(string itemId) => Catalogue.Single(c => c.Id == itemId).MaxStack;

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode, $"expected {code}, got {error.StatusCode}: {error.Status.Detail}");
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The field names of an INVALID_ARGUMENT's google.rpc.BadRequest.</summary>
    private static List<string> Violations(RpcException error)
    {
        var badRequest = Assert.Single(error.GetRpcStatus().Details).Unpack<Google.Rpc.BadRequest>();
        return [.. badRequest.FieldViolations.Select(v => v.Field)];
    }

    // ---- Player state ----

    [Fact(Timeout = 60_000)]
    public async Task GetPlayerState_WhenThePlayerNeverSaved_IsNotFound()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();

        await FailsAsync(StatusCode.NotFound, () => StateAsync(harness.Client, player), player, "never saved");
        var empty = await InventoryAsync(harness.Client, player);
        Assert.Equal((0, 40, 0L), (empty.Slots.Count, empty.SlotCapacity, empty.StateVersion));
    }

    [Fact(Timeout = 60_000)]
    public async Task SavePlayerState_FirstSaveIsVersionOne_AndAStaleExpectedVersionFailsPrecondition_ChangingNothing()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var first = GameSave();

        var saved = await SaveAsync(harness.Client, player, first, expectedVersion: 0);
        Assert.Equal((player, 1L, 1), (saved.PlayerId, saved.Version, saved.Level));
        Assert.Equal(first.Attributes, saved.Attributes);
        Assert.Equal(first.Location, saved.Location);
        Assert.Equal(first.SaveData, saved.SaveData);

        var second = await SaveAsync(harness.Client, player, GameSave(), expectedVersion: 1);
        Assert.Equal(2, second.Version);

        // A second client still holding version 1 must not overwrite version 2.
        await FailsAsync(StatusCode.FailedPrecondition, () => SaveAsync(harness.Client, player, GameSave(), expectedVersion: 1), "version 2", "expected_version 1", "nothing was saved");
        await FailsAsync(StatusCode.FailedPrecondition, () => SaveAsync(harness.Client, NewPlayer(), GameSave(), expectedVersion: 3), "no state yet");
        Assert.Equal(second, await StateAsync(harness.Client, player));
    }

    [Fact(Timeout = 60_000)]
    public async Task SavePlayerState_WithAnAttributeMask_WritesOnlyThoseKeys_AndEarlierVersionsStayReadable()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var first = await SaveAsync(harness.Client, player, GameSave(), expectedVersion: 0);

        var change = new PlayerState { Attributes = { ["health"] = new TypedValue { IntValue = 7 } } };
        var second = await SaveAsync(harness.Client, player, change, expectedVersion: 1, "", "attributes.health", "attributes.flags.met_mayor");

        Assert.Equal(7, second.Attributes["health"].IntValue);
        Assert.False(second.Attributes.ContainsKey("flags.met_mayor"));
        Assert.Equal(first.Attributes["gold"], second.Attributes["gold"]);
        Assert.Equal(first.Location, second.Location);
        Assert.Equal(first.SaveData, second.SaveData);
        Assert.Equal(first, await StateAsync(harness.Client, player, version: 1));
        var events = await harness.EventsAsync(player, Timeout);
        var saved = events.Where(e => e.Type == "state.player.saved").Select(e => PlayerStateSaved.Parser.ParseFrom(e.Payload)).ToList();
        Assert.Equal([1L, 2L], saved.Select(s => s.Version));
        Assert.Equal(["attributes.health", "attributes.flags.met_mayor"], saved[1].UpdateMask.Paths);
        Assert.All(events, e => Assert.Equal("players/" + player, e.Subject));
    }

    [Fact(Timeout = 60_000)]
    public async Task SavePlayerState_RetriedWithTheSameRequestId_ReturnsTheFirstResult()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var save = GameSave();
        var id = NewRequestId();

        var first = await SaveAsync(harness.Client, player, save, 0, id);
        var retry = await SaveAsync(harness.Client, player, save, 0, id);

        Assert.Equal(first, retry);
        Assert.Equal(1, (await StateAsync(harness.Client, player)).Version);
        var error = await FailsAsync(StatusCode.InvalidArgument, () => SaveAsync(harness.Client, player, GameSave(), 1, id), id, "different");
        Assert.Equal(["request_id"], Violations(error));
    }

    [Fact(Timeout = 60_000)]
    public async Task SavePlayerState_WithBadInput_IsInvalidArgumentNamingEachField_AndSavesNothing()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();

        Assert.Equal(["player_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => SaveAsync(harness.Client, "", GameSave(), 0), "is required")));
        Assert.Equal(["player_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => SaveAsync(harness.Client, "acc-" + new string('x', 200), GameSave(), 0), "204 characters")));
        var bad = GameSave();
        bad.Attributes["bad key!"] = new TypedValue { IntValue = 1 };
        bad.Attributes["empty"] = new TypedValue();
        bad.Location.HeadingDegrees = 400;
        bad.SaveDataFormat = "client-save/" + new string('9', 60);
        var error = await FailsAsync(StatusCode.InvalidArgument, () => SaveAsync(harness.Client, player, bad, 0), "4 fields are invalid");
        Assert.Equal(["state.attributes[bad key!]", "state.attributes[empty]", "state.location.heading_degrees", "state.save_data_format"], Violations(error).Order(StringComparer.Ordinal));
        Assert.Equal(["update_mask.paths[0]"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => SaveAsync(harness.Client, player, GameSave(), 0, "", "experience"), "'experience' is not a field a save writes")));
        await FailsAsync(StatusCode.NotFound, () => StateAsync(harness.Client, player));
    }

    [Fact(Timeout = 60_000)]
    public async Task GetPlayerState_KeepsTheLastTwentyVersions()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var saves = new List<PlayerState>();
        for (var version = 0; version < 23; version++)
        {
            saves.Add(await SaveAsync(harness.Client, player, GameSave(), version));
        }

        Assert.Equal(saves[3], await StateAsync(harness.Client, player, version: 4));
        Assert.Equal(saves[22], await StateAsync(harness.Client, player, version: 23));
        await FailsAsync(StatusCode.NotFound, () => StateAsync(harness.Client, player, version: 3), "no longer retained", "4-23");
        await FailsAsync(StatusCode.NotFound, () => StateAsync(harness.Client, player, version: 24), "latest is 23");
    }

    [Fact(Timeout = 60_000)]
    public async Task DeletePlayerState_RemovesStateCheckpointsAndSessions_AndAMissingPlayerIsNotFound()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        await SaveAsync(harness.Client, player, GameSave(), 0);
        await AddAsync(harness.Client, player, NewRequestId(), Stack("item.sword.iron", 1));
        foreach (var id in new[] { "slot-1", "slot-2" })
        {
            await harness.Client.CreateCheckpointAsync(new CreateCheckpointRequest { PlayerId = player, CheckpointId = id, RequestId = NewRequestId() }, cancellationToken: Timeout);
        }

        var session = (await harness.Client.StartSessionAsync(new StartSessionRequest { PlayerId = player, WorldId = "hub", RequestId = NewRequestId() }, cancellationToken: Timeout)).Session;

        var deleted = await harness.AdminClient.DeletePlayerStateAsync(new DeletePlayerStateRequest { PlayerId = player }, cancellationToken: Timeout);

        Assert.Equal(2, deleted.DeletedCheckpointCount);
        await FailsAsync(StatusCode.NotFound, () => StateAsync(harness.Client, player));
        Assert.Empty((await InventoryAsync(harness.Client, player)).Slots);
        Assert.Empty((await harness.Client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = player }, cancellationToken: Timeout)).Checkpoints);
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetSessionAsync(new GetSessionRequest { Name = session.Name }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => harness.AdminClient.DeletePlayerStateAsync(new DeletePlayerStateRequest { PlayerId = player }, cancellationToken: Timeout).AsTask(), "allow_missing");
        await harness.AdminClient.DeletePlayerStateAsync(new DeletePlayerStateRequest { PlayerId = player, AllowMissing = true }, cancellationToken: Timeout);
        var first = await SaveAsync(harness.Client, player, GameSave(), 0);
        Assert.Equal(1, first.Version);
    }

    // ---- Item definitions ----

    [Fact(Timeout = 60_000)]
    public async Task ItemDefinitions_ArePutGotAndListedByIdWithAPrefix_AcrossPages()
    {
        await using var harness = await StartAsync();

        var sword = (await harness.Client.GetItemDefinitionAsync(new GetItemDefinitionRequest { ItemId = "item.sword.iron" }, cancellationToken: Timeout)).ItemDefinition;
        Assert.Equal(("Iron Sword", 1), (sword.DisplayName, sword.MaxStackSize));
        Assert.NotNull(sword.UpdateTime);

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await harness.Client.ListItemDefinitionsAsync(new ListItemDefinitionsRequest { PageSize = 3, PageToken = token }, cancellationToken: Timeout);
            Assert.True(page.ItemDefinitions.Count <= 3);
            seen.AddRange(page.ItemDefinitions.Select(d => d.ItemId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(Catalogue.Select(c => c.Id).Order(StringComparer.Ordinal), seen);

        var potions = await harness.Client.ListItemDefinitionsAsync(new ListItemDefinitionsRequest { ItemIdPrefix = "item.potion." }, cancellationToken: Timeout);
        Assert.Equal(["item.potion.mana", "item.potion.minor-healing"], potions.ItemDefinitions.Select(d => d.ItemId));

        var lowered = await harness.AdminClient.PutItemDefinitionAsync(new PutItemDefinitionRequest { ItemDefinition = new ItemDefinition { ItemId = "item.ammo.arrow", DisplayName = "Arrow", MaxStackSize = 50 } }, cancellationToken: Timeout);
        Assert.Equal(50, lowered.ItemDefinition.MaxStackSize);
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetItemDefinitionAsync(new GetItemDefinitionRequest { ItemId = "item.sword.mithril" }, cancellationToken: Timeout).AsTask(), "item.sword.mithril");
        await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.ListItemDefinitionsAsync(new ListItemDefinitionsRequest { ItemIdPrefix = "item.", PageToken = potions.NextPageToken.Length > 0 ? potions.NextPageToken : "bm90IGEgdG9rZW4=" }, cancellationToken: Timeout).AsTask(), "page_token");
    }

    [Fact(Timeout = 60_000)]
    public async Task PutItemDefinition_WithABadStackLimitOrId_IsInvalidArgument_AndNeedsTheAdminScope()
    {
        await using var harness = await StartAsync();
        Task Put(StateManagerServiceClient client, string id, int max) =>
            client.PutItemDefinitionAsync(new PutItemDefinitionRequest { ItemDefinition = new ItemDefinition { ItemId = id, DisplayName = "Elixir", MaxStackSize = max } }, cancellationToken: Timeout).AsTask();

        Assert.Equal(["item_definition.max_stack_size"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Put(harness.AdminClient, "item.potion.elixir", 0), "1-9999", "got 0")));
        Assert.Equal(["item_definition.max_stack_size"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Put(harness.AdminClient, "item.potion.elixir", 10_000), "got 10000")));
        Assert.Equal(["item_definition.item_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Put(harness.AdminClient, "", 5), "is required")));
        Assert.Equal(["item_definition.item_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Put(harness.AdminClient, "item." + new string('a', 130), 5), "135 characters")));
        Assert.Equal(["item_definition.item_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Put(harness.AdminClient, "Item Potion", 5), "'Item Potion' is not an item id")));
        var player = await harness.Identity.PlayerAsync(Timeout);
        await FailsAsync(StatusCode.PermissionDenied, () => Put(harness.ClientAs(player), "item.potion.elixir", 5), "state-manager.admin");
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetItemDefinitionAsync(new GetItemDefinitionRequest { ItemId = "item.potion.elixir" }, cancellationToken: Timeout).AsTask());
    }
}
