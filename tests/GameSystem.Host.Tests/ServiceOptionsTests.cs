using GameSystem.Services.EventBus;
using GameSystem.Settings;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Host.Tests;

/// <summary>A service's IOptions&lt;T&gt; is bound from GameSystem:&lt;T without Options&gt;; a bad setting stops start-up naming it.</summary>
public sealed class ServiceOptionsTests
{
    [Fact]
    public void EventBusOptions_AreReadFromGameSystemEventBus()
    {
        var options = Read(
            ("GameSystem:EventBus:Streams:0:Name", "quests"),
            ("GameSystem:EventBus:Streams:0:TypePatterns:0", "quest.>"),
            ("GameSystem:EventBus:Streams:0:TypePatterns:1", "achievement.*"),
            ("GameSystem:EventBus:Streams:0:MaxAge", "7.00:00:00"),
            ("GameSystem:EventBus:Streams:0:MaxEvents", "100000"),
            ("GameSystem:EventBus:Streams:0:DuplicateWindow", "00:05:00"),
            ("GameSystem:EventBus:Streams:0:Replicas", "3"),
            ("GameSystem:EventBus:Streams:0:Storage", "memory"),
            ("GameSystem:EventBus:Streams:1:Name", "events"),
            ("GameSystem:EventBus:Streams:1:TypePatterns:0", ">"));

        var quests = options.Streams[0];
        Assert.Equal("GameSystem:EventBus", ServiceOptions.SectionOf(typeof(EventBusOptions)));
        Assert.Equal(["quests", "events"], options.Streams.Select(s => s.Name));
        Assert.Equal(["quest.>", "achievement.*"], quests.TypePatterns);
        Assert.Equal((TimeSpan.FromDays(7), 100000L, TimeSpan.FromMinutes(5), 3, EventBusStorage.Memory), (quests.MaxAge, quests.MaxEvents, quests.DuplicateWindow, quests.Replicas, quests.Storage));
        Assert.Equal(TimeSpan.FromMinutes(2), options.Streams[1].DuplicateWindow);
    }

    [Fact]
    public void NoEventBusSection_GivesTheDefaultStreams()
    {
        var options = Read();

        Assert.Empty(options.Streams);
        Assert.Equal(["dead-letters", "events"], options.EffectiveStreams.Select(s => s.Name));
        Assert.Same(EventBusOptions.DefaultStreams, EventBusOptions.Default.EffectiveStreams);
    }

    [Theory]
    [InlineData("GameSystem:EventBus:Streams:0:MaxAge", "a week", "GameSystem:EventBus:Streams:0:MaxAge", "'a week' is not a duration")]
    [InlineData("GameSystem:EventBus:Streams:0:Replicas", "9", "GameSystem:EventBus:Streams:0:Replicas", "must be 1-5")]
    [InlineData("GameSystem:EventBus:Streams:0:Storage", "tape", "GameSystem:EventBus:Streams:0:Storage", "'tape'")]
    [InlineData("GameSystem:EventBus:Streams:0:TypePatterns:1", "quest.>.x", "GameSystem:EventBus:Streams:0:TypePatterns:1", "'>' before its last token")]
    [InlineData("GameSystem:EventBus:Streams:0:MaxAges", "1.00:00:00", "GameSystem:EventBus:Streams:0:MaxAges", "is not a setting of GameSystem:EventBus")]
    [InlineData("GameSystem:EventBus:Stream:0:Name", "x", "GameSystem:EventBus:Stream", "is not a setting of GameSystem:EventBus")]
    public void BadEventBusSetting_StopsStartUpNamingTheSetting(string key, string value, string named, string says)
    {
        var error = Assert.Throws<SettingException>(() => Read(("GameSystem:EventBus:Streams:0:Name", "quests"), ("GameSystem:EventBus:Streams:0:TypePatterns:0", "quest.>"), (key, value)));

        Assert.True(named == error.Setting, error.Message);
        Assert.StartsWith($"Configuration error: {named} ", error.Message, StringComparison.Ordinal);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }

    private static EventBusOptions Read(params (string Key, string Value)[] values) =>
        (EventBusOptions)ServiceOptions.Read(
            new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build(),
            typeof(EventBusOptions));
}
