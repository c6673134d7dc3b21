using GameSystem.Services.Testing;
using GameSystem.StateManager.V1;
using Grpc.Core;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>Who may call what, behind the runtime's identity interceptor, with tokens the real auth issued.</summary>
public abstract partial class StateManagerContract
{
    [Fact]
    public void TheContract_DeclaresTheAdminScopeOnItemDefinitionWrites_AndOpensEverythingElseToAuthenticatedCallers()
    {
        var access = ContractAccess.Of(typeof(IStateManagerService));
        Assert.Equal("authenticated state-manager.admin", access["PutItemDefinition"]);
        Assert.All(access.Where(a => a.Key != "PutItemDefinition"), a => Assert.Equal("authenticated", a.Value));
        Assert.Equal(20, access.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Calls_WithoutAToken_AreUnauthenticated()
    {
        await using var harness = await StartAsync();
        var anonymous = harness.ClientAs(TestCaller.Anonymous);
        var player = NewPlayer();

        await FailsAsync(StatusCode.Unauthenticated, () => StateAsync(anonymous, player), "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => AddAsync(anonymous, player, NewRequestId(), Stack("item.sword.iron", 1)));
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.ListItemDefinitionsAsync(new ListItemDefinitionsRequest(), cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.StartSessionAsync(NewSession(player), cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 90_000)]
    public async Task APlayer_ActsOnItsOwnState_ButNotAnotherPlayers_AndCannotGrantItselfItemsOrExperience()
    {
        await using var harness = await StartAsync();
        var aria = await harness.Identity.PlayerAsync(Timeout);
        var bram = await harness.Identity.PlayerAsync(Timeout);
        var client = harness.ClientAs(aria);

        // Her own: save, checkpoint, roll back, play a session, read her inventory and the item catalogue.
        var saved = await SaveAsync(client, aria.Subject, GameSave(), 0);
        var checkpoint = await CheckpointAsync(client, aria.Subject, "slot-1");
        await harness.Client.AddItemsAsync(new AddItemsRequest { PlayerId = aria.Subject, RequestId = NewRequestId(), Items = { Stack("item.potion.mana", 3) } }, cancellationToken: Timeout);
        var restored = await client.RollbackToCheckpointAsync(new RollbackToCheckpointRequest { Name = checkpoint.Name, RequestId = NewRequestId() }, cancellationToken: Timeout);
        Assert.Equal((3L, saved.Attributes), (restored.State.Version, restored.State.Attributes));
        Assert.Empty((await InventoryAsync(client, aria.Subject)).Slots);
        var session = (await client.StartSessionAsync(NewSession(aria.Subject), cancellationToken: Timeout)).Session;
        await client.EndSessionAsync(new EndSessionRequest { Name = session.Name }, cancellationToken: Timeout);
        Assert.NotEmpty((await client.ListItemDefinitionsAsync(new ListItemDefinitionsRequest(), cancellationToken: Timeout)).ItemDefinitions);

        // Granting herself loot or experience, or deleting herself, is for services and operators.
        await FailsAsync(StatusCode.PermissionDenied, () => AddAsync(client, aria.Subject, NewRequestId(), Stack("item.currency.ruby", 999)), "AddItems is for services and operators", aria.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => RemoveAsync(client, aria.Subject, NewRequestId(), Stack("item.potion.mana", 1)), "RemoveItems");
        await FailsAsync(StatusCode.PermissionDenied, () => client.GrantExperienceAsync(new GrantExperienceRequest { PlayerId = aria.Subject, Amount = 1_000_000, RequestId = NewRequestId() }, cancellationToken: Timeout).AsTask(), "GrantExperience");
        await FailsAsync(StatusCode.PermissionDenied, () => client.DeletePlayerStateAsync(new DeletePlayerStateRequest { PlayerId = aria.Subject }, cancellationToken: Timeout).AsTask(), "DeletePlayerState");

        // Bram's state is not hers to read or change.
        await SaveAsync(harness.ClientAs(bram), bram.Subject, GameSave(), 0);
        await FailsAsync(StatusCode.PermissionDenied, () => StateAsync(client, bram.Subject), aria.Subject, bram.Subject, "state-manager.read");
        await FailsAsync(StatusCode.PermissionDenied, () => SaveAsync(client, bram.Subject, GameSave(), 1), aria.Subject, bram.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => InventoryAsync(client, bram.Subject));
        await FailsAsync(StatusCode.PermissionDenied, () => client.ListCheckpointsAsync(new ListCheckpointsRequest { PlayerId = bram.Subject }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.PermissionDenied, () => client.StartSessionAsync(NewSession(bram.Subject), cancellationToken: Timeout).AsTask());
        Assert.Equal(1, (await StateAsync(harness.ClientAs(bram), bram.Subject)).Version);

        // A support tool with state-manager.read reads anyone's state, and changes none.
        var support = harness.ClientAs(await harness.Identity.OperatorAsync("state-manager.read", Timeout));
        Assert.Equal(bram.Subject, (await StateAsync(support, bram.Subject)).PlayerId);
        await FailsAsync(StatusCode.PermissionDenied, () => SaveAsync(support, bram.Subject, GameSave(), 1), "state-manager.admin");

        // An operator with state-manager.admin and a service act on any player.
        await harness.AdminClient.GrantExperienceAsync(new GrantExperienceRequest { PlayerId = bram.Subject, Amount = 10, RequestId = NewRequestId(), Reason = "support:compensation" }, cancellationToken: Timeout);
        await harness.Client.AddItemsAsync(new AddItemsRequest { PlayerId = bram.Subject, RequestId = NewRequestId(), Items = { Stack("item.food.bread", 2) } }, cancellationToken: Timeout);
        Assert.Equal(3, (await StateAsync(harness.ClientAs(bram), bram.Subject)).Version);
    }
}
