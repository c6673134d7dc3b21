using System.Collections.Concurrent;
using Bogus;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Events.Tests;

/// <summary>The consumer helper against the recording event-bus over a real nats-server.</summary>
public sealed class EventConsumerTests(NatsServerFixture nats)
{
    private const string Service = "quest-system";

    private static readonly EventConsumerOptions Fast = EventConsumerOptions.Default with
    {
        FirstReconnectBackoff = TimeSpan.FromMilliseconds(50),
        MaxReconnectBackoff = TimeSpan.FromMilliseconds(300),
        Heartbeat = TimeSpan.FromSeconds(1),
    };

    private readonly Faker _faker = new() { Random = new Randomizer(20261204) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task Handler_GetsOnlyItsTypes_InStreamOrder_AndEachHandledEventIsAcked()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var handled = new ConcurrentQueue<ReceivedEvent>();
        var subscription = NewSubscription(["quest.completed", "quest.progress.>"], (received, _) =>
        {
            handled.Enqueue(received);
            return ValueTask.CompletedTask;
        });
        using var metrics = new MetricsRecorder(EventsTelemetry.ConsumerTag, EventConsumer.NameOf(Service, subscription));
        await using var consumer = await StartConsumerAsync(harness, subscription);

        var types = new[] { "quest.completed", "npc.spawned", "quest.progress.objective", "quest.accepted", "quest.progress.objective.bonus", "quest.completed" };
        var stored = types.Select(type => harness.Bus.Append(NewEvent(type))).ToList();
        var wanted = stored.Where(s => s.Event.Type is "quest.completed" || s.Event.Type.StartsWith("quest.progress.", StringComparison.Ordinal)).ToList();

        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(consumer.Name), floor => floor == wanted[^1].Sequence, "the last wanted event acked");
        Assert.Equal(wanted.Select(s => s.Sequence), handled.Select(r => r.Sequence));
        Assert.Equal(wanted.Select(s => s.Event), handled.Select(r => r.Event));
        Assert.All(handled, r => Assert.Equal((1, 1), (r.DeliveryCount, r.Attempt)));
        Assert.Equal(wanted.Count, metrics.Sum("gamesystem.events.consumer.handled"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Handler_FailingTwice_IsRetriedInPlace_SoLaterEventsWait_AndNothingIsParked()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var attempts = new ConcurrentQueue<(ulong Sequence, int Attempt)>();
        ulong flaky = 0;
        var subscription = NewSubscription(["quest.>"], (received, _) =>
        {
            attempts.Enqueue((received.Sequence, received.Attempt));
            return received.Sequence == Volatile.Read(ref flaky) && received.Attempt <= 2
                ? throw new TimeoutException("the inventory store timed out")
                : ValueTask.CompletedTask;
        }) with { MaxAttempts = 5, RetryBackoff = TimeSpan.FromMilliseconds(20) };
        await using var consumer = await StartConsumerAsync(harness, subscription);

        var stored = Enumerable.Range(0, 4).Select(_ => harness.Bus.Append(NewEvent("quest.completed"))).ToList();
        Volatile.Write(ref flaky, stored[1].Sequence);
        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(consumer.Name), floor => floor == stored[^1].Sequence, "every event acked");

        var s = stored.Select(e => e.Sequence).ToList();
        Assert.Equal([(s[0], 1), (s[1], 1), (s[1], 2), (s[1], 3), (s[2], 1), (s[3], 1)], attempts.ToList());
        Assert.Empty(harness.Bus.Stored(RecordingEventBus.DeadLetterStream));
    }

    [Fact(Timeout = 30_000)]
    public async Task Handler_FailingEveryTime_IsParkedAsADeadLetter_AfterMaxAttempts_AndTheRestFlow()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var logs = new LogRecorder();
        var poison = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var handled = new ConcurrentQueue<string>();
        var subscription = NewSubscription(["quest.completed"], (received, _) =>
        {
            if (poison.ContainsKey(received.Event.EventId))
            {
                poison[received.Event.EventId] = received.Attempt;
                throw new InvalidOperationException($"reward table has no row for quest {received.Event.Subject}");
            }

            handled.Enqueue(received.Event.EventId);
            return ValueTask.CompletedTask;
        }) with { MaxAttempts = 3, RetryBackoff = TimeSpan.FromMilliseconds(20) };
        using var metrics = new MetricsRecorder(EventsTelemetry.ConsumerTag, EventConsumer.NameOf(Service, subscription));
        await using var consumer = await StartConsumerAsync(harness, subscription, logs);

