using GameSystem.EventBus.V1;
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
    private readonly TimeManagerService _service;

    private TimeManagerHarness(NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, NatsMeshClient invoker, TimeManagerService service, RecordingEventBus? eventBus)
    {
        _serverConnection = serverConnection;
        _clientConnection = clientConnection;
        _server = server;
        _invoker = invoker;
        _service = service;
        EventBus = eventBus;
        Client = new TimeManagerServiceClient(invoker);
    }

    public TimeManagerServiceClient Client { get; }

    /// <summary>The event-bus peer, or null when none is served (calls to it find no responders).</summary>
    public RecordingEventBus? EventBus { get; }

    /// <summary>Serves time-manager (with its timer scheduler running) and, when given, the event-bus peer.</summary>
    public static async Task<TimeManagerHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time, RecordingEventBus? eventBus)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var serverConnection = await nats.ConnectAsync("time-manager-server");
        var clientConnection = await nats.ConnectAsync("time-manager-client");
        var server = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix });
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var service = new TimeManagerService(store, time, NullLogger<TimeManagerService>.Instance, new EventBusServiceClient(invoker));
        server.AddService(TimeManagerServiceDispatcher.Bind(service));
        if (eventBus is not null)
        {
            server.AddService(EventBusServiceDispatcher.Bind(eventBus));
        }

        await server.StartAsync();
        await service.StartAsync(CancellationToken.None);
        return new TimeManagerHarness(serverConnection, clientConnection, server, invoker, service, eventBus);
    }

    public async ValueTask DisposeAsync()
    {
        await _service.StopAsync(CancellationToken.None);
        _service.Dispose();
        await _invoker.DisposeAsync();
        await _server.DisposeAsync();
        await _serverConnection.DisposeAsync();
        await _clientConnection.DisposeAsync();
    }
}
