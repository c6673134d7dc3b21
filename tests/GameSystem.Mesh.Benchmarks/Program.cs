using System.Buffers;
using System.Globalization;
using GameSystem.Identity;
using GameSystem.Identity.Tests;
using GameSystem.Mesh;
using GameSystem.Mesh.Benchmarks;
using GameSystem.Mesh.Nats;
using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

// eng/benchmark.sh [mesh|store|event-bus] [options]: a benchmark name first (default mesh), then
// the options of BenchmarkSettings. Each benchmark is a class with RunAsync(settings).
var (name, options) = args is [var first, ..] && !first.StartsWith("--", StringComparison.Ordinal) ? (first, args[1..]) : ("mesh", args);
var settings = BenchmarkSettings.Parse(options);
return name switch
{
    "mesh" => await MeshBenchmark.RunAsync(settings),
    "store" => await StoreBenchmark.RunAsync(settings),
    "event-bus" => await EventBusBenchmark.RunAsync(settings),
    _ => Unknown(name),
};

static int Unknown(string name)
{
    Console.Error.WriteLine($"Unknown benchmark '{name}'; use mesh (the default), store or event-bus (gateway has a project of its own: eng/benchmark.sh gateway).");
    return 2;
}

/// <summary>
/// Unary calls through the generated client and dispatcher (mesh) against raw NATS.Net
/// request-reply (raw) on the same message and the same nats-server, in one run, at 1, 16
/// and 128 calls in flight. Windows alternate raw/mesh so drift on a shared machine hits
/// both; medians of the rounds are compared.
/// </summary>
internal static class MeshBenchmark
{
    public static async Task<int> RunAsync(BenchmarkSettings settings)
    {
        Console.WriteLine($"GameSystem mesh benchmark: warm-up {settings.Warmup.TotalSeconds:0} s per side, {settings.Rounds} rounds of {settings.Window.TotalSeconds:0} s windows, concurrency {string.Join("/", settings.Concurrency)}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");

        await using var nats = await NatsServerFixture.StartAsync();
        var url = $"nats://127.0.0.1:{nats.Port}";
        await using var serverConnection = new NatsConnection(NatsOpts.Default with { Url = url, Name = "bench-server" });
        await using var clientConnection = new NatsConnection(NatsOpts.Default with { Url = url, Name = "bench-client" });
        await serverConnection.ConnectAsync();
        await clientConnection.ConnectAsync();

        var request = new EchoRequest { Text = new string('x', 94) };
        Console.WriteLine($"Request {request.CalculateSize()} bytes, response {new EchoResponse { Text = request.Text }.CalculateSize()} bytes (protobuf)");

        // Raw: the least a hand-written NATS service does: parse, answer, serialize.
        const string rawSubject = "bench.raw.echo";
        var rawSub = await serverConnection.SubscribeCoreAsync(rawSubject, "bench.raw", ProtobufSerializer<EchoRequest>.Instance);
        var rawServer = Task.Run(async () =>
        {
            await foreach (var msg in rawSub.Msgs.ReadAllAsync())
            {
                await msg.ReplyAsync(new EchoResponse { Text = msg.Data!.Text }, serializer: ProtobufSerializer<EchoResponse>.Instance);
            }
        });

        // Mesh: generated dispatcher on NatsMeshServer, generated client on NatsMeshClient.
        await using var meshServer = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = "bench" });
        meshServer.AddService(ProbeServiceDispatcher.Bind(new BenchProbe()));
        await meshServer.StartAsync();
        var meshClient = new ProbeServiceClient(new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = "bench" }));

        Func<ValueTask> raw = async () =>
        {
            var reply = await clientConnection.RequestAsync(rawSubject, request, requestSerializer: ProtobufSerializer<EchoRequest>.Instance, replySerializer: ProtobufSerializer<EchoResponse>.Instance);
            if (reply.Data?.Text.Length != request.Text.Length)
            {
                throw new InvalidOperationException("raw echo returned the wrong text");
            }
        };
        Func<ValueTask> mesh = async () =>
        {
            var reply = await meshClient.EchoAsync(request, deadline: null);
            if (reply.Text.Length != request.Text.Length)
            {
                throw new InvalidOperationException("mesh echo returned the wrong text");
            }
        };

        // Mesh with caller identity, as the host runs it: the runtime's interceptor verifies the
        // ES256 access token every call carries (once per token, then from its cache) and
        // enforces the contract's access rule.
        using var issuer = new TestIssuer(TimeProvider.System);
        using var keys = new SigningKeyProvider(issuer.ListAsync);
        var probe = MeshCatalog.FromAssemblies([typeof(BenchProbe).Assembly]).Single(s => s.ServiceInterface == typeof(IProbeService));
        await using var identityServer = new NatsMeshServer(serverConnection, MeshServerOptions.Default with
        {
            SubjectPrefix = "bench-id",
            Interceptors = [new IdentityServerInterceptor(new AccessTokenValidator(keys), [probe])],
        });
        identityServer.AddService(ProbeServiceDispatcher.Bind(new BenchProbe()));
        await identityServer.StartAsync();
        var identityClient = new ProbeServiceClient(new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = "bench-id" }));
        var bearer = new Metadata { { IdentityServerInterceptor.AuthorizationHeader, "Bearer " + issuer.Sign(lifetime: TimeSpan.FromHours(2)) } };
        Func<ValueTask> identified = async () =>
        {
            var reply = await identityClient.EchoAsync(request, bearer, deadline: null);
            if (reply.Text.Length != request.Text.Length)
            {
                throw new InvalidOperationException("mesh echo with identity returned the wrong text");
            }
        };

        Console.WriteLine("Warming up (tiered JIT needs several seconds under load) …");
        await Load.RunAsync(raw, 16, settings.Warmup);
        await Load.RunAsync(mesh, 16, settings.Warmup);
        await Load.RunAsync(identified, 16, settings.Warmup);

        var report = new List<(int Concurrency, Figures Raw, Figures Mesh, Figures Identity, double MeshRatio, double IdentityRatio)>();
        foreach (var concurrency in settings.Concurrency)
        {
            var rawRounds = new List<Figures>();
            var meshRounds = new List<Figures>();
            var identityRounds = new List<Figures>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                rawRounds.Add(await Load.RunAsync(raw, concurrency, settings.Window));
                meshRounds.Add(await Load.RunAsync(mesh, concurrency, settings.Window));
                identityRounds.Add(await Load.RunAsync(identified, concurrency, settings.Window));
                Console.WriteLine($"  c={concurrency,-4} round {round + 1}: raw {rawRounds[^1]} | mesh {meshRounds[^1]} | mesh+identity {identityRounds[^1]}");
            }

            report.Add((concurrency, Figures.Median(rawRounds), Figures.Median(meshRounds), Figures.Median(identityRounds),
                Figures.PairedRatio(rawRounds, meshRounds), Figures.PairedRatio(rawRounds, identityRounds)));
        }

        Console.WriteLine();
        Console.WriteLine("Medians of the rounds (µs; allocations are bytes per call, client and server together; throughput ratios are the medians of the rounds' ratios):");
        Console.WriteLine("| in flight | raw calls/s | mesh calls/s | mesh/raw | raw p50 | mesh p50 | p50 ratio | raw p99 | mesh p99 | raw B/call | mesh B/call | +identity calls/s | +identity/raw | +identity p50 | +identity B/call |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var passed = true;
        foreach (var (concurrency, r, m, i, throughputRatio, identityRatio) in report)
        {
            var p50Ratio = m.P50Micros / r.P50Micros;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {concurrency} | {r.CallsPerSecond:0} | {m.CallsPerSecond:0} | {throughputRatio:P1} | {r.P50Micros:0} | {m.P50Micros:0} | {p50Ratio:0.00} | {r.P99Micros:0} | {m.P99Micros:0} | {r.BytesPerCall:0} | {m.BytesPerCall:0} | {i.CallsPerSecond:0} | {identityRatio:P1} | {i.P50Micros:0} | {i.BytesPerCall:0} |"));
            if (concurrency >= 16 && throughputRatio < 0.90)
            {
                passed = false;
                Console.WriteLine($"  target missed: mesh throughput at {concurrency} in flight is {throughputRatio:P1} of raw (target ≥ 90 %)");
            }

            if (concurrency == 1 && p50Ratio > 1.10)
            {
                passed = false;
                Console.WriteLine($"  target missed: mesh p50 at 1 in flight is {p50Ratio:0.00}× raw (target ≤ 1.10×)");
            }
        }

        Console.WriteLine(passed ? "Targets met: ≥ 90 % of raw throughput at 16 and 128 in flight, p50 ≤ 1.1× raw at 1." : "Targets NOT met (see above).");
        await rawSub.UnsubscribeAsync();
        await rawServer;
        return passed ? 0 : 1;
            }
        }

