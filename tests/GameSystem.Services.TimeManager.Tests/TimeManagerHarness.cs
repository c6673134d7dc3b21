using GameSystem.Mesh.Nats;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>The time-manager served over a real nats-server on a unique subject prefix, and a generated client.</summary>
internal sealed class TimeManagerHarness : IAsyncDisposable
{
    private readonly NatsConnection _serverConnection;
    private readonly NatsConnection _clientConnection;
    private readonly NatsMeshServer _server;
    private readonly NatsMeshClient _invoker;

    private TimeManagerHarness(NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, NatsMeshClient invoker)
    {
        _serverConnection = serverConnection;
        _clientConnection = clientConnection;
        _server = server;
        _invoker = invoker;
        Client = new TimeManagerServiceClient(invoker);
    }

    public TimeManagerServiceClient Client { get; }

    public static async Task<TimeManagerHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var serverConnection = await nats.ConnectAsync("time-manager-server");
        var clientConnection = await nats.ConnectAsync("time-manager-client");
        var server = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix });
        server.AddService(TimeManagerServiceDispatcher.Bind(new TimeManagerService(store, time, NullLogger<TimeManagerService>.Instance)));
        await server.StartAsync();
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        return new TimeManagerHarness(serverConnection, clientConnection, server, invoker);
    }

    public async ValueTask DisposeAsync()
    {
        await _invoker.DisposeAsync();
        await _server.DisposeAsync();
        await _serverConnection.DisposeAsync();
        await _clientConnection.DisposeAsync();
    }
}
