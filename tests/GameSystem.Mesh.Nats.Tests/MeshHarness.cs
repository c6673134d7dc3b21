using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>A server and a client of the probe service on their own connections and a unique subject prefix.</summary>
internal sealed class MeshHarness : IAsyncDisposable
{
    private MeshHarness(string prefix, NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, NatsMeshClient invoker, RecordingProbeService service)
    {
        Prefix = prefix;
        ServerConnection = serverConnection;
        ClientConnection = clientConnection;
        Server = server;
        Invoker = invoker;
        Service = service;
        Client = new ProbeServiceClient(invoker);
    }

    public string Prefix { get; }

    public NatsConnection ServerConnection { get; }

    public NatsConnection ClientConnection { get; }

    public NatsMeshServer Server { get; }

    public NatsMeshClient Invoker { get; }

    public RecordingProbeService Service { get; }

    public ProbeServiceClient Client { get; }

    public string SubjectOf(string method) => $"{Prefix}.gamesystem.meshtest.v1.ProbeService.{method}";

    public static async Task<MeshHarness> StartAsync(
        NatsServerFixture nats,
        Func<MeshServerOptions, MeshServerOptions>? server = null,
        Func<MeshClientOptions, MeshClientOptions>? client = null,
        bool serve = true)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var serverConnection = await nats.ConnectAsync("probe-server");
        var clientConnection = await nats.ConnectAsync("probe-client");
        var serverOptions = (server ?? (o => o))(MeshServerOptions.Default with { SubjectPrefix = prefix });
        var clientOptions = (client ?? (o => o))(MeshClientOptions.Default with { SubjectPrefix = prefix });
        var service = new RecordingProbeService();
        var meshServer = new NatsMeshServer(serverConnection, serverOptions);
        meshServer.AddService(ProbeServiceDispatcher.Bind(service));
        if (serve)
        {
            await meshServer.StartAsync();
        }

        return new MeshHarness(prefix, serverConnection, clientConnection, meshServer, new NatsMeshClient(clientConnection, clientOptions), service);
    }

    public async ValueTask DisposeAsync()
    {
        await Invoker.DisposeAsync();
        await Server.DisposeAsync();
        await ServerConnection.DisposeAsync();
        await ClientConnection.DisposeAsync();
    }
}