internal sealed class BenchProbe : IProbeService
{
    public ValueTask<EchoResponse> EchoAsync(EchoRequest request, ServerCallContext context) =>
        ValueTask.FromResult(new EchoResponse { Text = request.Text });

    public ValueTask<AppendResponse> AppendAsync(AppendRequest request, ServerCallContext context) =>
        ValueTask.FromResult(new AppendResponse());

    public ValueTask<LookupResponse> LookupAsync(LookupRequest request, ServerCallContext context) =>
        ValueTask.FromResult(new LookupResponse { Id = request.Id });

    public IAsyncEnumerable<CountResponse> CountAsync(CountRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "The benchmark measures unary calls only."));
}

/// <summary>Protobuf for the raw baseline, written the way NATS.Net serializers are.</summary>
internal sealed class ProtobufSerializer<T> : INatsSerialize<T>, INatsDeserialize<T>
    where T : class, IMessage<T>, new()
{
    public static readonly ProtobufSerializer<T> Instance = new();
    private static readonly MessageParser<T> Parser = new(() => new T());

    public void Serialize(IBufferWriter<byte> bufferWriter, T value) => value.WriteTo(bufferWriter);

    public T? Deserialize(in ReadOnlySequence<byte> buffer) => Parser.ParseFrom(buffer);
}
