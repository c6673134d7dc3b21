using GameSystem.LanguageSystem.V1;
using GameSystem.Mesh.Nats;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>The language-system served over a real nats-server on a unique subject prefix, and a generated client.</summary>
internal sealed class LanguageSystemHarness : IAsyncDisposable
{
    private readonly NatsConnection _serverConnection;
    private readonly NatsConnection _clientConnection;
    private readonly NatsMeshServer _server;
    private readonly NatsMeshClient _invoker;

    private LanguageSystemHarness(NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, NatsMeshClient invoker)
    {
        _serverConnection = serverConnection;
        _clientConnection = clientConnection;
        _server = server;
        _invoker = invoker;
        Client = new LanguageSystemServiceClient(invoker);
    }

    public LanguageSystemServiceClient Client { get; }

    public static async Task<LanguageSystemHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var serverConnection = await nats.ConnectAsync("language-system-server");
        var clientConnection = await nats.ConnectAsync("language-system-client");
        var server = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix });
        server.AddService(LanguageSystemServiceDispatcher.Bind(new LanguageSystemService(store, time, NullLogger<LanguageSystemService>.Instance)));
        await server.StartAsync();
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        return new LanguageSystemHarness(serverConnection, clientConnection, server, invoker);
    }

    public async ValueTask DisposeAsync()
    {
        await _invoker.DisposeAsync();
        await _server.DisposeAsync();
        await _serverConnection.DisposeAsync();
        await _clientConnection.DisposeAsync();
    }
}
