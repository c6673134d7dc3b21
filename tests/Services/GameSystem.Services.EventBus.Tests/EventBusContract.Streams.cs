using GameSystem.EventBus.V1;
using Grpc.Core;

namespace GameSystem.Services.EventBus.Tests;

public sealed partial class EventBusContract
{
    [Fact(Timeout = 30_000)]
    public async Task GetEvent_ForASequenceNeverAssignedOrRemoved_FailsNotFoundSayingWhich()
    {
        await using var bus = await StartAsync(new EventBusOptions { Streams = [new() { Name = "recent", TypePatterns = [">"], MaxEvents = 2 }] });
        await PublishAsync(bus, 3);

        var never = await FailsAsync(StatusCode.NotFound, () => bus.Client.GetEventAsync(new GetEventRequest { Stream = "recent", Sequence = 4 }, cancellationToken: Timeout).AsTask());
        var removed = await FailsAsync(StatusCode.NotFound, () => bus.Client.GetEventAsync(new GetEventRequest { Stream = "recent", Sequence = 1 }, cancellationToken: Timeout).AsTask());
        var zero = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.GetEventAsync(new GetEventRequest { Stream = "recent", Sequence = 0 }, cancellationToken: Timeout).AsTask());
        var kept = await bus.Client.GetEventAsync(new GetEventRequest { Stream = "recent", Sequence = 2 }, cancellationToken: Timeout);

