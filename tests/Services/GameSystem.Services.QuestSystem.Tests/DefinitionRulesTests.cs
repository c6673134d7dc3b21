using GameSystem.QuestSystem.V1;
using GameSystem.Services.QuestSystem.Internal;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>The prerequisite graph and the log rules, without NATS or a store.</summary>
public sealed class DefinitionRulesTests
{
    private static PrerequisiteGraph Graph(params (string Quest, string[] Requires)[] edges)
    {
        var graph = new PrerequisiteGraph();
        foreach (var (quest, requires) in edges)
        {
            graph.Edges[quest] = new QuestIdList { QuestIds = { requires } };
        }

        return graph;
    }

    [Fact]
    public void FindCycle_ThroughOtherQuests_ReturnsThePathBackToTheQuest()
    {
        var graph = Graph(("q.a", []), ("q.b", ["q.a"]), ("q.c", ["q.b", "q.x"]), ("q.x", []), ("q.d", ["q.c"]));

        Assert.Equal(["q.a", "q.d", "q.c", "q.b", "q.a"], DefinitionRules.FindCycle(graph, "q.a", ["q.d"]));
        Assert.Null(DefinitionRules.FindCycle(graph, "q.a", ["q.x"]));
        Assert.Null(DefinitionRules.FindCycle(graph, "q.e", ["q.d", "q.c"]));
    }

    [Fact]
    public void FindCycle_OnADiamondOfThousandsOfQuests_ExpandsEachQuestOnce()
    {
        // Quest i requires i-1 and i-2: exponentially many paths, linear work when each is visited once.
        var graph = Graph([.. Enumerable.Range(0, 5000).Select(i => ($"q.{i}", i < 2 ? Array.Empty<string>() : new[] { $"q.{i - 1}", $"q.{i - 2}" }))]);

        var cycle = DefinitionRules.FindCycle(graph, "q.0", ["q.4999"]);

        Assert.NotNull(cycle);
        Assert.Equal("q.0", cycle[0]);
        Assert.Equal("q.0", cycle[^1]);
        Assert.Null(DefinitionRules.FindCycle(graph, "q.5000", ["q.4999"]));
    }

    [Fact]
    public void GraphProblem_NamesAnUnknownPrerequisiteByItsIndex()
    {
        var problem = DefinitionRules.GraphProblem(Graph(("q.a", [])), "q.b", ["q.a", "q.ghost"]);

        Assert.Equal("quest_definition.prerequisites.completed_quest_ids[1]", problem?.Field);
        Assert.Contains("'q.ghost', which does not exist", problem?.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_ClampsAtTheTarget_AndNeverLowersACompletedObjective()
    {
        var objective = new ObjectiveProgress { ObjectiveId = "slay", RequiredCount = 10 };

        Assert.True(LogRules.Progress(objective, increment: 7, absolute: null));
        Assert.True(LogRules.Progress(objective, increment: 7, absolute: null));
        Assert.Equal(10, objective.CurrentCount);
        Assert.True(objective.Completed);
        Assert.False(LogRules.Progress(objective, increment: null, absolute: 2));
        Assert.Equal(10, objective.CurrentCount);
    }

    [Fact]
    public void Check_ARepeatableQuestOnCooldown_SaysWhenItIsAvailable()
    {
        var now = DateTimeOffset.Parse("2026-12-06T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var definition = new QuestDefinition { QuestId = "q.daily.bounty", State = QuestDefinitionState.Published, Repeatable = true, RepeatCooldown = Duration.FromTimeSpan(TimeSpan.FromHours(20)) };
        var record = new PlayerQuestRecord { Quest = new PlayerQuest { QuestId = definition.QuestId, State = PlayerQuestState.Completed, Attempt = 1 }, CompletedCount = 1, LastCompleteTime = Timestamp.FromDateTimeOffset(now.AddHours(-2)) };

        var verdict = LogRules.Check(definition, record, _ => null, _ => false, facts: null, now);
        var later = LogRules.Check(definition, record, _ => null, _ => false, facts: null, now.AddHours(18));

        Assert.False(verdict.Available);
        Assert.Equal(Timestamp.FromDateTimeOffset(now.AddHours(18)), verdict.AvailableTime);
        Assert.Equal(["quest q.daily.bounty is on cooldown until 2026-12-07T06:00:00Z"], verdict.Reasons);
        Assert.True(later.Available);
    }
}
