using GameSystem.QuestSystem.V1;
using GameSystem.Services.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>Who may do what: from the verified caller, never from what a request says.</summary>
public abstract partial class QuestSystemContract
{
    [Fact]
    public void Contract_DeclaresTheAdminScopeOnDefinitionWrites()
    {
        var access = ContractAccess.Of(typeof(IQuestSystemService));

        Assert.Equal("authenticated quest-system.admin", access["CreateQuestDefinition"]);
        Assert.Equal("authenticated quest-system.admin", access["UpdateQuestDefinition"]);
        Assert.All(access.Where(a => a.Key is not ("CreateQuestDefinition" or "UpdateQuestDefinition")), a => Assert.Equal("authenticated", a.Value));
    }

    [Fact(Timeout = 60_000)]
    public async Task APlayer_ActsOnTheirOwnQuestLogOnly_AndNeverWritesDefinitionsOrReportsProgress()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = await harness.Identity.PlayerAsync(Timeout);
        var rival = await harness.Identity.PlayerAsync(Timeout);
        var asPlayer = harness.QuestsAs(player);
        var asRival = harness.QuestsAs(rival);
        await AcceptAsync(asPlayer, player.Subject, quest.QuestId);

        Assert.Equal(PlayerQuestState.Active, (await GetAsync(asPlayer, player.Subject, quest.QuestId)).State);
        await FailsAsync(StatusCode.PermissionDenied, () => GetAsync(asRival, player.Subject, quest.QuestId), rival.Subject, "only its own quest log");
        await FailsAsync(StatusCode.PermissionDenied, () => AcceptAsync(asRival, player.Subject, quest.QuestId), "may change only its own quest log");
        await FailsAsync(StatusCode.PermissionDenied, () => asRival.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.PermissionDenied, () => CompleteAsync(asRival, player.Subject, quest.QuestId));
        await FailsAsync(StatusCode.PermissionDenied, () => asRival.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = player.Subject }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.PermissionDenied, () => asPlayer.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player.Subject, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = quest.QuestId, ObjectiveId = "slay" }, Increment = 99 }, cancellationToken: Timeout).AsTask(), "never reports its own progress");
        await FailsAsync(StatusCode.PermissionDenied, () => asPlayer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest(), RequestId = NewId() }, cancellationToken: Timeout).AsTask(), "quest-system.admin");
        await FailsAsync(StatusCode.PermissionDenied, () => asPlayer.UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest { QuestDefinition = new QuestDefinition { QuestId = quest.QuestId, DisplayName = "Mine now" }, UpdateMask = new FieldMask { Paths = { "display_name" } }, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "quest-system.admin");
        await FailsAsync(StatusCode.Unauthenticated, () => GetAsync(harness.QuestsAs(TestCaller.Anonymous), player.Subject, quest.QuestId));

        // A reader holding quest-system.read sees any player's log, and changes none.
        var support = await harness.Identity.OperatorAsync("quest-system.read", Timeout);
        var asSupport = harness.QuestsAs(support);
        Assert.Single((await asSupport.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = player.Subject }, cancellationToken: Timeout)).PlayerQuests);
        await FailsAsync(StatusCode.PermissionDenied, () => asSupport.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId }, cancellationToken: Timeout).AsTask());
        Assert.Equal(PlayerQuestState.Active, (await GetAsync(asPlayer, player.Subject, quest.QuestId)).State);
    }

    [Fact(Timeout = 60_000)]
    public async Task APlayer_CompletesTheirOwnQuest_AndIsRewardedOnce()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = await harness.Identity.PlayerAsync(Timeout);
        var asPlayer = harness.QuestsAs(player);
        await AcceptAsync(asPlayer, player.Subject, quest.QuestId);
        await FinishObjectivesAsync(harness, player.Subject, quest);

        var completed = await CompleteAsync(asPlayer, player.Subject, quest.QuestId);

        Assert.Equal(PlayerQuestState.Completed, completed.State);
        Assert.Equal(RewardStatus.Granted, (await AwaitGrantAsync(harness, player.Subject, quest.QuestId)).RewardStatus);
        AssertRewardedTimes(await HoldingsAsync(harness, player.Subject), quest, 1);
    }
}
