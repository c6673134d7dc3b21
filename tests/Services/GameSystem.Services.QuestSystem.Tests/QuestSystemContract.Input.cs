using GameSystem.QuestSystem.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>Bad input to the reads and the remaining writes: a precise status naming the field, nothing written.</summary>
public abstract partial class QuestSystemContract
{
    [Fact(Timeout = 60_000)]
    public async Task EveryRpc_WithAMalformedField_IsInvalidArgumentNamingIt()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);

        async Task<string> FieldOf(Func<Task> call) => Assert.Single(Fields(await FailsAsync(StatusCode.InvalidArgument, call)));

        Assert.Equal("quest_id", await FieldOf(() => client.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = "Q.Main!" }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("version", await FieldOf(() => client.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = quest.QuestId, Version = -1 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("player_id", await FieldOf(() => client.GetPlayerQuestAsync(new GetPlayerQuestRequest { PlayerId = "acc {1}", QuestId = quest.QuestId }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("player_id", await FieldOf(() => client.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = new string('p', 129) }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("page_size", await FieldOf(() => client.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = player, PageSize = 201 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("page_size", await FieldOf(() => client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player, PageSize = -1 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("quest_id", await FieldOf(() => client.AbandonQuestAsync(new AbandonQuestRequest { PlayerId = player, QuestId = "q/../etc" }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("reason", await FieldOf(() => client.FailQuestAsync(new FailQuestRequest { PlayerId = player, QuestId = quest.QuestId, Reason = Faker.Lorem.Letter(501) }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("quest_id", await FieldOf(() => client.CompleteQuestAsync(new CompleteQuestRequest { PlayerId = player, QuestId = new string('q', 129), RequestId = NewId() }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("action.target_id", await FieldOf(() => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Action = new GameAction { Kind = ObjectiveKind.Defeat, TargetId = new string('t', 129) }, Increment = 1 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("absolute_count", await FieldOf(() => client.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = player, ReportId = NewId(), Objective = new ObjectiveRef { QuestId = quest.QuestId, ObjectiveId = "slay" }, AbsoluteCount = -2 }, cancellationToken: Timeout).AsTask()));
        Assert.Equal("expected_version", await FieldOf(() => harness.QuestsAs(harness.Designer).UpdateQuestDefinitionAsync(new UpdateQuestDefinitionRequest { QuestDefinition = new QuestDefinition { QuestId = quest.QuestId }, UpdateMask = new FieldMask { Paths = { "display_name" } }, ExpectedVersion = -3 }, cancellationToken: Timeout).AsTask()));

        // Nothing of that was written: the attempt is as accepted, the definition at version 1.
        var read = await GetAsync(client, player, quest.QuestId);
        Assert.Equal((PlayerQuestState.Active, 1L), (read.State, read.Version));
        Assert.Equal(1, (await client.GetQuestDefinitionAsync(new GetQuestDefinitionRequest { QuestId = quest.QuestId }, cancellationToken: Timeout)).QuestDefinition.Version);
    }

    [Fact(Timeout = 60_000)]
    public async Task RepeatableQuest_OnCooldown_FailsPreconditionSayingWhenItIsAvailable()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => { q.Repeatable = true; q.RepeatCooldown = Duration.FromTimeSpan(TimeSpan.FromHours(20)); }));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        await FinishObjectivesAsync(harness, player, quest);
        var completed = await CompleteAsync(client, player, quest.QuestId);

        await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(client, player, quest.QuestId), "is on cooldown until");
        var listed = (await client.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player, IncludeUnavailable = true }, cancellationToken: Timeout)).Quests.Single();

        Assert.False(listed.Available);
        Assert.Equal(completed.EndTime.ToDateTimeOffset().AddHours(20), listed.AvailableTime.ToDateTimeOffset());
    }
}
