using GameSystem.Common.V1;
using GameSystem.QuestSystem.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>Quest definitions: create, read, list, update, and the checks on what a designer writes.</summary>
public abstract partial class QuestSystemContract
{
    [Fact(Timeout = 60_000)]
    public async Task CreateQuestDefinition_IsDraftAtVersionOne_AndARetryReturnsTheFirstResult()
    {
        await using var harness = await StartAsync();
        var designer = harness.QuestsAs(harness.Designer);
        var definition = NewQuest(adjust: q => q.State = QuestDefinitionState.Unspecified);
        var request = new CreateQuestDefinitionRequest { QuestDefinition = definition, RequestId = NewId() };

        var created = (await designer.CreateQuestDefinitionAsync(request, cancellationToken: Timeout)).QuestDefinition;
        var retried = (await designer.CreateQuestDefinitionAsync(request, cancellationToken: Timeout)).QuestDefinition;
        var read = (await designer.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = definition.QuestId }, cancellationToken: Timeout)).QuestDefinition;

        Assert.Equal(1, created.Version);
        Assert.Equal(QuestDefinitionState.Draft, created.State);
        Assert.NotNull(created.CreateTime);
        Assert.Equal(created, retried);
        Assert.Equal(created, read);
        Assert.Equal(definition.Objectives, read.Objectives);
        await FailsAsync(StatusCode.AlreadyExists, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = definition, RequestId = NewId() }, cancellationToken: Timeout).AsTask(), definition.QuestId);
        var reused = await FailsAsync(StatusCode.InvalidArgument, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest(), RequestId = request.RequestId }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["request_id"], Fields(reused));
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateQuestDefinition_WithBadFields_NamesEveryField_AndWritesNothing()
    {
        await using var harness = await StartAsync();
        var designer = harness.QuestsAs(harness.Designer);
        var bad = NewQuest(NewQuestId(), q =>
        {
            q.Objectives[0].RequiredCount = 0;
            q.Objectives[1].ObjectiveId = "slay";
            q.Objectives.Add(new Objective { ObjectiveId = "talk", Kind = ObjectiveKind.Unspecified, TargetId = "npc.elder-maren", RequiredCount = 1 });
            q.Rewards.Currencies.Add(new CurrencyAmount { Currency = Currency.Soft, Amount = -5 });
            q.Rewards.Items[0].Quantity = 0;
            q.Prerequisites = new Prerequisites { MinLevel = -1, MinNpcAffinity = { ["npc.witch-ilsa"] = 20 } };
            q.TimeLimit = Seconds(0);
            q.Tags.Add("Not A Tag");
        });

        var error = await FailsAsync(StatusCode.InvalidArgument, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = bad, RequestId = NewId() }, cancellationToken: Timeout).AsTask());

        Assert.Equal(
            [
                "quest_definition.objectives[0].required_count", "quest_definition.objectives[1].objective_id", "quest_definition.objectives[2].kind",
                "quest_definition.prerequisites.min_level", "quest_definition.prerequisites.min_npc_affinity",
                "quest_definition.rewards.currencies[1].currency", "quest_definition.rewards.currencies[1].amount", "quest_definition.rewards.items[0].quantity",
                "quest_definition.time_limit", "quest_definition.tags[1]",
            ],
            Fields(error));
        await FailsAsync(StatusCode.NotFound, () => designer.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = bad.QuestId }, cancellationToken: Timeout).AsTask());

        var longId = await FailsAsync(StatusCode.InvalidArgument, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest("q." + new string('x', 130)), RequestId = NewId() }, cancellationToken: Timeout).AsTask(), "at most 128");
        Assert.Equal(["quest_definition.quest_id"], Fields(longId));
        var empty = await FailsAsync(StatusCode.InvalidArgument, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest(adjust: q => q.Objectives.Clear()), RequestId = new string('r', 129) }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["quest_definition.objectives", "request_id"], Fields(empty));
        var noId = await FailsAsync(StatusCode.InvalidArgument, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest(adjust: q => q.QuestId = ""), RequestId = NewId() }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["quest_definition.quest_id"], Fields(noId));
    }

    [Fact(Timeout = 60_000)]
    public async Task Prerequisites_FormingACycle_AreRefusedNamingTheCycle_AndNothingChanges()
    {
        await using var harness = await StartAsync();
        var designer = harness.QuestsAs(harness.Designer);
        var first = await CreateAsync(harness, NewQuest("q.main.001"));
        var second = await CreateAsync(harness, NewQuest("q.main.002", q => q.Prerequisites = new Prerequisites { CompletedQuestIds = { first.QuestId } }));
        var third = await CreateAsync(harness, NewQuest("q.main.003", q => q.Prerequisites = new Prerequisites { CompletedQuestIds = { second.QuestId } }));

        var cycle = await FailsAsync(StatusCode.FailedPrecondition, () => designer.UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest
        {
            QuestDefinition = new QuestDefinition { QuestId = first.QuestId, Prerequisites = new Prerequisites { CompletedQuestIds = { third.QuestId } } },
            UpdateMask = new FieldMask { Paths = { "prerequisites" } },
            ExpectedVersion = 1,
        }, cancellationToken: Timeout).AsTask(), "q.main.001 → q.main.003 → q.main.002 → q.main.001");
        Assert.Equal(["quest_definition.prerequisites.completed_quest_ids"], Fields(cycle));
        var unchanged = (await designer.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = first.QuestId }, cancellationToken: Timeout)).QuestDefinition;
        Assert.Equal(1, unchanged.Version);
        Assert.Empty(unchanged.Prerequisites.CompletedQuestIds);

        var self = await FailsAsync(StatusCode.InvalidArgument, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest("q.side.ouroboros", q => q.Prerequisites = new Prerequisites { CompletedQuestIds = { "q.side.ouroboros" } }), RequestId = NewId() }, cancellationToken: Timeout).AsTask(), "q.side.ouroboros → q.side.ouroboros");
        Assert.Equal(["quest_definition.prerequisites.completed_quest_ids[0]"], Fields(self));
        var unknown = await FailsAsync(StatusCode.FailedPrecondition, () => designer.CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = NewQuest(adjust: q => q.Prerequisites = new Prerequisites { CompletedQuestIds = { first.QuestId, "q.main.404" } }), RequestId = NewId() }, cancellationToken: Timeout).AsTask(), "q.main.404", "does not exist");
        Assert.Equal(["quest_definition.prerequisites.completed_quest_ids[1]"], Fields(unknown));
    }

    [Fact(Timeout = 60_000)]
    public async Task UpdateQuestDefinition_ChangesTheMaskedFields_UnderItsExpectedVersion()
    {
        await using var harness = await StartAsync();
        var designer = harness.QuestsAs(harness.Designer);
        var created = await CreateAsync(harness, NewQuest(adjust: q => q.State = QuestDefinitionState.Draft));
        var change = new UpdateQuestDefinitionRequest
        {
            QuestDefinition = new QuestDefinition { QuestId = created.QuestId, DisplayName = "The Wolves of Greyhollow, Revised", State = QuestDefinitionState.Published, Description = "ignored: not in the mask" },
            UpdateMask = new FieldMask { Paths = { "display_name", "state" } },
            ExpectedVersion = 1,
        };

        var updated = (await designer.UpdateQuestDefinitionAsync(change, cancellationToken: Timeout)).QuestDefinition;
        var retried = (await designer.UpdateQuestDefinitionAsync(change, cancellationToken: Timeout)).QuestDefinition;
        var original = (await designer.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = created.QuestId, Version = 1 }, cancellationToken: Timeout)).QuestDefinition;

        Assert.Equal(2, updated.Version);
        Assert.Equal("The Wolves of Greyhollow, Revised", updated.DisplayName);
        Assert.Equal(created.Description, updated.Description);
        Assert.Equal(QuestDefinitionState.Published, updated.State);
        Assert.Equal(updated, retried);
        Assert.Equal(created, original);
        await FailsAsync(StatusCode.FailedPrecondition, () => designer.UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest { QuestDefinition = new QuestDefinition { QuestId = created.QuestId, DisplayName = "Stale" }, UpdateMask = new FieldMask { Paths = { "display_name" } }, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "at version 2, not 1");
        var badMask = await FailsAsync(StatusCode.InvalidArgument, () => designer.UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest { QuestDefinition = new QuestDefinition { QuestId = created.QuestId }, UpdateMask = new FieldMask { Paths = { "quest_id", "loot_table" } }, ExpectedVersion = 2 }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["update_mask.paths[0]", "update_mask.paths[1]"], Fields(badMask));
        var emptied = await FailsAsync(StatusCode.InvalidArgument, () => designer.UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest { QuestDefinition = new QuestDefinition { QuestId = created.QuestId }, UpdateMask = new FieldMask { Paths = { "objectives" } }, ExpectedVersion = 2 }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["quest_definition.objectives"], Fields(emptied));
        await FailsAsync(StatusCode.NotFound, () => designer.UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest { QuestDefinition = new QuestDefinition { QuestId = "q.main.404" }, UpdateMask = new FieldMask { Paths = { "display_name" } }, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => designer.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = created.QuestId, Version = 9 }, cancellationToken: Timeout).AsTask(), "versions are 1-2");
    }

    [Fact(Timeout = 60_000)]
    public async Task ListQuestDefinitions_PagesInQuestIdOrder_WithFilters_AndPlayersSeeOnlyPublished()
    {
        await using var harness = await StartAsync();
        var designer = harness.QuestsAs(harness.Designer);
        var published = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var quest = await CreateAsync(harness, NewQuest($"q.list.{i:00}", q => { q.State = i % 3 == 2 ? QuestDefinitionState.Draft : QuestDefinitionState.Published; q.Tags.Add(i % 2 == 0 ? "main" : "hunt"); }));
            if (quest.State == QuestDefinitionState.Published)
            {
                published.Add(quest.QuestId);
            }
        }

        var all = new List<string>();
        var request = new ListQuestDefinitionsRequest { PageSize = 3 };
        var pages = 0;
        do
        {
            var page = await designer.ListQuestDefinitionsAsync(request, cancellationToken: Timeout);
            all.AddRange(page.QuestDefinitions.Select(d => d.QuestId));
            request.PageToken = page.NextPageToken;
            pages++;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"q.list.{i:00}"), all);
        Assert.Equal(3, pages);
        var main = await designer.ListQuestDefinitionsAsync(new ListQuestDefinitionsRequest { Tag = "main", State = QuestDefinitionState.Published }, cancellationToken: Timeout);
        Assert.Equal(["q.list.00", "q.list.04", "q.list.06"], main.QuestDefinitions.Select(d => d.QuestId));

        var player = await harness.Identity.PlayerAsync(Timeout);
        var asPlayer = harness.QuestsAs(player);
        var seen = await asPlayer.ListQuestDefinitionsAsync(new ListQuestDefinitionsRequest { PageSize = 100 }, cancellationToken: Timeout);
        Assert.Equal(published, seen.QuestDefinitions.Select(d => d.QuestId));
        await FailsAsync(StatusCode.NotFound, () => asPlayer.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = "q.list.02" }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.PermissionDenied, () => asPlayer.ListQuestDefinitionsAsync(new ListQuestDefinitionsRequest { State = QuestDefinitionState.Draft }, cancellationToken: Timeout).AsTask(), "quest-system.read");
        var token = await FailsAsync(StatusCode.InvalidArgument, () => designer.ListQuestDefinitionsAsync(new ListQuestDefinitionsRequest { Tag = "hunt", PageToken = request.PageToken.Length > 0 ? request.PageToken : "bm90IGEgdG9rZW4=" }, cancellationToken: Timeout).AsTask());
        Assert.Equal(["page_token"], Fields(token));
        Assert.Equal(["page_size"], Fields(await FailsAsync(StatusCode.InvalidArgument, () => designer.ListQuestDefinitionsAsync(new ListQuestDefinitionsRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask())));
    }
}
