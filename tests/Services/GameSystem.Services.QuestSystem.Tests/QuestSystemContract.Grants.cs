using GameSystem.Common.V1;
using GameSystem.QuestSystem.V1;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>Rewards are granted exactly once per completed attempt, whatever fails in between.</summary>
public abstract partial class QuestSystemContract
{
    [Fact(Timeout = 60_000)]
    public async Task CompleteQuest_GrantsTheRewardOnce_AndRepeatsAnswerWithoutGrantingAgain()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);

        var requestId = NewId();
        var completed = await CompleteAsync(client, player, quest.QuestId, requestId);
        var again = await CompleteAsync(client, player, quest.QuestId, requestId);
        var otherRequest = await CompleteAsync(client, player, quest.QuestId);

        Assert.Equal(PlayerQuestState.Completed, completed.State);
        Assert.Equal($"quest:{player}:{quest.QuestId}:1", completed.RewardGrantKey);
        Assert.Equal(quest.Rewards, completed.Rewards);
        var granted = await AwaitGrantAsync(harness, player, quest.QuestId);
        Assert.Equal(RewardStatus.Granted, granted.RewardStatus);
        Assert.Equal(completed.Attempt, again.Attempt);
        Assert.Equal(PlayerQuestState.Completed, otherRequest.State);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);

        // The completion's event carries the id the contract names, once.
        var events = await harness.EventsAsync(player, Timeout);
        var completedEvent = Assert.Single(events, e => e.Type == "quest.completed");
        Assert.Equal($"quest:{player}:{quest.QuestId}:1", completedEvent.EventId);
        Assert.Equal($"players/{player}/quests/{quest.QuestId}", completedEvent.Subject);
        var payload = QuestCompleted.Parser.ParseFrom(completedEvent.Payload);
        Assert.Equal(["slay", "gather"], payload.CompletedObjectiveIds);
        Assert.Equal(["quest.accepted", "quest.objective.progressed", "quest.objective.progressed", "quest.completed"], events.Select(e => e.Type));
    }

    [Fact(Timeout = 60_000)]
    public async Task CompleteQuest_WhilePaymentIsDown_StaysPending_ThenGrantsOnceWhenPaymentIsBack()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.Rewards.Currencies.Add(new CurrencyAmount { Currency = Currency.Premium, Amount = 5 })));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);
        Assert.Equal(0, (await HoldingsAsync(harness, player)).Soft);
        await harness.StopPaymentAsync();

        var completed = await CompleteAsync(client, player, quest.QuestId);

        // The quest is COMPLETED at once; the grant waits for payment, retried by the worker meanwhile.
        Assert.Equal(PlayerQuestState.Completed, completed.State);
        Assert.Equal(RewardStatus.Pending, completed.RewardStatus);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Timeout);
        Assert.Equal(RewardStatus.Pending, (await GetAsync(client, player, quest.QuestId)).RewardStatus);

        await harness.StartPaymentAsync();
        var granted = await AwaitGrantAsync(harness, player, quest.QuestId);
        Assert.Equal(RewardStatus.Granted, granted.RewardStatus);
        Assert.Empty(granted.RewardError);

        // Items and experience went through on the first attempts already; the retries did not add them again.
        await Task.Delay(TimeSpan.FromMilliseconds(500), Timeout);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task CompleteQuest_WhenTheInstanceIsKilledBeforeTheGrantFinished_AFreshInstanceGrantsOnce()
    {
        await using var harness = await StartAsync();

        // The first instance reaches state-manager but not payment: it grants items and experience,
        // then dies with the currency still owed.
        await harness.KillQuestAsync(harness.Quests[0]);
        var doomed = await harness.StartQuestAsync(reachPayment: false);
        var quest = await CreateAsync(harness, NewQuest());
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);
        var completed = await CompleteAsync(client, player, quest.QuestId);
        Assert.Equal(RewardStatus.Pending, completed.RewardStatus);
        var partial = await HoldingsAsync(harness, player);
        Assert.Equal(quest.Rewards.Experience, partial.Experience);
        Assert.Equal(0, partial.Soft);
        await harness.KillQuestAsync(doomed);

        // A fresh instance on the same store finds the grant owed and finishes it.
        await harness.StartQuestAsync();
        var granted = await AwaitGrantAsync(harness, player, quest.QuestId);
        Assert.Equal(RewardStatus.Granted, granted.RewardStatus);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Timeout);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task CompleteQuest_WhenKilledRightAfterTheCompletionCommitted_AFreshInstanceGrantsOnce()
    {
        await using var harness = await StartAsync();

        // Cut off from both peers, the instance commits the completion and can grant nothing.
        await harness.KillQuestAsync(harness.Quests[0]);
        var doomed = await harness.StartQuestAsync(reachPayment: false, reachStateManager: false);
        var quest = await CreateAsync(harness, NewQuest());
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);
        Assert.Equal(RewardStatus.Pending, (await CompleteAsync(client, player, quest.QuestId)).RewardStatus);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 0);
        await harness.KillQuestAsync(doomed);

        // Two fresh instances race for the owed grant: one pays it.
        await harness.StartQuestAsync();
        await harness.StartQuestAsync();
        Assert.Equal(RewardStatus.Granted, (await AwaitGrantAsync(harness, player, quest.QuestId)).RewardStatus);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Timeout);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task CompleteQuest_ConcurrentCompletionsWithDifferentRequestIds_GrantOnce()
    {
        await using var harness = await StartAsync();
        await harness.StartQuestAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => CompleteAsync(client, player, quest.QuestId)));

        Assert.All(answers, a => Assert.Equal(PlayerQuestState.Completed, a.State));
        Assert.Single(answers.Select(a => a.Attempt).Distinct());
        await AwaitGrantAsync(harness, player, quest.QuestId);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);
        Assert.Single(await harness.EventsAsync(player, Timeout), e => e.Type == "quest.completed");
    }

    [Fact(Timeout = 60_000)]
    public async Task RepeatableQuest_EachCompletedAttemptIsGrantedOnceUnderItsOwnKey()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => { q.Repeatable = true; q.Tags.Add("daily"); }));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var accepted = await AcceptAsync(client, player, quest.QuestId);
            Assert.Equal(attempt, accepted.Attempt);
            Assert.All(accepted.Objectives, o => Assert.Equal(0, o.CurrentCount));
            await FinishObjectivesAsync(harness, player, quest);
            var completed = await CompleteAsync(client, player, quest.QuestId);
            Assert.Equal($"quest:{player}:{quest.QuestId}:{attempt}", completed.RewardGrantKey);
            await AwaitGrantAsync(harness, player, quest.QuestId);
        }

        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 3);
    }

    [Fact(Timeout = 60_000)]
    public async Task Grant_RefusedForGood_IsMarkedFailedWithTheReason()
    {
        await using var harness = await StartAsync();

        // An item state-manager has no definition for: AddItems refuses it (FAILED_PRECONDITION), retrying cannot help.
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.Rewards.Items.Add(new ItemStack { ItemId = "item.relic.unknown-idol", Quantity = 1 })));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);
        await CompleteAsync(client, player, quest.QuestId);

        var failed = await AwaitGrantAsync(harness, player, quest.QuestId);

        Assert.Equal(RewardStatus.Failed, failed.RewardStatus);
        Assert.Contains("FailedPrecondition", failed.RewardError, StringComparison.Ordinal);
        Assert.Contains("item.relic.unknown-idol", failed.RewardError, StringComparison.Ordinal);
        Assert.Equal(PlayerQuestState.Completed, failed.State);
    }

    [Fact(Timeout = 60_000)]
    public async Task AutoCompleteQuest_CompletesOnItsLastObjective_AndGrantsOnce()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.AutoComplete = true));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);

        await FinishObjectivesAsync(harness, player, quest);

        var done = await GetAsync(client, player, quest.QuestId);
        Assert.Equal(PlayerQuestState.Completed, done.State);
        Assert.Equal(RewardStatus.Granted, (await AwaitGrantAsync(harness, player, quest.QuestId)).RewardStatus);
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);
    }
}
