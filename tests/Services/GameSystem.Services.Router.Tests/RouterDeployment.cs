using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh.Nats;
using GameSystem.Router.V1;
using EventBusService = GameSystem.Services.EventBus.EventBusService;
using EventBusOptions = GameSystem.Services.EventBus.EventBusOptions;
using GameSystem.Services.Testing;
using GameSystem.State;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace GameSystem.Services.Router.Tests;

/// <summary>
/// A router deployment as the host runs it: an event-bus (its own JetStream namespace) and
/// router instances on one shared store, each served on a mesh prefix of its own (so a test
/// picks the instance it calls) with its outbox relayed to event-bus.
/// </summary>
internal sealed class RouterDeployment : IAsyncDisposable
{
    private readonly string _natsUrl;
    private readonly NatsConnection _eventBusConnection;
    private readonly EventBusService _eventBus;
    private readonly ServiceMesh _eventBusMesh;
    private readonly List<RouterInstance> _instances = [];

    private RouterDeployment(string natsUrl, IStateStore store, NatsConnection connection, EventBusService eventBus, ServiceMesh eventBusMesh)
    {
        _natsUrl = natsUrl;
        Store = store;
        _eventBusConnection = connection;
        _eventBus = eventBus;
        _eventBusMesh = eventBusMesh;
        EventBus = new EventBusServiceClient(eventBusMesh.Invoker);
    }

    public IStateStore Store { get; }

    public EventBusServiceClient EventBus { get; }

    public static async Task<RouterDeployment> StartAsync(string natsUrl, IStateStore store)
    {
        var ns = "rt" + Guid.NewGuid().ToString("N")[..10];
        var connection = await ServiceMesh.ConnectAsync(natsUrl, "event-bus");
        var eventBus = new EventBusService(connection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var mesh = await ServiceMesh.StartAsync(natsUrl, "event-bus", _ => [eventBus]);
        return new RouterDeployment(natsUrl, store, connection, eventBus, mesh);
    }

    /// <summary>Starts one more router instance on the shared store and waits until it follows the change events.</summary>
    public async Task<RouterInstance> AddInstanceAsync(RouterOptions? options = null, CancellationToken cancellationToken = default)
    {
        var outbox = new EventOutbox("router");
        var service = new RouterService(Store, outbox, EventBus, Options.Create(options ?? RouterOptions.Default), TimeProvider.System, NullLogger<RouterService>.Instance);
        var mesh = await ServiceMesh.StartAsync(_natsUrl, "router", _ => [service]);
        var relay = new EventRelay(outbox, (IStateOutboxStore)Store, EventBus, NullLogger<EventRelay>.Instance, TimeProvider.System, new EventRelayOptions { SweepInterval = TimeSpan.FromMilliseconds(500) });
        await relay.StartAsync(cancellationToken);
        var instance = new RouterInstance(mesh, service, relay);
        _instances.Add(instance);
        await service.ChangeEventsLive.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _eventBusMesh.DisposeAsync();
        await _eventBus.DisposeAsync();
        await _eventBusConnection.DisposeAsync();
    }
}

/// <summary>One router instance of a <see cref="RouterDeployment"/> and a generated client that calls it.</summary>
internal sealed class RouterInstance(ServiceMesh mesh, RouterService service, EventRelay relay) : IAsyncDisposable
{
    public RouterServiceClient Client { get; } = new(mesh.Invoker);

    public RouterService Service => service;

    public async ValueTask DisposeAsync()
    {
        await mesh.DisposeAsync();
        await relay.StopAsync(CancellationToken.None);
        await relay.DisposeAsync();
    }
}
