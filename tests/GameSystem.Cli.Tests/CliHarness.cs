using GameSystem.Mesh.Nats;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace GameSystem.Cli.Tests;

/// <summary>What one run of gs printed and returned.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error);

/// <summary>
/// The real time-manager served over a real nats-server on a unique subject prefix, and gs
/// run in-process against it as a user would run it (its arguments, stdin, stdout, stderr).
/// </summary>
internal sealed class CliHarness(NatsConnection connection, NatsMeshServer server, NatsMeshClient peers, string url, string prefix) : IAsyncDisposable
{
    public string Url { get; } = url;

    public string Prefix { get; } = prefix;

    public static async Task<CliHarness> StartAsync(NatsServerFixture nats)
    {
        var prefix = "cli" + Guid.NewGuid().ToString("N")[..10];
        var connection = await nats.ConnectAsync("time-manager-server");
        var server = new NatsMeshServer(connection, MeshServerOptions.Default with { SubjectPrefix = prefix });

        // time-manager records fired timers in its outbox; these tests create no timers.
        var peers = new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var store = new InMemoryStateStore();
        server.AddService(TimeManagerServiceDispatcher.Bind(
            new Services.TimeManager.TimeManagerService(store, store, TimeProvider.System, NullLogger<Services.TimeManager.TimeManagerService>.Instance, new Events.EventOutbox("time-manager"))));
        await server.StartAsync();
        return new CliHarness(connection, server, peers, nats.Url, prefix);
    }

    /// <summary>Runs gs pointed at this mesh with <c>--nats</c> and <c>--prefix</c>.</summary>
    public Task<CliRun> RunAsync(params string[] args) =>
        RunGsAsync([.. args, "--nats", Url, "--prefix", Prefix]);

    /// <summary>Runs gs with exactly these arguments and environment; <paramref name="interrupt"/> plays Ctrl+C.</summary>
    public static async Task<CliRun> RunGsAsync(
        string[] args, string input = "", IReadOnlyDictionary<string, string?>? environment = null, TextWriter? output = null, CancellationTokenSource? interrupt = null)
    {
        output ??= new StringWriter();
        using var error = new StringWriter();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(environment ?? new Dictionary<string, string?>()).Build();
        var exitCode = await GsCommand.RunAsync(args, new StringReader(input), output, error, configuration,
            interrupt?.Token ?? TestContext.Current.CancellationToken);
        return new CliRun(exitCode, output.ToString() ?? "", error.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        await peers.DisposeAsync();
        await connection.DisposeAsync();
    }
}
