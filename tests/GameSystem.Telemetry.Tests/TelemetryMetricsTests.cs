using Bogus;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.TelemetryTest.V1;
using GameSystem.Testing;
using Grpc.Core;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace GameSystem.Telemetry.Tests;

/// <summary>
/// The metrics an operator reads, as the SDK wired like the host and the gateway collects them:
/// call durations by service, method and code on both sides, calls in flight, shed calls, store
/// operation latency, the outbox's depth and age, a consumer's lag and each service's health.
/// </summary>
public sealed class TelemetryMetricsTests(NatsServerFixture nats)
{
    private readonly Faker _faker = new() { Random = new Randomizer(20261204) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 90_000)]
    public async Task CallsStoreOperationsAndEvents_AreMeasured_ByServiceMethodAndCode()
    {
        await using var harness = await TelemetryHarness.StartAsync(nats);
        var metrics = new Collected<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddGameSystemInstrumentation().AddInMemoryExporter(metrics).Build();
        var world = "w-" + _faker.Random.AlphaNumeric(10).ToLowerInvariant();
        await harness.CreateClockAsync(world, 30, Ct);
        var relay = new ClockRelayServiceClient(harness.Invoker);

        await relay.ReadClockAsync(new ReadClockRequest { WorldId = world }, cancellationToken: Ct);
        var notFound = await Assert.ThrowsAsync<RpcException>(async () => await relay.ReadClockAsync(new ReadClockRequest { WorldId = world + "-missing" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);

        Assert.Equal(1, ServerCount(Collect(provider, metrics), "rpc.server.duration", TelemetryHarness.ClockRelayService, "ReadClock", 0));
        var last = Collect(provider, metrics);
        Assert.Equal(1, ServerCount(last, "rpc.server.duration", TelemetryHarness.ClockRelayService, "ReadClock", 5));
        Assert.Equal(1, ServerCount(last, "rpc.client.duration", TelemetryHarness.ClockRelayService, "ReadClock", 0));
        Assert.Equal(1, ServerCount(last, "rpc.client.duration", TelemetryHarness.ClockRelayService, "ReadClock", 5));
        Assert.Equal(2, ServerCount(last, "rpc.server.duration", TelemetryHarness.TimeManagerService, "GetClock", null));
        Assert.Equal(1, ServerCount(last, "rpc.server.duration", TelemetryHarness.TimeManagerService, "CreateClock", 0));
        Assert.DoesNotContain(Points(last, "rpc.server.duration"), p => Tag(p, "rpc.method") is string m && m.Contains('/', StringComparison.Ordinal));

        var reads = Points(last, "db.client.operation.duration").Where(p => Tag(p, "db.system.name") as string == "memory" && Tag(p, "db.operation.name") as string == "get_many").ToList();
        Assert.NotEmpty(reads);
        Assert.True(reads.Sum(p => p.GetHistogramCount()) >= 2, "each GetClock reads the store");
        Assert.Contains(Points(last, "db.client.operation.duration"), p => Tag(p, "db.operation.name") as string == "transaction");
    }

    [Fact(Timeout = 90_000)]
    public async Task ACallInFlight_IsCounted_AndOnePastTheLimit_IsShed()
    {
        await using var harness = await TelemetryHarness.StartAsync(nats);
        var metrics = new Collected<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddGameSystemInstrumentation().AddInMemoryExporter(metrics).Build();
        var world = "w-" + _faker.Random.AlphaNumeric(10).ToLowerInvariant();
        await harness.CreateClockAsync(world, 30, Ct);
        var relay = new ClockRelayServiceClient(harness.Invoker);

        var held = relay.ReadClockAsync(new ReadClockRequest { WorldId = world, Hold = true }, cancellationToken: Ct).AsTask();
        await harness.Relay.Held.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var during = Collect(provider, metrics);
        var shed = await Assert.ThrowsAsync<RpcException>(async () => await relay.ReadClockAsync(new ReadClockRequest { WorldId = world }, cancellationToken: Ct));
        harness.Relay.Release();
        await held;
        var after = Collect(provider, metrics);

        Assert.Equal(StatusCode.ResourceExhausted, shed.StatusCode);
        Assert.Equal(1, Gauge(during, "gamesystem.mesh.server.active_calls", "rpc.service", TelemetryHarness.ClockRelayService));
        Assert.Equal(0, Gauge(after, "gamesystem.mesh.server.active_calls", "rpc.service", TelemetryHarness.ClockRelayService));
        var sheds = Points(after, "gamesystem.mesh.server.shed").Where(p => Tag(p, "rpc.service") as string == TelemetryHarness.ClockRelayService).ToList();
        Assert.Equal(1, Assert.Single(sheds).GetSumLong());
        Assert.Equal("ReadClock", Tag(sheds[0], "rpc.method"));
        Assert.Equal(1, ServerCount(after, "rpc.client.duration", TelemetryHarness.ClockRelayService, "ReadClock", (int)StatusCode.ResourceExhausted));
    }

    [Fact(Timeout = 90_000)]
    public async Task TheOutboxAConsumersLagAndHealth_AreGauges()
    {
        await using var harness = await TelemetryHarness.StartAsync(nats);
        var metrics = new Collected<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddGameSystemInstrumentation().AddInMemoryExporter(metrics).Build();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var type = "telemetry.test." + _faker.Random.AlphaNumeric(8).ToLowerInvariant();
        var subscription = new EventSubscription("lag", [type], async (_, cancellationToken) =>
        {
            handling.TrySetResult();
            await release.Task.WaitAsync(cancellationToken);
        });
        await using var consumer = new EventConsumer("telemetry-test", subscription, harness.EventBus);
        await using var health = new MeshHealthService([new MeshHealthTarget(TelemetryHarness.TimeManagerService, true, null, [])], []);
        await health.StartAsync(Ct);
        await consumer.StartAsync(Ct);

        // A new durable consumer gets what is published once it exists: publish until it has one.
        await PublishUntilAsync(harness, type, handling.Task);
        const int Published = 4;
        for (var i = 1; i < Published; i++)
        {
            await harness.EventBus.PublishAsync(new PublishRequest { Event = new DomainEvent { EventId = Guid.NewGuid().ToString(), Type = type, Source = "telemetry-test" } }, cancellationToken: Ct);
        }

        await harness.CreateClockAsync("w-" + _faker.Random.AlphaNumeric(10).ToLowerInvariant(), 30, Ct);

        // The first event is with the handler, unacked; the rest wait behind it.
        var lag = await EventuallyAsync(provider, metrics, m => Gauge(m, "gamesystem.events.consumer.pending", "consumer", "telemetry-test.lag") == Published);
        Assert.Equal("events", Tag(Points(lag, "gamesystem.events.consumer.pending").Single(p => Tag(p, "consumer") as string == "telemetry-test.lag"), "stream"));
        release.TrySetResult();
        await EventuallyAsync(provider, metrics, m => Gauge(m, "gamesystem.events.consumer.pending", "consumer", "telemetry-test.lag") == 0);

        // time-manager's relay delivers the clock's event: the outbox drains to 0.
        var drained = await EventuallyAsync(provider, metrics, m => Gauge(m, "gamesystem.events.outbox.pending", EventsTelemetry.OutboxTag, "time-manager") == 0);
        Assert.Equal(0, GaugeDouble(drained, "gamesystem.events.outbox.oldest_age", EventsTelemetry.OutboxTag, "time-manager"));
        Assert.Equal(1, Gauge(drained, "gamesystem.mesh.health.status", "rpc.service", TelemetryHarness.TimeManagerService));
    }

    /// <summary>Publishes one event of <paramref name="type"/>, and again every half second, until <paramref name="received"/> completes.</summary>
    internal static async Task PublishUntilAsync(TelemetryHarness harness, string type, Task received)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        do
        {
            await harness.EventBus.PublishAsync(new PublishRequest { Event = new DomainEvent { EventId = Guid.NewGuid().ToString(), Type = type, Source = "telemetry-test" } }, cancellationToken: Ct);
            Assert.True(DateTime.UtcNow < deadline, $"the consumer never received an event of {type}");
        }
        while (await Task.WhenAny(received, Task.Delay(500, Ct)) != received);
    }

    private static List<MetricSnapshot> Collect(MeterProvider provider, Collected<MetricSnapshot> metrics)
    {
        metrics.Clear();
        Assert.True(provider.ForceFlush(10_000));
        return metrics.Snapshot();
    }

    private static async Task<List<MetricSnapshot>> EventuallyAsync(MeterProvider provider, Collected<MetricSnapshot> metrics, Func<List<MetricSnapshot>, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var collected = Collect(provider, metrics);
            if (condition(collected))
            {
                return collected;
            }

            Assert.True(DateTime.UtcNow < deadline, "the metrics never reached the expected values: " + string.Join("; ", collected.Where(m => m.Name.StartsWith("gamesystem.", StringComparison.Ordinal)).SelectMany(m => m.MetricPoints.Select(p => $"{m.Name}{{{string.Join(',', TagsOf(p))}}}={Value(m, p)}"))));
            await Task.Delay(100, Ct);
        }
    }

    private static List<string> TagsOf(MetricPoint point)
    {
        var tags = new List<string>();
        foreach (var tag in point.Tags)
        {
            tags.Add($"{tag.Key}={tag.Value}");
        }

        return tags;
    }

    private static string Value(MetricSnapshot metric, MetricPoint point) => metric.MetricType switch
    {
        MetricType.LongGauge => point.GetGaugeLastValueLong().ToString(System.Globalization.CultureInfo.InvariantCulture),
        MetricType.DoubleGauge => point.GetGaugeLastValueDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
        MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong().ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "…",
    };

    private static IEnumerable<MetricPoint> Points(List<MetricSnapshot> metrics, string name) =>
        metrics.Where(m => m.Name == name).SelectMany(m => m.MetricPoints);

    private static object? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value;
            }
        }

        return null;
    }

    private static long ServerCount(List<MetricSnapshot> metrics, string name, string service, string method, int? code) =>
        Points(metrics, name)
            .Where(p => Tag(p, "rpc.system") as string == MeshTelemetry.RpcSystem && Tag(p, "rpc.service") as string == service && Tag(p, "rpc.method") as string == method
                && (code is null || Equals(Tag(p, "rpc.grpc.status_code"), code)))
            .Sum(p => p.GetHistogramCount());

    private static long? Gauge(List<MetricSnapshot> metrics, string name, string tag, string value)
    {
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (var point in metric.MetricPoints)
            {
                if (Tag(point, tag) as string == value)
                {
                    return metric.MetricType == MetricType.LongGauge ? point.GetGaugeLastValueLong() : point.GetSumLong();
                }
            }
        }

        return null;
    }

    private static double? GaugeDouble(List<MetricSnapshot> metrics, string name, string tag, string value) =>
        Points(metrics, name).Where(p => Tag(p, tag) as string == value).Select(p => (double?)p.GetGaugeLastValueDouble()).FirstOrDefault();
}
