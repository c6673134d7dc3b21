using GameSystem.QuestSystem.V1;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>Concurrent writers of one quest log never lose an update nor apply one twice.</summary>
public abstract partial class QuestSystemContract
{
    [Fact(Timeout = 60_000)]
    public async Task ConcurrentProgressReports_OnTwoInstances_AreEachCountedOnce()
    {
        await using var harness = await StartAsync();
        await harness.StartQuestAsync();
        var quest = await CreateAsync(harness, NewQuest(adjust: q => { q.Objectives[0].RequiredCount = 100; q.Objectives[0].Description = "Slay 100 bandits"; q.Objectives[0].TargetId = "npc.bandit"; }));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);
        var reports = Enumerable.Range(0, 24).Select(i => new ReportObjectiveProgressRequest
        {
            PlayerId = player,
            ReportId = $"combat-{i}",
            Action = new GameAction { Kind = ObjectiveKind.Defeat, TargetId = "npc.bandit" },
            Increment = 1 + (i % 3),
        }).ToList();

        // Every report sent twice at once: the repeats must count nothing.
        var answers = await Task.WhenAll(reports.Concat(reports).Select(r => client.ReportObjectiveProgressAsync(r, cancellationToken: Timeout).AsTask()));

        Assert.Equal(reports.Sum(r => r.Increment), (await GetAsync(client, player, quest.QuestId)).Objectives[0].CurrentCount);
        Assert.Equal(24, answers.Count(a => !a.Duplicate));
        Assert.Equal(24, (await harness.EventsAsync(player, Timeout)).Count(e => e.Type == "quest.objective.progressed"));
    }

    [Fact(Timeout = 60_000)]
    public async Task ConcurrentAccepts_WithDifferentRequestIds_StartOneAttempt()
    {
        await using var harness = await StartAsync();
        var quest = await CreateAsync(harness, NewQuest());
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            try
            {
                return (await AcceptAsync(client, player, quest.QuestId)).Attempt;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
            {
                return 0;
            }
        }));

        Assert.Equal(1, Assert.Single(outcomes, o => o != 0));
        Assert.Single(await harness.EventsAsync(player, Timeout), e => e.Type == "quest.accepted");
    }
}
