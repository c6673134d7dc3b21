using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Services.EventBus;
using EventBusService = GameSystem.Services.EventBus.EventBusService;
using GameSystem.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace GameSystem.Mesh.Benchmarks;

/// <summary>
/// event-bus Publish through the generated client (validation, routing, dedup by event id,
/// the mesh round trip, then the JetStream publish) against a raw NATS.Net JetStream publish
/// of the same DomainEvent with the same Nats-Msg-Id to a stream of the same settings, on one
/// nats-server (file storage), at 1, 16 and 128 in flight, windows alternating.
/// </summary>
internal static class EventBusBenchmark
{
    private const long StreamLimit = 200_000;

    public static async Task<int> RunAsync(BenchmarkSettings settings)
    {
        Console.WriteLine($"GameSystem event-bus benchmark: warm-up {settings.Warmup.TotalSeconds:0} s per side, {settings.Rounds} rounds of {settings.Window.TotalSeconds:0} s windows, concurrency {string.Join("/", settings.Concurrency)}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");

        await using var nats = await NatsServerFixture.StartAsync();
        var url = $"nats://127.0.0.1:{nats.Port}";
        await using var serverConnection = new NatsConnection(NatsOpts.Default with { Url = url, Name = "bench-event-bus" });
        await using var clientConnection = new NatsConnection(NatsOpts.Default with { Url = url, Name = "bench-client" });
        await serverConnection.ConnectAsync();
        await clientConnection.ConnectAsync();

        // event-bus as the host runs it: its own connection, served by NatsMeshServer.
        var options = new EventBusOptions { Streams = [new() { Name = "bench", TypePatterns = [">"], MaxEvents = StreamLimit }] };
        var service = new EventBusService(serverConnection, Options.Create(options), MeshServerOptions.Default with { SubjectPrefix = "bench" }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        await using var meshServer = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = "bench" });
        meshServer.AddService(EventBusServiceDispatcher.Bind(service));
        await meshServer.StartAsync();
        await service.StartAsync(CancellationToken.None);
        var client = new EventBusServiceClient(new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = "bench" }));

        // Raw: the same settings as event-bus's stream, straight from the client's connection.
        var js = new NatsJSContext(clientConnection);
        await js.CreateOrUpdateStreamAsync(new StreamConfig("bench-raw", ["bench.raw.>"]) { MaxMsgs = StreamLimit, DuplicateWindow = TimeSpan.FromMinutes(2), Storage = StreamConfigStorage.File });

        var template = new DomainEvent
        {
            Type = "quest.completed",
            Source = "quest-system",
            Subject = "players/p-12345",
            OccurredAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Attributes = { ["quest"] = new TypedValue { StringValue = "the-lost-lighthouse" }, ["xp"] = new TypedValue { IntValue = 250 } },
        };
        Console.WriteLine($"Event {WithId(template).CalculateSize()} bytes (protobuf), a fresh event id per call");

        Func<ValueTask> raw = async () =>
        {
            var domainEvent = WithId(template);
            var ack = await js.PublishAsync("bench.raw.quest.completed", domainEvent, EventSerializer.Instance, new NatsJSPubOpts { MsgId = domainEvent.EventId });
            if (ack.Error is not null || ack.Duplicate)
            {
                throw new InvalidOperationException($"raw publish failed: {ack.Error?.Description ?? "duplicate"}");
            }
        };
        Func<ValueTask> bus = async () =>
        {
            var published = await client.PublishAsync(new PublishRequest { Event = WithId(template) }, deadline: null);
            if (published.Duplicate || published.Sequence == 0)
            {
                throw new InvalidOperationException("event-bus publish was not stored");
            }
        };

        Console.WriteLine("Warming up (tiered JIT needs several seconds under load) …");
        await Load.RunAsync(raw, 16, settings.Warmup);
        await Load.RunAsync(bus, 16, settings.Warmup);

        var report = new List<(int Concurrency, Figures Raw, Figures Bus, double Ratio)>();
        foreach (var concurrency in settings.Concurrency)
        {
            var rawRounds = new List<Figures>();
            var busRounds = new List<Figures>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                rawRounds.Add(await Load.RunAsync(raw, concurrency, settings.Window));
                busRounds.Add(await Load.RunAsync(bus, concurrency, settings.Window));
                Console.WriteLine($"  c={concurrency,-4} round {round + 1}: raw {rawRounds[^1]} | event-bus {busRounds[^1]}");
            }

            report.Add((concurrency, Figures.Median(rawRounds), Figures.Median(busRounds), Figures.PairedRatio(rawRounds, busRounds)));
        }

        Console.WriteLine();
        Console.WriteLine("Medians of the rounds (µs; allocations are bytes per call, client and service together; event-bus/raw is the median of the rounds' ratios):");
        Console.WriteLine("| in flight | raw JetStream publishes/s | event-bus publishes/s | event-bus/raw | raw p50 | event-bus p50 | raw p99 | event-bus p99 | raw B/call | event-bus B/call |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var passed = true;
        foreach (var (concurrency, r, b, ratio) in report)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {concurrency} | {r.CallsPerSecond:0} | {b.CallsPerSecond:0} | {ratio:P1} | {r.P50Micros:0} | {b.P50Micros:0} | {r.P99Micros:0} | {b.P99Micros:0} | {r.BytesPerCall:0} | {b.BytesPerCall:0} |"));
            if (concurrency >= 128 && ratio < 0.5)
            {
                passed = false;
                Console.WriteLine($"  target missed: event-bus throughput at {concurrency} in flight is {ratio:P1} of raw JetStream (target ≥ 50 %)");
            }
        }

        Console.WriteLine(passed ? "Target met: event-bus Publish ≥ 50 % of raw JetStream publish throughput at 128 in flight." : "Target NOT met (see above).");
        return passed ? 0 : 1;
    }

    private static DomainEvent WithId(DomainEvent template)
    {
        var domainEvent = template.Clone();
        domainEvent.EventId = Guid.NewGuid().ToString();
        return domainEvent;
    }

    /// <summary>The raw side's serializer, written the way NATS.Net serializers are.</summary>
    private sealed class EventSerializer : INatsSerialize<DomainEvent>
    {
        public static readonly EventSerializer Instance = new();

        public void Serialize(System.Buffers.IBufferWriter<byte> bufferWriter, DomainEvent value) => value.WriteTo(bufferWriter);
    }
}
