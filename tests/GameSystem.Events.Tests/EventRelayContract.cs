using Bogus;
using GameSystem.Common.V1;
using GameSystem.State;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Events.Tests;

/// <summary>
/// What the outbox relay promises, on every store (in-memory, redis-server, Redis Cluster), with
/// event-bus played by a recording peer over a real nats-server.
/// </summary>
public abstract class EventRelayContract(NatsServerFixture nats)
{
    private const string Credited = "ledger.credited";
    private const string Frozen = "ledger.frozen";

    /// <summary>Short intervals, so a test sees sweeps, backoff and leases within seconds.</summary>
    private static readonly EventRelayOptions Fast = EventRelayOptions.Default with
    {
        SweepInterval = TimeSpan.FromMilliseconds(200),
        FirstBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(400),
        PublishTimeout = TimeSpan.FromSeconds(2),
        Lease = TimeSpan.FromSeconds(5),
        RetireAfter = TimeSpan.FromHours(1),
    };

    private readonly Faker _faker = new() { Random = new Randomizer(20261203) };

    /// <summary>A store no other test writes to, with its outbox side.</summary>
    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task Relay_DeliversEveryEvent_InOrderOfItsPartition_AsWritten()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        await using var relay = await StartRelayAsync(outbox, store, harness);
        var partition = NewPartition();

        var written = new List<DomainEvent>();
        for (var n = 1; n <= 25; n++)
        {
            written.Add(await WriteAsync(store, outbox, partition, NewEvent(partition, n)));
        }

        // Several events of one transaction keep their order too.
        written.AddRange(await WriteAsync(store, outbox, partition, [NewEvent(partition, 26), NewEvent(partition, 27), NewEvent(partition, 28)]));

