using System.Net;
using System.Net.Sockets;
using Bogus;
using GameSystem.Mesh;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Google.Protobuf;

namespace GameSystem.Cli.Tests;

/// <summary>gs as a newcomer uses it: against the real time-manager over a real nats-server.</summary>
public sealed class GsCommandTests(NatsServerFixture nats)
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    [Fact(Timeout = 20_000)]
    public async Task List_ShowsEveryServiceOfTheCatalogWithItsRpcs()
    {
        var catalog = MeshCatalog.FromAssemblies([typeof(TimeManagerServiceClient).Assembly]);

        var run = await CliHarness.RunGsAsync(["list"]);

        Assert.Equal(GsExitCode.Ok, run.ExitCode);
        Assert.Equal(22, catalog.Length);
        Assert.All(catalog, s => Assert.Contains($"{s.Name}  ({s.FullName})", run.Output, StringComparison.Ordinal));
        Assert.Matches(@"(?m)^  GetClock +GetClockRequest → GetClockResponse +unary +NO_SIDE_EFFECTS +2s +GET /v1/worlds/\{world_id\}/clock$", run.Output);
        Assert.Matches(@"(?m)^  CreateClock +CreateClockRequest → CreateClockResponse +unary +IDEMPOTENT +2s$", run.Output);
        Assert.Matches(@"(?m)^  WatchClock +WatchClockRequest → stream WatchClockResponse +server-streaming +NO_SIDE_EFFECTS +- +GET /v1/worlds/\{world_id\}/clock:watch$", run.Output);
    }

    [Fact(Timeout = 20_000)]
    public async Task Describe_ShowsTheRequestFieldsByJsonNameWithTheRequiredOnes()
    {
        var run = await CliHarness.RunGsAsync(["describe", "time-manager", "create-clock"]);

        Assert.Equal(GsExitCode.Ok, run.ExitCode);
        Assert.Matches(@"(?m)^    worldId +string +REQUIRED$", run.Output);
        Assert.Matches(@"(?m)^    requestId +string +REQUIRED$", run.Output);
        Assert.Matches(@"(?m)^    timeScale +double +REQUIRED$", run.Output);
        Assert.Matches(@"(?m)^    displayName +string$", run.Output);
        Assert.Matches(@"(?m)^      dayPhaseStarts +list of DayPhaseStart$", run.Output);
        Assert.Contains("""call time-manager CreateClock '{"worldId":"<worldId>","requestId":"<requestId>","timeScale":1}'""", run.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_CreateClockThenGetClock_RoundTripsThroughJson()
    {
        await using var mesh = await CliHarness.StartAsync(nats);
        var faker = new Faker { Random = new Randomizer(1701) };
        var request = new CreateClockRequest
        {
            WorldId = $"{faker.Internet.DomainWord()}-{faker.Random.Number(1000, 9999)}",
            RequestId = faker.Random.Guid().ToString(),
            DisplayName = $"{faker.Address.City()} (main shard)",
            TimeScale = faker.Random.Int(2, 120),
        };

        var created = await mesh.RunAsync("call", "time-manager", "CreateClock", JsonFormatter.Default.Format(request));
        var got = await mesh.RunAsync("call", "TIME-MANAGER", "get-clock", $$"""{"worldId":"{{request.WorldId}}"}""");

        Assert.Equal(GsExitCode.Ok, created.ExitCode);
        Assert.Equal(GsExitCode.Ok, got.ExitCode);
        Assert.Empty(got.Error);
        var clock = Parser.Parse<GetClockResponse>(got.Output).Clock;
        Assert.Equal(Parser.Parse<CreateClockResponse>(created.Output).Clock.CreateTime, clock.CreateTime);
        Assert.Equal((request.WorldId, request.DisplayName, request.TimeScale, ClockState.Running), (clock.WorldId, clock.DisplayName, clock.TimeScale, clock.State));
        Assert.Contains("\n  \"clock\": {", got.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_ReadsTheRequestFromStdinOrFromAFile()
    {
        await using var mesh = await CliHarness.StartAsync(nats);
        var file = Path.Combine(Path.GetTempPath(), $"gs-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"worldId":"from-file","requestId":"r-2","timeScale":1}""", TestContext.Current.CancellationToken);
        try
        {
            var fromStdin = await CliHarness.RunGsAsync(
                ["call", "time-manager", "CreateClock", "-", "--nats", mesh.Url, "--prefix", mesh.Prefix],
                input: """{"worldId":"from-stdin","requestId":"r-1","timeScale":1}""");
            var fromFile = await mesh.RunAsync("call", "time-manager", "CreateClock", "@" + file);

            Assert.Equal("from-stdin", Parser.Parse<CreateClockResponse>(fromStdin.Output).Clock.WorldId);
            Assert.Equal("from-file", Parser.Parse<CreateClockResponse>(fromFile.Output).Clock.WorldId);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_WithoutNatsOptions_UsesTheHostsEnvironmentSettings()
    {
        await using var mesh = await CliHarness.StartAsync(nats);
        var environment = new Dictionary<string, string?>
        {
            ["GameSystem:Nats:Servers:0"] = mesh.Url,
            ["GameSystem:Mesh:SubjectPrefix"] = mesh.Prefix,
        };

        var run = await CliHarness.RunGsAsync(["call", "time-manager", "ListClocks"], environment: environment);

        Assert.Equal(GsExitCode.Ok, run.ExitCode);
        Assert.Equal("{}", run.Output.Trim());
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_WatchClockWithCount_PrintsTheSnapshotThenEnds()
    {
        await using var mesh = await CliHarness.StartAsync(nats);
        await mesh.RunAsync("call", "time-manager", "CreateClock", """{"worldId":"watched","requestId":"r-1","timeScale":60}""");

        var run = await mesh.RunAsync("call", "time-manager", "WatchClock", """{"worldId":"watched"}""", "--count", "1");

        Assert.Equal(GsExitCode.Ok, run.ExitCode);
        var snapshot = Parser.Parse<WatchClockResponse>(run.Output);
        Assert.Equal(ClockChangeKind.Snapshot, snapshot.ClockChanged.Kind);
        Assert.Equal("watched", snapshot.ClockChanged.Clock.WorldId);
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_WatchClockCancelled_StopsPrintingAndExitsCleanly()
    {
        await using var mesh = await CliHarness.StartAsync(nats);
        await mesh.RunAsync("call", "time-manager", "CreateClock", """{"worldId":"watched","requestId":"r-1","timeScale":60}""");
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var output = new FirstMessageWriter();

        var watching = CliHarness.RunGsAsync(
            ["call", "time-manager", "WatchClock", """{"worldId":"watched","tickInterval":"0.1s"}""", "--nats", mesh.Url, "--prefix", mesh.Prefix],
            output: output, interrupt: interrupt);
        await output.FirstMessage.WaitAsync(TestContext.Current.CancellationToken);
        await interrupt.CancelAsync();
        var run = await watching;

        Assert.Equal(GsExitCode.Ok, run.ExitCode);
        Assert.Empty(run.Error);
        Assert.StartsWith("{", run.Output, StringComparison.Ordinal);
        Assert.Contains("CLOCK_CHANGE_KIND_SNAPSHOT", run.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_GetClockOfAWorldWithoutClock_PrintsNotFoundWithItsOwnExitCode()
    {
        await using var mesh = await CliHarness.StartAsync(nats);

        var run = await mesh.RunAsync("call", "time-manager", "GetClock", """{"worldId":"nowhere"}""");

        Assert.Equal(69, run.ExitCode);
        Assert.Equal(GsExitCode.ForStatus(Grpc.Core.StatusCode.NotFound), run.ExitCode);
        Assert.StartsWith("ERROR NOT_FOUND: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("nowhere", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_WithoutARequiredField_PrintsInvalidArgumentAndItsDetails()
    {
        await using var mesh = await CliHarness.StartAsync(nats);

        var run = await mesh.RunAsync("call", "time-manager", "CreateClock", """{"worldId":"w-1","timeScale":1}""");

        Assert.Equal(GsExitCode.ForStatus(Grpc.Core.StatusCode.InvalidArgument), run.ExitCode);
        Assert.StartsWith("ERROR INVALID_ARGUMENT: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("\"@type\": \"type.googleapis.com/google.rpc.BadRequest\"", run.Error, StringComparison.Ordinal);
        Assert.Contains("request_id", run.Error, StringComparison.Ordinal);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("""{"worldId": "w-1",""", "gamesystem.time_manager.v1.GetClockRequest")]
    [InlineData("""{"worldName": "w-1"}""", "worldName")]
    public async Task Call_WithMalformedJson_SaysWhatIsWrongInOneLine(string json, string named)
    {
        var run = await CliHarness.RunGsAsync(["call", "time-manager", "GetClock", json]);

        Assert.Equal(GsExitCode.Usage, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: the request is not a valid gamesystem.time_manager.v1.GetClockRequest in proto3 JSON: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("time-manager", "GetClok", "time-manager has no method 'GetClok'; did you mean GetClock?")]
    [InlineData("time-manger", "GetClock", "unknown service 'time-manger'; did you mean time-manager?")]
    public async Task Call_WithAnUnknownName_SuggestsTheClosestOne(string service, string method, string message)
    {
        var run = await CliHarness.RunGsAsync(["call", service, method, "{}"]);

        Assert.Equal(GsExitCode.Usage, run.ExitCode);
        Assert.Equal("error: " + message, run.Error.TrimEnd());
    }

    [Theory(Timeout = 20_000)]
    [InlineData("watch", "error: unknown command 'watch'.")]
    [InlineData("list --verbose", "error: unknown option --verbose.")]
    [InlineData("call time-manager", "error: wrong number of arguments for 'call'.")]
    public async Task Run_WithAMalformedCommandLine_PointsToTheUsage(string commandLine, string message)
    {
        var run = await CliHarness.RunGsAsync(commandLine.Split(' '));

        Assert.Equal(GsExitCode.Usage, run.ExitCode);
        Assert.Equal([message, "Run 'gs --help' for usage."], run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_WhenNatsIsUnreachable_SaysToStartTheMesh()
    {
        var url = $"nats://127.0.0.1:{UnusedPort()}";

        var run = await CliHarness.RunGsAsync(["call", "time-manager", "GetClock", """{"worldId":"w-1"}""", "--nats", url]);

        Assert.Equal(GsExitCode.NatsUnreachable, run.ExitCode);
        Assert.Equal($"error: cannot reach NATS at {url}: is the mesh running? Start it with eng/run-mesh.sh (or pass --nats url).", run.Error.TrimEnd());
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Captures what gs prints and says when the first message of a stream is out.</summary>
    private sealed class FirstMessageWriter : StringWriter
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstMessage => _first.Task;

        public override async Task WriteLineAsync(string? value)
        {
            await base.WriteLineAsync(value);
            _first.TrySetResult();
        }
    }
}
