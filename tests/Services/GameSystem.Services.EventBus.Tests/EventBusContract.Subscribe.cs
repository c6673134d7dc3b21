using GameSystem.EventBus.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.EventBus.Tests;

public sealed partial class EventBusContract
{
    [Fact(Timeout = 30_000)]
    public async Task Subscribe_FromAll_DeliversStoredEventsThenLiveOnes_InOrder()
    {
        await using var bus = await StartAsync();
        var stored = await PublishAsync(bus, 3);

        await using var subscription = await Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.All, HeartbeatInterval = FastHeartbeat }, Timeout, waitForHeartbeat: false);
        var first = await subscription.EventsAsync(3);
        var live = await PublishAsync(bus, 2);
        var next = await subscription.EventsAsync(2);

        Assert.Equal(stored.Concat(live).Select(p => p.Sequence), first.Concat(next).Select(e => e.Event.Sequence));
        Assert.All(first.Concat(next), e => Assert.Equal(1, e.DeliveryCount));
        Assert.All(first.Concat(next), e => Assert.Equal("events", e.Event.Stream));
    }

    [Fact(Timeout = 30_000)]
    public async Task Subscribe_FromNow_SkipsStoredEvents_AndSendsHeartbeatsWhileIdle()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 2);

        await using var subscription = await Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "events", HeartbeatInterval = FastHeartbeat }, Timeout);
        var heartbeat = (await subscription.NextAsync()).Heartbeat;
        var live = await PublishAsync(bus, 1);
        var delivered = (await subscription.EventsAsync(1))[0];

        Assert.NotNull(heartbeat);
        Assert.Equal(2UL, heartbeat.StreamLastSequence);
        Assert.InRange(heartbeat.ServerTime.ToDateTimeOffset(), DateTimeOffset.UtcNow.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(live[0].Sequence, delivered.Event.Sequence);
    }

    [Fact(Timeout = 30_000)]
    public async Task Subscribe_BySequenceAndByTime_StartWhereAsked()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 3);
        await Task.Delay(50, Timeout);
        var cut = DateTimeOffset.UtcNow;
        await Task.Delay(50, Timeout);
        await PublishAsync(bus, 2);

        await using var bySequence = await Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.BySequence, StartSequence = 2, HeartbeatInterval = FastHeartbeat }, Timeout, waitForHeartbeat: false);
        var fromTwo = await bySequence.EventsAsync(4);
        await using var byTime = await Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.ByTime, StartTime = Timestamp.FromDateTimeOffset(cut), HeartbeatInterval = FastHeartbeat }, Timeout, waitForHeartbeat: false);
        var fromCut = await byTime.EventsAsync(2);

        Assert.Equal([2UL, 3, 4, 5], fromTwo.Select(e => e.Event.Sequence));
        Assert.Equal([4UL, 5], fromCut.Select(e => e.Event.Sequence));
        Assert.Equal(SubscribeResponse.ItemOneofCase.Heartbeat, (await byTime.NextAsync()).ItemCase);
    }

    [Fact(Timeout = 30_000)]
    public async Task Subscribe_WithTypeAndSubjectFilters_DeliversOnlyMatchingEvents()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 1, "quest.completed", "players/p-1");
        await PublishAsync(bus, 1, "npc.spawned", "players/p-1");
        await PublishAsync(bus, 1, "quest.failed", "players/p-2");
        await PublishAsync(bus, 1, "world.weather.changed", "players/p-1");
        await PublishAsync(bus, 1, "quest.completed", "players/p-2");

        async Task<ulong[]> SequencesAsync(SubscribeRequest request, int expected)
        {
            request.Stream = "events";
            request.DeliverPolicy = DeliverPolicy.All;
            request.HeartbeatInterval = FastHeartbeat;
            await using var subscription = await Subscription.OpenAsync(bus.Client, request, Timeout, waitForHeartbeat: false);
            var events = await subscription.EventsAsync(expected);
            Assert.Equal(SubscribeResponse.ItemOneofCase.Heartbeat, (await subscription.NextAsync()).ItemCase);
            return [.. events.Select(e => e.Event.Sequence)];
        }

        Assert.Equal(new ulong[] { 1, 3, 5 }, await SequencesAsync(new SubscribeRequest { TypeFilters = { "quest.*" } }, 3));
        Assert.Equal(new ulong[] { 2, 4 }, await SequencesAsync(new SubscribeRequest { TypeFilters = { "npc.>", "world.*.changed" } }, 2));
        Assert.Equal(new ulong[] { 1, 2, 4 }, await SequencesAsync(new SubscribeRequest { SubjectFilter = "players/p-1" }, 3));
        Assert.Equal(new ulong[] { 5 }, await SequencesAsync(new SubscribeRequest { TypeFilters = { "quest.completed" }, SubjectFilter = "players/p-2", ConsumerName = NewConsumerName() }, 1));
    }

    [Fact(Timeout = 40_000)]
    public async Task Subscribe_DurableThatDisconnectsWithoutAcking_GetsTheSameEventsAgainWithDeliveryCountAbove1()
    {
        await using var bus = await StartAsync();
        var published = await PublishAsync(bus, 4);
        var consumer = NewConsumerName();

        List<SubscribeResponse> first;
        await using (var subscription = await Subscription.OpenAsync(bus.Client, Durable(consumer, DeliverPolicy.All), Timeout, waitForHeartbeat: false))
        {
            first = await subscription.EventsAsync(4);
            await bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 2 }, cancellationToken: Timeout);
        }

        await using var again = await Subscription.OpenAsync(bus.Client, Durable(consumer), Timeout, waitForHeartbeat: false);
        var redelivered = await again.EventsAsync(2);

        Assert.Equal(published.Select(p => p.Sequence), first.Select(e => e.Event.Sequence));
        Assert.All(first, e => Assert.Equal(1, e.DeliveryCount));
        Assert.Equal([3UL, 4], redelivered.Select(e => e.Event.Sequence));
        Assert.All(redelivered, e => Assert.True(e.DeliveryCount > 1, $"delivery_count {e.DeliveryCount}"));
        Assert.Equal(first[2].Event.Event, redelivered[0].Event.Event);
        Assert.Equal(SubscribeResponse.ItemOneofCase.Heartbeat, (await again.NextAsync()).ItemCase);
    }

    [Fact(Timeout = 40_000)]
    public async Task Subscribe_DurableAfterAckingEverything_ResumesWithOnlyNewEvents()
    {
        await using var bus = await StartAsync();
        var consumer = NewConsumerName();
        await using (var subscription = await Subscription.OpenAsync(bus.Client, Durable(consumer), Timeout))
        {
            await PublishAsync(bus, 3);
            var events = await subscription.EventsAsync(3);
            var ack = await bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = events[^1].Event.Sequence }, cancellationToken: Timeout);
            Assert.Equal(3UL, ack.AckFloor);
        }

        var later = await PublishAsync(bus, 1);
        await using var resumed = await Subscription.OpenAsync(bus.Client, Durable(consumer), Timeout, waitForHeartbeat: false);
        var next = await resumed.EventsAsync(1);

        // Only the new event comes. Its delivery_count is 1 unless JetStream pushed it to the
        // closed subscription before noticing it had gone (then 2): the count is JetStream's,
        // and at-least-once lets it be high, never skip an event.
        Assert.Equal(later[0].Sequence, Assert.Single(next).Event.Sequence);
        Assert.InRange(next[0].DeliveryCount, 1, 2);
    }

    [Fact(Timeout = 40_000)]
    public async Task Subscribe_DurableWithMaxUnacked_PausesDeliveryUntilAnAck()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 5);
        var consumer = NewConsumerName();

        await using var subscription = await Subscription.OpenAsync(bus.Client, Durable(consumer, DeliverPolicy.All, maxUnacked: 2), Timeout, waitForHeartbeat: false);
        var firstTwo = await subscription.EventsAsync(2);
        var paused = await subscription.NextAsync();
        await bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 1 }, cancellationToken: Timeout);
        var third = await subscription.EventsAsync(1);
        var pausedAgain = await subscription.NextAsync();

        Assert.Equal([1UL, 2], firstTwo.Select(e => e.Event.Sequence));
        Assert.Equal(SubscribeResponse.ItemOneofCase.Heartbeat, paused.ItemCase);
        Assert.Equal(5UL, paused.Heartbeat.StreamLastSequence);
        Assert.Equal(3UL, third[0].Event.Sequence);
        Assert.Equal(SubscribeResponse.ItemOneofCase.Heartbeat, pausedAgain.ItemCase);
    }

    [Fact(Timeout = 40_000)]
    public async Task Subscribe_SecondLiveSubscriptionOfADurableConsumer_FailsPrecondition_OnAnyInstance()
    {
        var ns = EventBusHarness.NewNamespace();
        await using var one = await StartAsync(ns: ns);
        await using var two = await StartAsync(ns: ns);
        var consumer = NewConsumerName();
        await using var live = await Subscription.OpenAsync(one.Client, Durable(consumer), Timeout);

        var sameInstance = await FailsAsync(StatusCode.FailedPrecondition, () => Subscription.OpenAsync(one.Client, Durable(consumer), Timeout));
        var otherInstance = await FailsAsync(StatusCode.FailedPrecondition, () => Subscription.OpenAsync(two.Client, Durable(consumer), Timeout));

        Assert.Contains($"Consumer '{consumer}' of stream 'events' already has a live subscription", sameInstance.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("already has a live subscription", otherInstance.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(SubscribeResponse.ItemOneofCase.Heartbeat, (await live.NextAsync()).ItemCase);
    }

    [Fact(Timeout = 40_000)]
    public async Task Ack_OnAnotherInstanceThanTheSubscription_MovesTheFloor_AndRejectsWhatWasNotDelivered()
    {
        var ns = EventBusHarness.NewNamespace();
        await using var serving = await StartAsync(ns: ns);
        await using var other = await StartAsync(ns: ns);
        await PublishAsync(serving, 3);
        var consumer = NewConsumerName();
        await using var subscription = await Subscription.OpenAsync(serving.Client, Durable(consumer, DeliverPolicy.All, maxUnacked: 2), Timeout, waitForHeartbeat: false);
        await subscription.EventsAsync(2);

        var acked = await other.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 2 }, cancellationToken: Timeout);
        var below = await other.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 1 }, cancellationToken: Timeout);
        var third = await subscription.EventsAsync(1);
        var above = await FailsAsync(StatusCode.FailedPrecondition, () => other.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 9 }, cancellationToken: Timeout).AsTask());
        var state = (await other.Client.GetConsumerAsync(new GetConsumerRequest { Stream = "events", ConsumerName = consumer }, cancellationToken: Timeout)).Consumer;

        Assert.Equal(2UL, acked.AckFloor);
        Assert.Equal(2UL, below.AckFloor);
        Assert.Equal(3UL, third[0].Event.Sequence);
        Assert.Contains("sequence 9 is above the last event delivered", above.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(2UL, state.AckFloor);
        Assert.Equal(3UL, state.DeliveredSequence);
        Assert.Equal(1, state.PendingCount);
        Assert.True(state.Active);
    }

    [Fact(Timeout = 40_000)]
    public async Task Ack_WithNoLiveSubscription_IsANoOpAtTheFloorAndFailsPreconditionAboveIt()
    {
        await using var bus = await StartAsync();
        await PublishAsync(bus, 3);
        var consumer = NewConsumerName();
        await using (var subscription = await Subscription.OpenAsync(bus.Client, Durable(consumer, DeliverPolicy.All), Timeout, waitForHeartbeat: false))
        {
            await subscription.EventsAsync(3);
            await bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 1 }, cancellationToken: Timeout);
        }

        await WaitUntilInactiveAsync(bus, consumer);
        var atFloor = await bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 1 }, cancellationToken: Timeout);
        var above = await FailsAsync(StatusCode.FailedPrecondition, () => bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = consumer, Sequence = 3 }, cancellationToken: Timeout).AsTask());
        var unknown = await FailsAsync(StatusCode.NotFound, () => bus.Client.AckAsync(new AckRequest { Stream = "events", ConsumerName = "nobody.here", Sequence = 1 }, cancellationToken: Timeout).AsTask());

        Assert.Equal(1UL, atFloor.AckFloor);
        Assert.Contains("has no live subscription", above.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("delivered again by its next Subscribe", above.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("no durable consumer 'nobody.here'", unknown.Status.Detail, StringComparison.Ordinal);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("stream", "")]
    [InlineData("stream", "no such")]
    [InlineData("type_filters[0]", "quest.>.x")]
    [InlineData("start_sequence", "by-sequence-0")]
    [InlineData("start_sequence", "sequence-without-policy")]
    [InlineData("start_time", "by-time-without-time")]
    [InlineData("consumer_name", "bad name")]
    [InlineData("max_unacked", "10001")]
    [InlineData("heartbeat_interval", "0.1s")]
    [InlineData("heartbeat_interval", "10m")]
    public async Task Subscribe_WithBadInput_FailsInvalidArgumentNamingTheField(string field, string value)
    {
        await using var bus = await StartAsync();
        var request = new SubscribeRequest { Stream = "events" };
        switch (field, value)
        {
            case ("stream", _): request.Stream = value; break;
            case ("type_filters[0]", _): request.TypeFilters.Add(value); break;
            case ("start_sequence", "by-sequence-0"): request.DeliverPolicy = DeliverPolicy.BySequence; break;
            case ("start_sequence", _): request.StartSequence = 5; break;
            case ("start_time", _): request.DeliverPolicy = DeliverPolicy.ByTime; break;
            case ("consumer_name", _): request.ConsumerName = value; break;
            case ("max_unacked", _): request.MaxUnacked = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case ("heartbeat_interval", "0.1s"): request.HeartbeatInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)); break;
            case ("heartbeat_interval", _): request.HeartbeatInterval = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)); break;
        }

        var error = await FailsAsync(StatusCode.InvalidArgument, () => Subscription.OpenAsync(bus.Client, request, Timeout));

        Assert.Equal(field, ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Subscribe_ToAnUnknownStream_FailsNotFoundListingTheStreams()
    {
        await using var bus = await StartAsync();

        var error = await FailsAsync(StatusCode.NotFound, () => Subscription.OpenAsync(bus.Client, new SubscribeRequest { Stream = "quests" }, Timeout));

        Assert.Equal("Stream 'quests' is not configured; the streams are dead-letters, events (GameSystem:EventBus:Streams).", error.Status.Detail);
    }

    private static async Task WaitUntilInactiveAsync(EventBusHarness bus, string consumer)
    {
        for (var i = 0; i < 50; i++)
        {
            var state = (await bus.Client.GetConsumerAsync(new GetConsumerRequest { Stream = "events", ConsumerName = consumer }, cancellationToken: Timeout)).Consumer;
            if (!state.Active)
            {
                return;
            }

            await Task.Delay(100, Timeout);
        }

        Assert.Fail($"consumer {consumer} stayed active after its subscription ended");
    }
}
