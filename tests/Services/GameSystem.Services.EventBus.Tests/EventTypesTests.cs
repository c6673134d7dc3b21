using System.ComponentModel.DataAnnotations;
using GameSystem.Services.EventBus.Internal;

namespace GameSystem.Services.EventBus.Tests;

/// <summary>Event types, patterns and names, and the validation of the options, without NATS.</summary>
public sealed class EventTypesTests
{
    [Theory]
    [InlineData(">", "quest.completed", true)]
    [InlineData("quest.>", "quest.completed", true)]
    [InlineData("quest.>", "quest", false)]
    [InlineData("quest.*", "quest.completed", true)]
    [InlineData("quest.*", "quest.step.completed", false)]
    [InlineData("*.spawned", "npc.spawned", true)]
    [InlineData("npc.*.spawned", "npc.orc.spawned", true)]
    [InlineData("quest.completed", "quest.completed", true)]
    [InlineData("quest.completed", "quest.complete", false)]
    [InlineData("quest", "quest.completed", false)]
    [InlineData("deadletter.>", "deadletter.quest-system.sync", true)]
    public void Matches_FollowsNatsWildcards(string pattern, string type, bool matches) =>
        Assert.Equal(matches, EventTypes.Matches(pattern, type));

    [Theory]
    [InlineData("quest.completed", true)]
    [InlineData("npc_2.spawn-point", true)]
    [InlineData("quest.*", false)]
    [InlineData("quest.>", false)]
    [InlineData(".quest", false)]
    [InlineData("quest/completed", false)]
    public void CheckType_AcceptsDottedTokensOnly(string type, bool valid) =>
        Assert.Equal(valid, EventTypes.CheckType(type) is null);

    [Theory]
    [InlineData("quest.>", true)]
    [InlineData(">", true)]
    [InlineData("*.*", true)]
    [InlineData("quest.>.x", false)]
    [InlineData("que*st", false)]
    public void CheckPattern_AcceptsWildcardsAsWholeTokens(string pattern, bool valid) =>
        Assert.Equal(valid, EventTypes.CheckPattern(pattern) is null);

    [Fact]
    public void DurableNames_MapConsumerNamesOneToOne()
    {
        Assert.Equal("quest-system~world-sync", EventTypes.ToDurableName("quest-system.world-sync"));
        Assert.Equal("quest-system.world-sync", EventTypes.FromDurableName(EventTypes.ToDurableName("quest-system.world-sync")));
        Assert.NotNull(EventTypes.CheckConsumerName("quest~sync"));
    }

    [Fact]
    public void Route_PicksTheFirstMatchingStreamByName()
    {
        var catalog = new StreamCatalog("gs", EventBusOptions.Default.EffectiveStreams);

        Assert.Equal("dead-letters", catalog.Route("deadletter.quest-system")?.Name);
        Assert.Equal("events", catalog.Route("quest.completed")?.Name);
        Assert.Equal("gs-eventbus-events", catalog.Find("events")?.JetStreamName);
        Assert.Equal("gs.events.events.quest.completed", catalog.Find("events")?.SubjectFor("quest.completed"));
    }

    [Theory]
    [InlineData("Name", "bad name")]
    [InlineData("TypePatterns:0", "quest.>.x")]
    [InlineData("MaxAge", "-1")]
    [InlineData("MaxEvents", "-5")]
    [InlineData("DuplicateWindow", "0")]
    [InlineData("DuplicateWindow", "longer")]
    [InlineData("Replicas", "9")]
    public void Validate_NamesTheBadSettingByItsKey(string key, string value)
    {
        var stream = new EventBusStreamOptions { Name = "quests", TypePatterns = ["quest.>"] };
        stream = (key, value) switch
        {
            ("Name", _) => stream with { Name = value },
            ("TypePatterns:0", _) => stream with { TypePatterns = [value] },
            ("MaxAge", _) => stream with { MaxAge = TimeSpan.FromSeconds(-1) },
            ("MaxEvents", _) => stream with { MaxEvents = -5 },
            ("DuplicateWindow", "0") => stream with { DuplicateWindow = TimeSpan.Zero },
            ("DuplicateWindow", _) => stream with { MaxAge = TimeSpan.FromMinutes(1), DuplicateWindow = TimeSpan.FromMinutes(2) },
            _ => stream with { Replicas = 9 },
        };
        var options = new EventBusOptions { Streams = [stream] };

        var problem = Assert.Single(options.Validate(new ValidationContext(options)));

        Assert.Equal([$"Streams:0:{key}"], problem.MemberNames);
    }

    [Fact]
    public void Validate_AcceptsTheDefaultsAndRejectsTwoStreamsOfOneName()
    {
        Assert.Empty(EventBusOptions.Default.Validate(new ValidationContext(EventBusOptions.Default)));
        var twice = new EventBusOptions { Streams = [new() { Name = "a", TypePatterns = [">"] }, new() { Name = "a", TypePatterns = ["x"] }] };

        Assert.Equal(["Streams:1:Name"], Assert.Single(twice.Validate(new ValidationContext(twice))).MemberNames);
    }
}
