using GameSystem.Testing;
using GameSystem.EventBus.V1;
using Grpc.Core;

namespace GameSystem.Services.EventBus.Tests;

public sealed partial class EventBusContract
{
    [Fact(Timeout = 30_000)]
    public async Task Publish_ThenGetEvent_ReturnsTheEventAsStored_WithOccurredAtDefaultedToThePublishTime()
    {
        await using var bus = await StartAsync();
        var domainEvent = NewEvent();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var published = await bus.Client.PublishAsync(new PublishRequest { Event = domainEvent }, cancellationToken: Timeout);
        var stored = (await bus.Client.GetEventAsync(new GetEventRequest { Stream = "events", Sequence = published.Sequence }, cancellationToken: Timeout)).Event;

        Assert.Equal("events", published.Stream);
        Assert.Equal(1UL, published.Sequence);
        Assert.False(published.Duplicate);
        Assert.Equal(domainEvent.EventId, stored.Event.EventId);
        Assert.Equal(domainEvent.Attributes, stored.Event.Attributes);
        Assert.Equal(domainEvent.Payload, stored.Event.Payload);
        Assert.InRange(stored.Event.OccurredAt.ToDateTimeOffset(), before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.InRange(stored.PublishTime.ToDateTimeOffset(), before, DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_SameEventIdAgain_StoresNothingAndReturnsTheOriginalSequenceAsDuplicate()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 2);
        var domainEvent = NewEvent();

        var first = await bus.Client.PublishAsync(new PublishRequest { Event = domainEvent }, cancellationToken: Timeout);
        await PublishAsync(bus, 1);
        var again = await bus.Client.PublishAsync(new PublishRequest { Event = domainEvent }, cancellationToken: Timeout);
        var info = (await bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events" }, cancellationToken: Timeout)).Stream;

        Assert.False(first.Duplicate);
        Assert.True(again.Duplicate);
        Assert.Equal(first.Sequence, again.Sequence);
        Assert.Equal(4, info.EventCount);
        Assert.Equal(4UL, info.LastSequence);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("", "quest.completed", "event.event_id")]
    [InlineData("e-1", "", "event.type")]
    [InlineData("e-1", "quest.*", "event.type")]
    [InlineData("e-1", "quest..completed", "event.type")]
    [InlineData("e-1", "quest.completed.", "event.type")]
    [InlineData("e-1", "quest completed", "event.type")]
    public async Task Publish_WhenEventIdOrTypeIsBad_FailsInvalidArgumentNamingTheField(string eventId, string type, string field)
    {
        await using var bus = await StartAsync();
        var domainEvent = NewEvent(type);
        domainEvent.EventId = eventId;

        var error = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.PublishAsync(new PublishRequest { Event = domainEvent }, cancellationToken: Timeout).AsTask());

        Assert.Equal(field, ViolatedField(error));
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_WhenTypeIsTooLong_FailsInvalidArgumentSayingTheLimit()
    {
        await using var bus = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.PublishAsync(new PublishRequest { Event = NewEvent("quest." + new string('x', 250)) }, cancellationToken: Timeout).AsTask());

        Assert.Equal("event.type", ViolatedField(error));
        Assert.Contains("at most 200", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_WhenLargerThanTheStreamKeeps_FailsInvalidArgumentSayingTheLimit_AlsoInABatch()
    {
        await using var bus = await StartAsync(new EventBusOptions { Streams = [new() { Name = "quests", TypePatterns = [">"], MaxEventBytes = 1024 }] });
        var large = NewEvent();
        large.Payload = Google.Protobuf.ByteString.CopyFrom(new byte[2000]);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.PublishAsync(new PublishRequest { Event = large }, cancellationToken: Timeout).AsTask());
        var batch = (await bus.Client.PublishBatchAsync(new PublishBatchRequest { Events = { NewEvent(), large } }, cancellationToken: Timeout)).Results;

        Assert.Equal("event", ViolatedField(error));
        Assert.Contains("stream 'quests' keeps events of at most 1024 bytes (MaxEventBytes)", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1UL, batch[0].Sequence);
        Assert.StartsWith("events[1]: is ", batch[1].Error, StringComparison.Ordinal);
        Assert.Equal(1, (await bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "quests" }, cancellationToken: Timeout)).Stream.EventCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_WhenLargerThanTheServerTakes_FailsResourceExhaustedSayingMaxPayload_AndStoresNothing()
    {
        await using var bus = await StartAsync();
        var domainEvent = NewEvent();
        domainEvent.Payload = Google.Protobuf.ByteString.CopyFrom(new byte[NatsServerFixture.MaxPayload]);

        var error = await FailsAsync(StatusCode.ResourceExhausted, () => bus.Client.PublishAsync(new PublishRequest { Event = domainEvent }, cancellationToken: Timeout).AsTask());

        Assert.Contains("max_payload", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, (await bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events" }, cancellationToken: Timeout)).Stream.EventCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_WithExpectedLastSequence_StoresOnlyWhenTheStreamIsThere()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 3);

        var stored = await bus.Client.PublishAsync(new PublishRequest { Event = NewEvent(), ExpectedLastSequence = 3 }, cancellationToken: Timeout);
        var error = await FailsAsync(StatusCode.FailedPrecondition, () => bus.Client.PublishAsync(new PublishRequest { Event = NewEvent(), ExpectedLastSequence = 3 }, cancellationToken: Timeout).AsTask());

        Assert.Equal(4UL, stored.Sequence);
        Assert.Contains("expected_last_sequence 3", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(4UL, (await bus.Client.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events" }, cancellationToken: Timeout)).Stream.LastSequence);
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_GoesToTheFirstStreamByNameThatCapturesTheType()
    {
        await using var bus = await StartAsync();

        var deadLetter = await bus.Client.PublishAsync(new PublishRequest { Event = NewEvent("deadletter.quest-system.world-sync") }, cancellationToken: Timeout);
        var other = await bus.Client.PublishAsync(new PublishRequest { Event = NewEvent("npc.spawned") }, cancellationToken: Timeout);

        Assert.Equal(("dead-letters", 1UL), (deadLetter.Stream, deadLetter.Sequence));
        Assert.Equal(("events", 1UL), (other.Stream, other.Sequence));
    }

    [Fact(Timeout = 30_000)]
    public async Task Publish_WhenNoStreamCapturesTheType_FailsPreconditionListingThePatterns()
    {
        await using var bus = await StartAsync(new EventBusOptions { Streams = [new() { Name = "quests", TypePatterns = ["quest.>"] }] });

        var error = await FailsAsync(StatusCode.FailedPrecondition, () => bus.Client.PublishAsync(new PublishRequest { Event = NewEvent("npc.spawned") }, cancellationToken: Timeout).AsTask());

        Assert.Contains("No stream captures type 'npc.spawned'", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("quests: quest.>", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task PublishBatch_StoresInOrderWithAResultEach_AndARetryIsAllDuplicates()
    {
        await using var bus = await StartAsync(new EventBusOptions { Streams = [new() { Name = "quests", TypePatterns = ["quest.>"] }] });
        var batch = new PublishBatchRequest { Events = { NewEvent(), NewEvent("npc.spawned"), NewEvent(), NewEvent() } };
        batch.Events[2].EventId = "";

        var first = (await bus.Client.PublishBatchAsync(batch, cancellationToken: Timeout)).Results;
        var retry = (await bus.Client.PublishBatchAsync(batch, cancellationToken: Timeout)).Results;

        Assert.Equal([1UL, 0, 0, 2], first.Select(r => r.Sequence));
        Assert.Equal(["quests", "", "", "quests"], first.Select(r => r.Stream));
        Assert.Contains("No stream captures type 'npc.spawned'", first[1].Error, StringComparison.Ordinal);
        Assert.StartsWith("events[2].event_id: is required", first[2].Error, StringComparison.Ordinal);
        Assert.Equal([batch.Events[0].EventId, batch.Events[3].EventId], new[] { first[0].EventId, first[3].EventId });
        Assert.Equal([true, false, false, true], retry.Select(r => r.Duplicate));
        Assert.Equal([1UL, 0, 0, 2], retry.Select(r => r.Sequence));
    }

    [Theory(Timeout = 30_000)]
    [InlineData(0)]
    [InlineData(101)]
    public async Task PublishBatch_WithNoneOrMoreThan100Events_FailsInvalidArgument(int count)
    {
        await using var bus = await StartAsync();
        var batch = new PublishBatchRequest();
        batch.Events.AddRange(Enumerable.Range(0, count).Select(_ => NewEvent()));

        var error = await FailsAsync(StatusCode.InvalidArgument, () => bus.Client.PublishBatchAsync(batch, cancellationToken: Timeout).AsTask());

        Assert.Equal("events", ViolatedField(error));
    }
}