        Assert.Equal("Stream 'recent' has no event 4: that sequence was never assigned (the last is 3).", never.Status.Detail);
        Assert.Equal("Stream 'recent' has no event 1: it was removed by the stream's limits (the oldest stored is 2).", removed.Status.Detail);
        Assert.Equal("sequence", ViolatedField(zero));
        Assert.Equal(2UL, kept.Event.Sequence);
    }

    [Fact(Timeout = 30_000)]
    public async Task GetStreamInfo_ReportsConfigurationAndState()
    {
        var options = new EventBusOptions { Streams = [new() { Name = "quests", TypePatterns = ["quest.>", "achievement.*"], MaxAge = TimeSpan.FromDays(7), MaxEvents = 1000, DuplicateWindow = TimeSpan.FromMinutes(5) }] };
        await using var bus = await StartAsync(options);
        var empty = (await bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "quests" }, cancellationToken: Timeout)).Stream;
        await PublishAsync(bus, 3);
        await using (var subscription = await Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "quests", ConsumerName = "quest-system.sync", HeartbeatInterval = FastHeartbeat }, Timeout))
        {
        }

        var info = (await bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "quests" }, cancellationToken: Timeout)).Stream;

        Assert.Equal((0UL, 0UL, 0L), (empty.FirstSequence, empty.LastSequence, empty.EventCount));
        Assert.Null(empty.FirstPublishTime);
        Assert.Equal(["quest.>", "achievement.*"], info.TypePatterns);
        Assert.Equal(TimeSpan.FromDays(7), info.MaxAge.ToTimeSpan());
        Assert.Equal(1000, info.MaxEvents);
        Assert.Equal(TimeSpan.FromMinutes(5), info.DuplicateWindow.ToTimeSpan());
        Assert.Equal((1UL, 3UL, 3L), (info.FirstSequence, info.LastSequence, info.EventCount));
        Assert.True(info.SizeBytes > 0);
        Assert.True(info.FirstPublishTime.ToDateTimeOffset() <= info.LastPublishTime.ToDateTimeOffset());
        Assert.Equal(1, info.ConsumerCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListStreams_IsOrderedByNameAndPaged_AndFiltersByTheStreamThatWouldCaptureAType()
    {
        var options = new EventBusOptions
        {
            Streams =
            [
                new() { Name = "world", TypePatterns = [">"] },
                new() { Name = "npcs", TypePatterns = ["npc.>"] },
                new() { Name = "quests", TypePatterns = ["quest.>"] },
            ],
        };
        await using var bus = await StartAsync(options);

        var first = await bus.Client.ListStreamsAsync(new ListStreamsRequest { PageSize = 2 }, cancellationToken: Timeout);
        var second = await bus.Client.ListStreamsAsync(new ListStreamsRequest { PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Timeout);
        var captures = await bus.Client.ListStreamsAsync(new ListStreamsRequest { CapturesType = "npc.spawned" }, cancellationToken: Timeout);
        var badToken = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.ListStreamsAsync(new ListStreamsRequest { PageToken = "not-a-token" }, cancellationToken: Timeout).AsTask());
        var badType = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.ListStreamsAsync(new ListStreamsRequest { CapturesType = "npc.*" }, cancellationToken: Timeout).AsTask());
        var badSize = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.ListStreamsAsync(new ListStreamsRequest { PageSize = 101 }, cancellationToken: Timeout).AsTask());

        Assert.Equal(["npcs", "quests"], first.Streams.Select(s => s.Name));
        Assert.Equal(["world"], second.Streams.Select(s => s.Name));
        Assert.Empty(second.NextPageToken);
        Assert.Equal(["npcs"], captures.Streams.Select(s => s.Name));
        Assert.Equal("page_token", ViolatedField(badToken));
        Assert.Equal("captures_type", ViolatedField(badType));
        Assert.Equal("page_size", ViolatedField(badSize));
    }

    [Fact(Timeout = 30_000)]
    public async Task GetStreamInfo_WithABadOrUnknownName_FailsInvalidArgumentOrNotFound()
    {
        await using var bus = await StartAsync();

        var bad = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events.all" }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "quests" }, cancellationToken: Timeout).AsTask());

        Assert.Equal("stream", ViolatedField(bad));
    }

    [Fact(Timeout = 40_000)]
    public async Task Consumers_AreListedByNameAndPaged_DescribedWithTheirFilters_AndDeletedOnce()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 2);
        string[] names = ["story-teller.arcs", "quest-system.world-sync", "npc-behavior.memory"];
        foreach (var name in names)
        {
            var request = Durable(name, DeliverPolicy.All);
            request.TypeFilters.Add("quest.>");
            request.SubjectFilter = "players/p-1";
            await using var subscription = await Subscription.OpenAsync(bus.Client, request, Timeout);
        }

        // An ephemeral subscription's consumer is not a durable one and is not listed.
        await using var ephemeral = await Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "events", HeartbeatInterval = FastHeartbeat }, Timeout);
        var first = await bus.Client.ListConsumersAsync(new ListConsumersRequest { Stream = "events", PageSize = 2 }, cancellationToken: Timeout);
        var second = await bus.Client.ListConsumersAsync(new ListConsumersRequest { Stream = "events", PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Timeout);
        var one = (await bus.Client.GetConsumerAsync(new GetConsumerRequest { Stream = "events", ConsumerName = "quest-system.world-sync" }, cancellationToken: Timeout)).Consumer;
        var deleted = await bus.Client.DeleteConsumerAsync(new DeleteConsumerRequest { Stream = "events", ConsumerName = "quest-system.world-sync" }, cancellationToken: Timeout);
        var again = await bus.Client.DeleteConsumerAsync(new DeleteConsumerRequest { Stream = "events", ConsumerName = "quest-system.world-sync" }, cancellationToken: Timeout);
        var gone = await FailsAsync(StatusCode.NotFound, () => bus.Client.GetConsumerAsync(new GetConsumerRequest { Stream = "events", ConsumerName = "quest-system.world-sync" }, cancellationToken: Timeout).AsTask());
        var badName = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.GetConsumerAsync(new GetConsumerRequest { Stream = "events", ConsumerName = "quest-system..sync" }, cancellationToken: Timeout).AsTask());

        Assert.Equal(["npc-behavior.memory", "quest-system.world-sync"], first.Consumers.Select(c => c.Name));
        Assert.Equal(["story-teller.arcs"], second.Consumers.Select(c => c.Name));
        Assert.Empty(second.NextPageToken);
        Assert.Equal("events", one.Stream);
        Assert.Equal(["quest.>"], one.TypeFilters);
        Assert.Equal("players/p-1", one.SubjectFilter);
        // Both events are quest.completed about other players: filtered out, so acked at once.
        Assert.Equal(2UL, one.AckFloor);
        Assert.Equal(0, one.PendingCount);
        Assert.NotNull(one.CreateTime);
        Assert.True(deleted.Deleted);
        Assert.False(again.Deleted);
        Assert.Contains("no durable consumer 'quest-system.world-sync'", gone.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("consumer_name", ViolatedField(badName));
    }
}