        var events = Enumerable.Range(0, 4).Select(_ => NewEvent("quest.completed")).ToList();
        poison[events[1].EventId] = 0;
        var stored = events.Select(harness.Bus.Append).ToList();

        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(consumer.Name), floor => floor == stored[^1].Sequence, "every event acked");
        Assert.Equal([events[0].EventId, events[2].EventId, events[3].EventId], handled.ToList());
        Assert.Equal(3, poison[events[1].EventId]);

        var letter = Assert.Single(harness.Bus.Stored(RecordingEventBus.DeadLetterStream)).Event;
        Assert.Equal($"deadletter.{Service}.{subscription.Name}", letter.Type);
        Assert.Equal(consumer.DeadLetterType, letter.Type);
        Assert.Equal(Service, letter.Source);
        Assert.Equal(events[1].Subject, letter.Subject);
        Assert.Equal(StoredEvent.Descriptor.FullName, letter.PayloadType);
        Assert.Equal(stored[1], StoredEvent.Parser.ParseFrom(letter.Payload));
        Assert.Equal(3, letter.Attributes["attempts"].IntValue);
        Assert.Contains($"reward table has no row for quest {events[1].Subject}", letter.Attributes["error"].StringValue, StringComparison.Ordinal);
        Assert.StartsWith(typeof(InvalidOperationException).FullName!, letter.Attributes["error"].StringValue, StringComparison.Ordinal);
        Assert.Equal(events[1].EventId, letter.Attributes["event_id"].StringValue);
        Assert.Equal((long)stored[1].Sequence, letter.Attributes["sequence"].IntValue);
        Assert.Equal(consumer.Name, letter.Attributes["consumer"].StringValue);

        var parked = Assert.Single(logs.Entries, e => e.EventId == 3025);
        Assert.Contains(events[1].EventId, parked.Message, StringComparison.Ordinal);
        Assert.Equal(1, logs.Count(3023));
        Assert.Equal(1, metrics.Sum("gamesystem.events.consumer.parked"));
        Assert.Equal(3, metrics.Sum("gamesystem.events.consumer.failed"));
    }

    [Fact(Timeout = 30_000)]
    public async Task ParkingRefused_LeavesTheEventUnacked_UntilItsDeadLetterIsStored()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var logs = new LogRecorder();
        var subscription = NewSubscription(["quest.completed"], (_, _) => throw new FormatException("unreadable reward")) with { MaxAttempts = 1 };
        harness.Bus.Unroute($"deadletter.{Service}.{subscription.Name}");
        await using var consumer = await StartConsumerAsync(harness, subscription, logs);

        var stored = harness.Bus.Append(NewEvent("quest.completed"));
        await Eventually.HoldsAsync(() => harness.Bus.Attempts.Count(a => a.Event.Type == consumer.DeadLetterType) >= 3, "parking retried");
        Assert.Equal(0UL, harness.Bus.AckFloor(consumer.Name));
        Assert.Equal(1, logs.Count(3026));

        harness.Bus.Route(consumer.DeadLetterType);
        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(consumer.Name), floor => floor == stored.Sequence, "the event acked once parked");
        Assert.Single(harness.Bus.Stored(RecordingEventBus.DeadLetterStream));
    }

    [Fact(Timeout = 30_000)]
    public async Task StreamDropped_ConsumerSubscribesAgain_AndResumesAfterItsLastAck_SkippingNothing()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var logs = new LogRecorder();
        var handled = new ConcurrentQueue<ulong>();
        var subscription = NewSubscription(["quest.>"], (received, _) =>
        {
            handled.Enqueue(received.Sequence);
            return ValueTask.CompletedTask;
        });
        await using var consumer = await StartConsumerAsync(harness, subscription, logs);

        var before = Enumerable.Range(0, 3).Select(_ => harness.Bus.Append(NewEvent("quest.accepted"))).ToList();
        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(consumer.Name), floor => floor == before[^1].Sequence, "the first events acked");

        harness.Bus.RefuseSubscribe = StatusCode.Unavailable;
        harness.Bus.DropSubscriptions();
        await Eventually.HoldsAsync(() => logs.Count(3021) == 1, "the lost subscription reported");

        // Published while the consumer has no subscription.
        var during = Enumerable.Range(0, 3).Select(_ => harness.Bus.Append(NewEvent("quest.progress.objective"))).ToList();
        harness.Bus.RefuseSubscribe = null;

        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(consumer.Name), floor => floor == during[^1].Sequence, "the later events acked");
        Assert.Equal(before.Concat(during).Select(e => e.Sequence), handled.Distinct().ToList());
        Assert.Equal(1, logs.Count(3021));
        Assert.Equal(1, logs.Count(3022));
    }

    [Theory(Timeout = 30_000)]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Unimplemented)]
    public async Task EventBusRefusingSubscribe_ConsumerBacksOff_WarnsOnce_AndSubscribesWhenItIsBack(StatusCode refusal)
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.RefuseSubscribe = refusal;
        var logs = new LogRecorder();
        var handled = new ConcurrentQueue<string>();
        var subscription = NewSubscription(["quest.completed"], (received, _) =>
        {
            handled.Enqueue(received.Event.EventId);
            return ValueTask.CompletedTask;
        });
        var consumer = new EventConsumer(Service, subscription, harness.Client, logs.For<EventConsumer>(), options: Fast);
        await using (consumer)
        {
            await consumer.StartAsync(Timeout);
            await Eventually.HoldsAsync(() => harness.Bus.SubscribeAttempts >= 4, "several attempts to subscribe");
            var started = DateTime.UtcNow;
            var attempts = harness.Bus.SubscribeAttempts;
            await Eventually.HoldsAsync(() => harness.Bus.SubscribeAttempts >= attempts + 2, "two more attempts");

            // At the 300 ms cap, each attempt waits at least 150 ms.
            Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(250), "attempts to subscribe should back off");
            Assert.Equal(1, logs.Count(3021));

            harness.Bus.RefuseSubscribe = null;
            await Eventually.HoldsAsync(() => harness.Bus.IsActive(consumer.Name), "the consumer subscribed");
            var stored = harness.Bus.Append(NewEvent("quest.completed"));
            await Eventually.HoldsAsync(() => handled.Contains(stored.Event.EventId), "the event handled");
            Assert.Equal(1, logs.Count(3021));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task SecondInstance_StandsBy_WhileTheFirstHoldsTheConsumer_AndTakesOverWhenItStops()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var handledBy = new ConcurrentQueue<(string Instance, string EventId)>();
        var name = NewSubscriptionName();
        EventSubscription On(string instance) => new(name, ["quest.completed"], (received, _) =>
        {
            handledBy.Enqueue((instance, received.Event.EventId));
            return ValueTask.CompletedTask;
        });

        await using var first = await StartConsumerAsync(harness, On("first"));
        await using var second = new EventConsumer(Service, On("second"), harness.Client, options: Fast);
        await second.StartAsync(Timeout);
        await Eventually.HoldsAsync(() => harness.Bus.RefusedSecondSubscriptions >= 1, "the second instance refused");

        var early = harness.Bus.Append(NewEvent("quest.completed"));
        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(first.Name), floor => floor == early.Sequence, "the first event acked");
        await first.StopAsync(Timeout);

        var late = harness.Bus.Append(NewEvent("quest.completed"));
        await Eventually.HoldsAsync(() => harness.Bus.AckFloor(first.Name), floor => floor == late.Sequence, "the second event acked");
        Assert.Equal([("first", early.Event.EventId), ("second", late.Event.EventId)], handledBy.ToList());
    }

    [Fact]
    public void Subscription_WithAMalformedNameOrPattern_IsRejectedNamingIt()
    {
        static ValueTask Handler(ReceivedEvent received, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        Assert.Equal("name", Assert.Throws<ArgumentException>(() => new EventSubscription("World Sync", ["world.>"], Handler)).ParamName);
        var empty = Assert.Throws<ArgumentException>(() => new EventSubscription("world-sync", [], Handler));
        Assert.Equal("eventTypes", empty.ParamName);
        var pattern = Assert.Throws<ArgumentException>(() => new EventSubscription("world-sync", ["world..region"], Handler));
        Assert.Contains("'world..region'", pattern.Message, StringComparison.Ordinal);
    }

    private static async Task<EventConsumer> StartConsumerAsync(BusHarness harness, EventSubscription subscription, LogRecorder? logs = null)
    {
        var consumer = new EventConsumer(Service, subscription, harness.Client, logs?.For<EventConsumer>(), options: Fast);
        await consumer.StartAsync(Timeout);

        // A new durable consumer starts at events published after it subscribed.
        await Eventually.HoldsAsync(() => harness.Bus.IsActive(consumer.Name), $"consumer {consumer.Name} subscribed");
        return consumer;
    }

    private static EventSubscription NewSubscription(IReadOnlyList<string> types, SubscriptionHandler handler) => new(NewSubscriptionName(), types, handler);

    // Unique, not seeded: the meter is shared by every test of the process, and the metrics tell consumers apart by name.
    private static string NewSubscriptionName() => "sync-" + Guid.NewGuid().ToString("N")[..12];

    private DomainEvent NewEvent(string type)
    {
        var quest = $"quests/{_faker.Hacker.Verb()}-{_faker.Random.AlphaNumeric(6)}";
        var domainEvent = new DomainEvent
        {
            EventId = _faker.Random.Guid().ToString(),
            Type = type,
            Source = "quest-system",
            Subject = quest,
            OccurredAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(_faker.Date.Recent().ToUniversalTime()),
        };
        domainEvent.Attributes.Add("player", new TypedValue { StringValue = _faker.Internet.UserName() });
        domainEvent.Attributes.Add("xp", new TypedValue { IntValue = _faker.Random.Int(10, 5000) });
        return domainEvent;
    }
}
