using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.QuestSystem.V1;
using GameSystem.StateManager.V1;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>A player's quest log: availability, accept, progress, complete, abandon, fail, listings.</summary>
public abstract partial class QuestSystemContract
{
    [Fact(Timeout = 60_000)]
    public async Task AcceptQuest_WhenPrerequisiteMissing_FailsPreconditionNamingIt_ThenSucceedsOnceItIsMet()
    {
        await using var harness = await StartAsync();
        var prologue = await CreateAsync(harness, NewQuest("q.main.prologue"));
        var chapter = await CreateAsync(harness, NewQuest("q.main.chapter-1", q => q.Prerequisites = new Prerequisites { CompletedQuestIds = { prologue.QuestId } }));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);

        var refused = await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(client, player, chapter.QuestId), "requires completed quest q.main.prologue");
        var violation = Assert.Single(Assert.Single(refused.GetRpcStatus().Details).Unpack<Google.Rpc.PreconditionFailure>().Violations);
        Assert.Equal("requires completed quest q.main.prologue", violation.Description);
        await FailsAsync(StatusCode.NotFound, () => GetAsync(client, player, chapter.QuestId));

        await AcceptAsync(client, player, prologue.QuestId);
        await FinishObjectivesAsync(harness, player, prologue);
        await CompleteAsync(client, player, prologue.QuestId);
        var accepted = await AcceptAsync(client, player, chapter.QuestId);

        Assert.Equal(PlayerQuestState.Active, accepted.State);
        Assert.Equal(1, accepted.Attempt);
        Assert.Equal(chapter.Version, accepted.QuestVersion);
        Assert.Equal($"players/{player}/quests/{chapter.QuestId}", accepted.Name);
        Assert.Equal(["slay", "gather"], accepted.Objectives.Select(o => o.ObjectiveId));
    }

    [Fact(Timeout = 60_000)]
    public async Task AcceptQuest_WhenLevelTooLow_FailsPreconditionNamingTheLevel_ThenSucceedsAfterExperience()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.Prerequisites = new Prerequisites { MinLevel = 3, RequiredItems = { new ItemStack { ItemId = "item.scroll.recall", Quantity = 2 } } }));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);

        var refused = await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(client, player, quest.QuestId), "requires level 3 (the player is level 1)", "requires 2 × item.scroll.recall held (the player holds 0)");
        Assert.Equal(2, Assert.Single(refused.GetRpcStatus().Details).Unpack<Google.Rpc.PreconditionFailure>().Violations.Count);

        // Level 3 starts at 400 experience on state-manager's default curve.
        var stateManager = harness.StateManagerAs(harness.Observer);
        await stateManager.GrantExperienceAsync(new GrantExperienceRequest { PlayerId = player, Amount = 450, RequestId = NewId(), Reason = "test:training" }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(client, player, quest.QuestId), "item.scroll.recall");
        await stateManager.AddItemsAsync(new AddItemsRequest { PlayerId = player, Items = { new ItemStack { ItemId = "item.scroll.recall", Quantity = 2 } }, RequestId = NewId(), Reason = "test:loot" }, cancellationToken: Timeout);
        Assert.Equal(PlayerQuestState.Active, (await AcceptAsync(client, player, quest.QuestId)).State);
    }

    [Fact(Timeout = 60_000)]
    public async Task AcceptQuest_RetriesAnswerOnce_AndActiveUnknownDraftRetiredAndCompletedAreRefused()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var draft = await CreateAsync(harness, NewQuest(adjust: q => q.State = QuestDefinitionState.Draft));
        var retired = await CreateAsync(harness, NewQuest(adjust: q => q.State = QuestDefinitionState.Retired));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        var requestId = NewId();

        var first = await AcceptAsync(client, player, quest.QuestId, requestId);
        var retry = await AcceptAsync(client, player, quest.QuestId, requestId);

        Assert.Equal(first, retry);
        await FailsAsync(StatusCode.AlreadyExists, () => AcceptAsync(client, player, quest.QuestId), "already has quest");
        await FailsAsync(StatusCode.NotFound, () => AcceptAsync(client, player, "q.main.nowhere"), "q.main.nowhere");
        await FailsAsync(StatusCode.NotFound, () => AcceptAsync(client, player, draft.QuestId));
        await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(client, player, retired.QuestId), "RETIRED, not PUBLISHED");
        await FinishObjectivesAsync(harness, player, quest);
        await CompleteAsync(client, player, quest.QuestId);
        await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(client, player, quest.QuestId), "already completed and is not repeatable");
        var bad = await FailsAsync(StatusCode.InvalidArgument, () => client.AcceptQuestAsync(new AcceptQuestRequest { PlayerId = "acc with spaces", QuestId = "Q MAIN", RequestId = new string('r', 200) }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["player_id", "quest_id", "request_id"], Fields(bad));
        Assert.Single(await harness.EventsAsync(player, Timeout), e => e.Type == "quest.accepted");
    }

    [Fact(Timeout = 60_000)]
    public async Task ReportObjectiveProgress_ByAction_ProgressesEveryMatchingActiveObjective_ClampsAndDeduplicates()
    {
        await using var harness = await StartAsync();
        var hunt = await CreateAsync(harness, NewQuest(adjust: q => { q.Objectives[0].TargetId = "npc.wolf"; q.Objectives[0].RequiredCount = 10; q.Objectives[0].Description = "Slay 10 wolves"; }));
        var bounty = await CreateAsync(harness, NewQuest(adjust: q => { q.Objectives[0].TargetId = "npc.wolf"; q.Objectives[0].RequiredCount = 3; q.Objectives[0].Description = "Bring down 3 wolves for the bounty"; }));
        var elsewhere = await CreateAsync(harness, NewQuest(adjust: q => q.Objectives[0].TargetId = "npc.ghoul"));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        foreach (var quest in new[] { hunt, bounty, elsewhere })
        {
            await AcceptAsync(client, player, quest.QuestId);
        }

        var report = new ReportObjectiveProgressRequest { PlayerId = player, ReportId = "combat-" + NewId(), Action = new GameAction { Kind = ObjectiveKind.Defeat, TargetId = "npc.wolf" }, Increment = 4 };
        var first = await client.ReportObjectiveProgressAsync(report, cancellationToken: Timeout);
        var duplicate = await client.ReportObjectiveProgressAsync(report, cancellationToken: Timeout);

        Assert.False(first.Duplicate);
        Assert.Equal(new[] { bounty.QuestId, hunt.QuestId }.Order(StringComparer.Ordinal), first.UpdatedQuests.Select(q => q.QuestId).Order(StringComparer.Ordinal));
        Assert.True(duplicate.Duplicate);
        Assert.Equal(4, (await GetAsync(client, player, hunt.QuestId)).Objectives[0].CurrentCount);
        Assert.Equal(3, (await GetAsync(client, player, bounty.QuestId)).Objectives[0].CurrentCount);
        Assert.Equal(0, (await GetAsync(client, player, elsewhere.QuestId)).Objectives[0].CurrentCount);
        var completedRef = Assert.Single(first.CompletedObjectives);
        Assert.Equal((bounty.QuestId, "slay"), (completedRef.QuestId, completedRef.ObjectiveId));

        // The bounty's objective is at its target: a report naming it is refused, nothing changes.
        await FailsAsync(StatusCode.FailedPrecondition, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = bounty.QuestId, ObjectiveId = "slay" }, Increment = 1 }, cancellationToken: Timeout).AsTask(), "already at its target", "(3/3)");
        await FailsAsync(StatusCode.NotFound, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = hunt.QuestId, ObjectiveId = "tame-dragon" }, Increment = 1 }, cancellationToken: Timeout).AsTask(), "no objective 'tame-dragon'");
        await FailsAsync(StatusCode.NotFound, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = "q.side.unaccepted", ObjectiveId = "slay" }, Increment = 1 }, cancellationToken: Timeout).AsTask(), "never accepted");
        var bad = await FailsAsync(StatusCode.InvalidArgument, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = new string('r', 129), Increment = 0 }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["report_id", "target", "increment"], Fields(bad));
        var missing = await FailsAsync(StatusCode.InvalidArgument, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, Action = report.Action, Increment = 1 }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["report_id"], Fields(missing));
        var reused = await FailsAsync(StatusCode.InvalidArgument, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = report.ReportId, Action = report.Action, Increment = 9 }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["report_id"], Fields(reused));

        // Absolute counts clamp at the target.
        var absolute = await client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = hunt.QuestId, ObjectiveId = "slay" }, AbsoluteCount = 250 }, cancellationToken: Timeout);
        Assert.Equal(10, Assert.Single(absolute.UpdatedQuests).Objectives[0].CurrentCount);
        Assert.True(absolute.UpdatedQuests[0].Objectives[0].Completed);
    }

    [Fact(Timeout = 60_000)]
    public async Task OrderedObjectives_ProgressOnlyAfterTheEarlierOnes()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.OrderedObjectives = true));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);

        await FailsAsync(StatusCode.FailedPrecondition, () => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = quest.QuestId, ObjectiveId = "gather" }, Increment = 1 }, cancellationToken: Timeout).AsTask(), "objective 'slay' comes first");
        var ignored = await client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Action = new GameAction { Kind = ObjectiveKind.Collect, TargetId = quest.Objectives[1].TargetId }, Increment = 1 }, cancellationToken: Timeout);

        Assert.Empty(ignored.UpdatedQuests);
        await FinishObjectivesAsync(harness, player, quest);
        Assert.All((await GetAsync(client, player, quest.QuestId)).Objectives, o => Assert.True(o.Completed));
    }

    [Fact(Timeout = 60_000)]
    public async Task CompleteQuest_WithObjectivesLeft_FailsPreconditionNamingThem_AndWritesNothing()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.Objectives.Add(new Objective { ObjectiveId = "bonus-chest", Kind = ObjectiveKind.Interact, TargetId = "entity.chest.hidden", RequiredCount = 1, Optional = true })));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = quest.QuestId, ObjectiveId = "slay" }, AbsoluteCount = quest.Objectives[0].RequiredCount }, cancellationToken: Timeout);
        var before = await GetAsync(client, player, quest.QuestId);

        var refused = await FailsAsync(StatusCode.FailedPrecondition, () => CompleteAsync(client, player, quest.QuestId), $"'gather' (0/{quest.Objectives[1].RequiredCount}) is not done");

        Assert.DoesNotContain("bonus-chest", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await GetAsync(client, player, quest.QuestId));
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 0);
        await FailsAsync(StatusCode.NotFound, () => CompleteAsync(client, player, "q.side.never"), "never accepted");
    }

    [Fact(Timeout = 60_000)]
    public async Task AbandonAndFail_EndAnActiveAttempt_RepeatsReturnItUnchanged_AndAcceptStartsTheNextAttempt()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = await harness.Identity.PlayerAsync(Timeout);
        var asPlayer = harness.QuestsAs(player);
        var game = harness.QuestsAs(harness.Observer);
        await AcceptAsync(asPlayer, player.Subject, quest.QuestId);
        await game.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player.Subject, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = quest.QuestId, ObjectiveId = "slay" }, Increment = 1 }, cancellationToken: Timeout);

        var abandoned = (await asPlayer.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId }, cancellationToken: Timeout)).PlayerQuest;
        var again = (await asPlayer.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId }, cancellationToken: Timeout)).PlayerQuest;

        Assert.Equal(PlayerQuestState.Abandoned, abandoned.State);
        Assert.NotNull(abandoned.EndTime);
        Assert.Equal(abandoned, again);
        await FailsAsync(StatusCode.FailedPrecondition, () => game.FailQuestAsync(new FailQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId, Reason = "The caravan left without you." }, cancellationToken: Timeout).AsTask(), "ABANDONED, not ACTIVE");
        await FailsAsync(StatusCode.FailedPrecondition, () => CompleteAsync(asPlayer, player.Subject, quest.QuestId), "ABANDONED");

        var second = await AcceptAsync(asPlayer, player.Subject, quest.QuestId);
        Assert.Equal(2, second.Attempt);
        Assert.Equal(0, second.Objectives[0].CurrentCount);
        await FailsAsync(StatusCode.PermissionDenied, () => asPlayer.FailQuestAsync(new FailQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId }, cancellationToken: Timeout).AsTask(), "never reports its own progress or fails its own quests");
        var failed = (await game.FailQuestAsync(new FailQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId, Reason = "The caravan left without you." }, cancellationToken: Timeout)).PlayerQuest;
        var failedAgain = (await game.FailQuestAsync(new FailQuestRequest { PlayerId = player.Subject, QuestId = quest.QuestId }, cancellationToken: Timeout)).PlayerQuest;

        Assert.Equal(PlayerQuestState.Failed, failed.State);
        Assert.Equal("The caravan left without you.", failed.FailureReason);
        Assert.Equal(failed, failedAgain);
        Assert.Equal(
            ["quest.accepted", "quest.objective.progressed", "quest.abandoned", "quest.accepted", "quest.failed"],
            (await harness.EventsAsync(player.Subject, Timeout)).Select(e => e.Type));
        await FailsAsync(StatusCode.NotFound, () => game.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player.Subject, QuestId = "q.side.never" }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 60_000)]
    public async Task TimeLimit_WhenItExpires_TheQuestFails_AndCannotBeCompleted()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => q.TimeLimit = Seconds(3)));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        var accepted = await AcceptAsync(client, player, quest.QuestId);
        Assert.Equal(accepted.AcceptTime.ToDateTimeOffset().AddSeconds(3), accepted.DeadlineTime.ToDateTimeOffset());
        await FinishObjectivesAsync(harness, player, quest);

        var untilExpired = accepted.DeadlineTime.ToDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300);
        await Task.Delay(untilExpired > TimeSpan.Zero ? untilExpired : TimeSpan.Zero, Timeout);

        var read = await GetAsync(client, player, quest.QuestId);
        Assert.Equal(PlayerQuestState.Failed, read.State);
        Assert.Equal("The time limit expired.", read.FailureReason);
        await FailsAsync(StatusCode.FailedPrecondition, () => CompleteAsync(client, player, quest.QuestId), "time limit expired");
        var failed = (await client.FailQuestAsync(new FailQuestRequest { PlayerId = player, QuestId = quest.QuestId }, cancellationToken: Timeout)).PlayerQuest;
        Assert.Equal(PlayerQuestState.Failed, failed.State);
        Assert.Contains(await harness.EventsAsync(player, Timeout), e => e.Type == "quest.failed");
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 0);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListPlayerQuests_MostRecentlyChangedFirst_PagesAndFiltersByState()
    {
        await using var harness = await StartAsync();
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        var quests = new List<QuestDefinition>();
        for (var i = 0; i < 5; i++)
        {
            quests.Add(await CreateAsync(harness, NewQuest($"q.log.{i}")));
            await AcceptAsync(client, player, quests[^1].QuestId);
        }

        // q.log.1 changes last.
        await client.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player, QuestId = "q.log.1" }, cancellationToken: Timeout);

        var listed = new List<string>();
        var request = new ListPlayerQuestsRequest { PlayerId = player, PageSize = 2 };
        do
        {
            var page = await client.ListPlayerQuestsAsync(request, cancellationToken: Timeout);
            Assert.True(page.PlayerQuests.Count <= 2);
            listed.AddRange(page.PlayerQuests.Select(q => q.QuestId));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(["q.log.1", "q.log.4", "q.log.3", "q.log.2", "q.log.0"], listed);
        var active = await client.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = player, State = PlayerQuestState.Active }, cancellationToken: Timeout);
        Assert.Equal(["q.log.4", "q.log.3", "q.log.2", "q.log.0"], active.PlayerQuests.Select(q => q.QuestId));
        Assert.Empty((await client.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = NewPlayerId() }, cancellationToken: Timeout)).PlayerQuests);
        var firstPage = await client.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = player, PageSize = 2 }, cancellationToken: Timeout);
        var otherFilter = await FailsAsync(StatusCode.InvalidArgument, () => client.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = player, State = PlayerQuestState.Active, PageToken = firstPage.NextPageToken }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["page_token"], Fields(otherFilter));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListAvailableQuests_ListsWhatThePlayerCanAcceptNow_AndWhyNotForTheRest()
    {
        await using var harness = await StartAsync();
        var opening = await CreateAsync(harness, NewQuest("q.avail.opening", q => q.GiverNpcId = "npc.elder-maren"));
        var sequel = await CreateAsync(harness, NewQuest("q.avail.sequel", q => { q.GiverNpcId = "npc.smith-borin"; q.Prerequisites = new Prerequisites { CompletedQuestIds = { opening.QuestId } }; }));
        var veteran = await CreateAsync(harness, NewQuest("q.avail.veteran", q => { q.GiverNpcId = "npc.smith-borin"; q.Prerequisites = new Prerequisites { MinLevel = 10 }; }));
        await CreateAsync(harness, NewQuest("q.avail.draft", q => q.State = QuestDefinitionState.Draft));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);

        var available = await client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player }, cancellationToken: Timeout);
        var everything = await client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player, IncludeUnavailable = true, PageSize = 2 }, cancellationToken: Timeout);
        var rest = await client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player, IncludeUnavailable = true, PageSize = 2, PageToken = everything.NextPageToken }, cancellationToken: Timeout);

        Assert.Equal([opening.QuestId], available.Quests.Select(q => q.QuestDefinition.QuestId));
        Assert.Equal([opening.QuestId, sequel.QuestId, veteran.QuestId], everything.Quests.Concat(rest.Quests).Select(q => q.QuestDefinition.QuestId));
        Assert.Empty(rest.NextPageToken);
        var reasons = everything.Quests.Concat(rest.Quests).ToDictionary(q => q.QuestDefinition.QuestId, q => string.Join("; ", q.UnmetReasons));
        Assert.Equal("requires completed quest q.avail.opening", reasons[sequel.QuestId]);
        Assert.Equal("requires level 10 (the player is level 1)", reasons[veteran.QuestId]);
        var byGiver = await client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player, GiverNpcId = "npc.elder-maren", IncludeUnavailable = true }, cancellationToken: Timeout);
        Assert.Equal([opening.QuestId], byGiver.Quests.Select(q => q.QuestDefinition.QuestId));

        await AcceptAsync(client, player, opening.QuestId);
        var whileActive = await client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player, IncludeUnavailable = true }, cancellationToken: Timeout);
        Assert.Contains("is already active", whileActive.Quests.Single(q => q.QuestDefinition.QuestId == opening.QuestId).UnmetReasons.Single(), StringComparison.Ordinal);
    }
}