        await StoredAsync(harness, partition, written.Count);
        var stored = StoredOf(harness, partition);
        Assert.Equal(written.Select(e => e.EventId), stored.Select(e => e.EventId));
        Assert.All(stored, e => Assert.Equal(outbox.Name, e.Source));
        Assert.Equal(written[7].Attributes, stored[7].Attributes);
        Assert.NotNull(stored[7].OccurredAt);
    }

    [Fact(Timeout = 30_000)]
    public async Task Relay_DeliversManyPartitionsAtOnce_EachInItsOwnOrder()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.PublishDelay = TimeSpan.FromMilliseconds(3);
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        await using var relay = await StartRelayAsync(outbox, store, harness);
        var partitions = Enumerable.Range(0, 16).Select(_ => NewPartition()).ToList();
        var events = partitions.ToDictionary(p => p, p => Enumerable.Range(1, 12).Select(n => NewEvent(p, n)).ToList());

        await Task.WhenAll(partitions.Select(p => Task.Run(async () =>
        {
            foreach (var domainEvent in events[p])
            {
                await WriteAsync(store, outbox, p, domainEvent);
            }
        })));

        foreach (var partition in partitions)
        {
            await StoredAsync(harness, partition, events[partition].Count);
            Assert.Equal(events[partition].Select(e => e.EventId), StoredOf(harness, partition).Select(e => e.EventId));
        }

        Assert.Equal(1, harness.Bus.MaxInFlightPerSubject);
        Assert.True(harness.Bus.MaxInFlight > 1, $"partitions should be delivered concurrently; at most {harness.Bus.MaxInFlight} publish was in flight");
    }

    [Fact(Timeout = 60_000)]
    public async Task TwoRelaysOnOneStore_DeliverEveryEventInOrder_NeverPublishingOnePartitionAtOnce()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.PublishDelay = TimeSpan.FromMilliseconds(5);
        var store = await CreateStoreAsync();
        var name = NewOutboxName();

        // Two instances of one service: each writes through its own outbox and runs its own relay.
        var outboxes = new[] { new EventOutbox(name), new EventOutbox(name) };
        var options = Fast with { SweepInterval = TimeSpan.FromMilliseconds(50) };
        await using var first = await StartRelayAsync(outboxes[0], store, harness, options);
        await using var second = await StartRelayAsync(outboxes[1], store, harness, options);
        Assert.NotEqual(first.Owner, second.Owner);

        var partitions = Enumerable.Range(0, 6).Select(_ => NewPartition()).ToList();
        var events = partitions.ToDictionary(p => p, p => Enumerable.Range(1, 20).Select(n => NewEvent(p, n)).ToList());
        await Task.WhenAll(partitions.Select((p, i) => Task.Run(async () =>
        {
            for (var n = 0; n < events[p].Count; n++)
            {
                await WriteAsync(store, outboxes[(i + n) % 2], p, events[p][n]);
            }
        })));

        foreach (var partition in partitions)
        {
            await StoredAsync(harness, partition, events[partition].Count);
            Assert.Equal(events[partition].Select(e => e.EventId), StoredOf(harness, partition).Select(e => e.EventId));
        }

        Assert.Equal(1, harness.Bus.MaxInFlightPerSubject);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Unimplemented)]
    public async Task EventBusDown_LosesNothing_BacksOff_ThenDeliversEverythingInOrder(StatusCode refusal)
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.RefusePublish = refusal;
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var logs = new LogRecorder();
        using var metrics = new MetricsRecorder(EventsTelemetry.OutboxTag, outbox.Name);
        await using var relay = await StartRelayAsync(outbox, store, harness, logs: logs);
        var partitions = Enumerable.Range(0, 3).Select(_ => NewPartition()).ToList();
        var events = partitions.ToDictionary(p => p, p => Enumerable.Range(1, 5).Select(n => NewEvent(p, n)).ToList());
        foreach (var (partition, list) in events)
        {
            foreach (var domainEvent in list)
            {
                await WriteAsync(store, outbox, partition, domainEvent);
            }
        }

        // The first pass may fail on all three partitions at once; after it one partition probes per backoff.
        await Eventually.HoldsAsync(() => metrics.Sum("gamesystem.events.outbox.failed") >= 8, "eight failed publishes");
        var failures = metrics.Times("gamesystem.events.outbox.failed");
        var elapsed = failures[7] - failures[3];

        // Four waits of at least 50, 100, 200 and 200 ms (half of 50·2ⁿ⁻¹ capped at 400): backoff, not a busy retry.
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(500), $"four attempts took only {elapsed.TotalMilliseconds} ms");
        Assert.Empty(harness.Bus.Stored());
        Assert.Equal(15, metrics.Gauge("gamesystem.events.outbox.pending"));
        Assert.Equal(1, logs.Count(3001));
        Assert.Contains(refusal.ToString(), logs.Entries.Single(e => e.EventId == 3001).Message, StringComparison.Ordinal);

        harness.Bus.RefusePublish = null;
        foreach (var partition in partitions)
        {
            await StoredAsync(harness, partition, events[partition].Count);
            Assert.Equal(events[partition].Select(e => e.EventId), StoredOf(harness, partition).Select(e => e.EventId));
        }

        await Eventually.HoldsAsync(() => logs.Count(3002) == 1, "the recovery logged once");
        Assert.Equal(1, logs.Count(3001));

        // The relay counts a delivery after event-bus acknowledged it, so the count can trail the stored events.
        await Eventually.HoldsAsync(() => metrics.Sum("gamesystem.events.outbox.delivered") == 15, "all 15 deliveries counted");
        await Eventually.HoldsAsync(() => metrics.Gauge("gamesystem.events.outbox.pending") == 0, "an empty outbox reported");
    }

    [Fact(Timeout = 60_000)]
    public async Task EventBusRefusingAnEvent_KeepsIt_LogsItsId_AndHoldsBackOnlyItsPartition_UntilFixed()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.Unroute(Frozen);
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var logs = new LogRecorder();
        await using var relay = await StartRelayAsync(outbox, store, harness, logs: logs);
        var (stuck, other) = (NewPartition(), NewPartition());
        var held = new[] { NewEvent(stuck, 1, Credited), NewEvent(stuck, 2, Frozen), NewEvent(stuck, 3, Credited) };
        var flowing = Enumerable.Range(1, 4).Select(n => NewEvent(other, n, Credited)).ToList();
        foreach (var domainEvent in held)
        {
            await WriteAsync(store, outbox, stuck, domainEvent);
        }

        foreach (var domainEvent in flowing)
        {
            await WriteAsync(store, outbox, other, domainEvent);
        }

        await StoredAsync(harness, other, flowing.Count);
        await Eventually.HoldsAsync(() => harness.Bus.Attempts.Count(a => a.Event.EventId == held[1].EventId) >= 3, "the refused event retried");
        Assert.Equal([held[0].EventId], StoredOf(harness, stuck).Select(e => e.EventId));
        var refusedLog = Assert.Single(logs.Entries, e => e.EventId == 3005);
        Assert.Contains(held[1].EventId, refusedLog.Message, StringComparison.Ordinal);
        Assert.Contains("No stream captures type", refusedLog.Message, StringComparison.Ordinal);

        // The operator adds a stream pattern that captures the type.
        harness.Bus.Route(Frozen);
        await StoredAsync(harness, stuck, held.Length);
        Assert.Equal(held.Select(e => e.EventId), StoredOf(harness, stuck).Select(e => e.EventId));
        await Eventually.HoldsAsync(() => logs.Count(3006) == 1, "the accepted event logged");
        Assert.Equal(1, logs.Count(3005));
    }

    [Fact(Timeout = 60_000)]
    public async Task CrashBetweenPublishAndComplete_IsRedeliveredByAnotherRelay_UnderTheSameEventId()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var store = await CreateStoreAsync();
        var name = NewOutboxName();
        var options = Fast with { SweepInterval = TimeSpan.FromMilliseconds(100), Lease = TimeSpan.FromSeconds(4) };
        var outbox = new EventOutbox(name);
        var partition = NewPartition();

        // No event id given: Publish assigns one, fixed in the stored bytes.
        var events = Enumerable.Range(1, 6).Select(n => NewEvent(partition, n, withId: false)).ToList();
        var third = harness.Bus.HoldAfterStoring(e => e.Subject == partition && e.Attributes["n"].IntValue == 3);
        await using var crashed = await StartRelayAsync(outbox, store, harness, options);
        foreach (var domainEvent in events)
        {
            await WriteAsync(store, outbox, partition, domainEvent);
        }

        var published = await third.WaitAsync(Timeout);
        await crashed.DisposeAsync();

        await using var survivor = await StartRelayAsync(new EventOutbox(name), store, harness, options);
        await StoredAsync(harness, partition, events.Count);
        var stored = StoredOf(harness, partition);
        Assert.Equal(Enumerable.Range(1, 6), stored.Select(e => (int)e.Attributes["n"].IntValue));
        Assert.Equal(published.EventId, stored[2].EventId);
        Assert.True(Guid.TryParse(published.EventId, out var id) && id.Version == 7, $"'{published.EventId}' should be the UUIDv7 Publish assigned");
        var attempts = harness.Bus.Attempts.Where(a => a.Event.EventId == published.EventId).ToList();
        Assert.True(attempts.Count >= 2, "the event published but not completed should be published again");
        Assert.False(attempts[0].Duplicate);
        Assert.True(attempts[^1].Duplicate);
    }

    [Fact(Timeout = 60_000)]
    public async Task RetiredPartition_IsListedAndDeliveredAgain_WhenALaterTransactionEnqueues()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var store = await CreateStoreAsync();
        var outboxStore = (IStateOutboxStore)store;
        var outbox = NewOutbox();
        var options = Fast with { SweepInterval = TimeSpan.FromMilliseconds(100), RetireAfter = TimeSpan.FromMilliseconds(300) };
        await using var relay = await StartRelayAsync(outbox, store, harness, options);
        var partition = NewPartition();

        await WriteAsync(store, outbox, partition, NewEvent(partition, 1));
        await StoredAsync(harness, partition, 1);
        await Eventually.HoldsAsync(async () => !(await ListedAsync(outboxStore, outbox.Name)).Contains(partition), "the emptied partition retired");

        // Written by another instance: only the store's listing can lead this relay to it.
        await WriteAsync(store, new EventOutbox(outbox.Name), partition, NewEvent(partition, 2));
        Assert.Contains(partition, await ListedAsync(outboxStore, outbox.Name));
        await StoredAsync(harness, partition, 2);
        Assert.Equal([$"{partition}/1", $"{partition}/2"], StoredOf(harness, partition).Select(e => e.EventId));
    }

    [Fact(Timeout = 30_000)]
    public async Task WriteOfThisProcess_IsDeliveredAtOnce_WithoutWaitingForASweep()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var partition = NewPartition();

        // Written before the relay runs (as by another instance): found by the first sweep.
        await WriteAsync(store, new EventOutbox(outbox.Name), partition, NewEvent(partition, 1));
        await using var relay = await StartRelayAsync(outbox, store, harness, Fast with { SweepInterval = TimeSpan.FromMinutes(10) });
        await StoredAsync(harness, partition, 1);

        // The next sweep is ten minutes away: only the in-process signal can deliver this one now.
        await WriteAsync(store, outbox, partition, NewEvent(partition, 2));
        await StoredAsync(harness, partition, 2, within: TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 60_000)]
    public async Task Metrics_AndLogs_ShowTheBacklog_WhileEventBusIsDown_AndItsRecovery()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.RefusePublish = StatusCode.Unavailable;
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var logs = new LogRecorder();
        using var metrics = new MetricsRecorder(EventsTelemetry.OutboxTag, outbox.Name);
        await using var relay = await StartRelayAsync(outbox, store, harness, Fast with { BacklogAgeWarning = TimeSpan.FromMilliseconds(300) }, logs);
        var partitions = new[] { NewPartition(), NewPartition() };
        for (var n = 1; n <= 4; n++)
        {
            await WriteAsync(store, outbox, partitions[n % 2], NewEvent(partitions[n % 2], n));
        }

        Assert.Equal(4, metrics.Gauge("gamesystem.events.outbox.pending"));
        await Eventually.HoldsAsync(() => metrics.Gauge("gamesystem.events.outbox.oldest_age") >= 0.3, "the oldest event's age growing");
        await Eventually.HoldsAsync(() => logs.Count(3007) == 1, "the backlog warning");
        Assert.Contains("4 events", logs.Entries.Single(e => e.EventId == 3007).Message, StringComparison.Ordinal);
        Assert.True(metrics.Sum("gamesystem.events.outbox.failed") >= 1);
        Assert.Equal(0, metrics.Sum("gamesystem.events.outbox.delivered"));

        harness.Bus.RefusePublish = null;
        await Eventually.HoldsAsync(() => metrics.Sum("gamesystem.events.outbox.delivered") == 4, "every event delivered");
        await Eventually.HoldsAsync(() => metrics.Gauge("gamesystem.events.outbox.pending") == 0, "an empty outbox reported");
        Assert.Equal(0, metrics.Gauge("gamesystem.events.outbox.oldest_age"));
        await Eventually.HoldsAsync(() => logs.Count(3008) == 1, "the caught-up line");
    }

    [Fact(Timeout = 30_000)]
    public async Task Stop_DeliversEverythingThisProcessWrote_BeforeItReturns()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.PublishDelay = TimeSpan.FromMilliseconds(50);
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var logs = new LogRecorder();

        // One event per claim and one claim per pass: the writes outlast the pass the stop finds running.
        await using var relay = await StartRelayAsync(outbox, store, harness, Fast with { ClaimSize = 1, MaxClaimsPerPass = 1, StopTimeout = TimeSpan.FromSeconds(10) }, logs);
        var partitions = new[] { NewPartition(), NewPartition() };
        var written = partitions.ToDictionary(p => p, _ => new List<DomainEvent>());
        for (var n = 1; n <= 12; n++)
        {
            var partition = partitions[n % 2];
            written[partition].Add(await WriteAsync(store, outbox, partition, NewEvent(partition, n)));
        }

        await relay.StopAsync(Timeout);

        foreach (var partition in partitions)
        {
            Assert.Equal(written[partition].Select(e => e.EventId), StoredOf(harness, partition).Select(e => e.EventId));
        }

        Assert.Equal(0, logs.Count(3011));
    }

    [Fact(Timeout = 30_000)]
    public async Task Stop_WhileEventBusIsDown_ReturnsAtOnce_SaysWhatItLeaves_AndTheNextRelayDeliversIt()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        harness.Bus.RefusePublish = StatusCode.Unavailable;
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var logs = new LogRecorder();
        var stopTimeout = TimeSpan.FromSeconds(20);
        await using var relay = await StartRelayAsync(outbox, store, harness, Fast with { StopTimeout = stopTimeout }, logs);
        var partition = NewPartition();
        var written = new List<DomainEvent>();
        for (var n = 1; n <= 3; n++)
        {
            written.Add(await WriteAsync(store, outbox, partition, NewEvent(partition, n)));
        }

        await Eventually.HoldsAsync(() => logs.Count(3001) == 1, "the outage noticed");
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await relay.StopAsync(Timeout);

        // Not the stop's whole budget: a relay that event-bus refuses has nothing more to try.
        Assert.True(stopping.Elapsed < stopTimeout / 4, $"the stop took {stopping.Elapsed.TotalSeconds:0.0} s of its {stopTimeout.TotalSeconds} s");
        var warning = Assert.Single(logs.Entries, e => e.EventId == 3011).Message;
        Assert.Contains($"outbox {outbox.Name}", warning, StringComparison.Ordinal);
        Assert.Contains("event-bus or the state store could not take them", warning, StringComparison.Ordinal);
        Assert.Contains("about 3 events", warning, StringComparison.Ordinal);
        Assert.Empty(harness.Bus.Stored());

        harness.Bus.RefusePublish = null;
        await using var next = await StartRelayAsync(new EventOutbox(outbox.Name), store, harness);
        await StoredAsync(harness, partition, written.Count);
        Assert.Equal(written.Select(e => e.EventId), StoredOf(harness, partition).Select(e => e.EventId));
    }

    [Fact(Timeout = 30_000)]
    public async Task Stop_CutShortByItsTimeout_SaysSo_AndTheNextRelayDeliversTheRestInOrder()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var store = await CreateStoreAsync();
        var outbox = NewOutbox();
        var partition = NewPartition();
        var written = new List<DomainEvent>();
        for (var n = 1; n <= 20; n++)
        {
            written.Add(await WriteAsync(store, outbox, partition, NewEvent(partition, n)));
        }

        // Started after the writes (its first sweep finds them) and slow to publish: its stop, in the
        // middle of that pass, finds most of them waiting.
        harness.Bus.PublishDelay = TimeSpan.FromMilliseconds(100);
        var logs = new LogRecorder();
        var stopTimeout = TimeSpan.FromMilliseconds(300);
        await using var relay = await StartRelayAsync(outbox, store, harness, Fast with { StopTimeout = stopTimeout }, logs);
        await StoredAsync(harness, partition, 1);
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await relay.StopAsync(Timeout);

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"a stop of {stopTimeout.TotalMilliseconds} ms took {stopping.Elapsed.TotalSeconds:0.0} s");
        var warning = Assert.Single(logs.Entries, e => e.EventId == 3011).Message;
        Assert.Contains("the time to stop ran out", warning, StringComparison.Ordinal);
        Assert.True(StoredOf(harness, partition).Count < written.Count, "the stop delivered everything: nothing was cut short");

        harness.Bus.PublishDelay = TimeSpan.Zero;
        await using var next = await StartRelayAsync(new EventOutbox(outbox.Name), store, harness);
        await StoredAsync(harness, partition, written.Count);
        Assert.Equal(written.Select(e => e.EventId), StoredOf(harness, partition).Select(e => e.EventId));
    }

    [Fact(Timeout = 10_000)]
    public async Task OnApplied_RunsOnceTheTransactionApplied_AndNeverWhenItIsRefused()
    {
        var store = await CreateStoreAsync();
        var partition = NewPartition();
        var key = $"ledger/{{{partition}}}/balance";
        var applied = 0;

        var first = new StateTransaction().Set(key, "10"u8.ToArray(), expectedVersion: 0).OnApplied(() => applied++);
        Assert.True((await store.ExecuteAsync(first, Timeout)).Succeeded);
        Assert.Equal(1, applied);

        var stale = new StateTransaction().Set(key, "20"u8.ToArray(), expectedVersion: 0).OnApplied(() => applied++);
        Assert.False((await store.ExecuteAsync(stale, Timeout)).Succeeded);
        Assert.Equal(1, applied);
    }

    private static async Task<List<string>> ListedAsync(IStateOutboxStore store, string outbox)
    {
        var partitions = new List<string>();
        await foreach (var partition in store.ListOutboxPartitionsAsync(outbox, Timeout))
        {
            partitions.Add(partition);
        }

        return partitions;
    }

    private static async Task<EventRelay> StartRelayAsync(EventOutbox outbox, IStateStore store, BusHarness harness, EventRelayOptions? options = null, LogRecorder? logs = null)
    {
        var relay = new EventRelay(outbox, (IStateOutboxStore)store, harness.Client, logs?.For<EventRelay>(), options: options ?? Fast);
        await relay.StartAsync(Timeout);
        return relay;
    }

    private static async Task StoredAsync(BusHarness harness, string partition, int count, TimeSpan? within = null) =>
        await Eventually.HoldsAsync(() => StoredOf(harness, partition).Count, n => n >= count, $"{count} events of partition {partition} stored", within);

    private static List<DomainEvent> StoredOf(BusHarness harness, string partition) =>
        [.. harness.Bus.Stored().Select(e => e.Event).Where(e => e.Subject == partition)];

    private static async Task<DomainEvent> WriteAsync(IStateStore store, EventOutbox outbox, string partition, DomainEvent domainEvent) =>
        (await WriteAsync(store, outbox, partition, [domainEvent]))[0];

    /// <summary>One transaction in <paramref name="partition"/>: a change and its events.</summary>
    private static async Task<List<DomainEvent>> WriteAsync(IStateStore store, EventOutbox outbox, string partition, IReadOnlyList<DomainEvent> events)
    {
        var transaction = new StateTransaction().Increment($"ledger/{{{partition}}}/entries", events.Count);
        foreach (var domainEvent in events)
        {
            outbox.Publish(transaction, domainEvent);
        }

        Assert.True((await store.ExecuteAsync(transaction, Timeout)).Succeeded);
        return [.. events];
    }

    private static EventOutbox NewOutbox() => new(NewOutboxName());

    // Unique, not seeded: the meter is shared by every test of the process, and the metrics tests tell outboxes apart by name.
    private static string NewOutboxName() => "ledger-" + Guid.NewGuid().ToString("N")[..12];

    private string NewPartition() => $"guild-{_faker.Random.AlphaNumeric(10)}";

    private DomainEvent NewEvent(string partition, int n, string? type = null, bool withId = true)
    {
        var domainEvent = new DomainEvent
        {
            EventId = withId ? $"{partition}/{n}" : string.Empty,
            Type = type ?? _faker.PickRandom(Credited, "ledger.debited"),
            Subject = partition,
        };
        domainEvent.Attributes.Add("n", new TypedValue { IntValue = n });
        domainEvent.Attributes.Add("player", new TypedValue { StringValue = _faker.Name.FullName() });
        domainEvent.Attributes.Add("amount", new TypedValue { IntValue = _faker.Random.Long(1, 10_000) });
        return domainEvent;
    }
}
