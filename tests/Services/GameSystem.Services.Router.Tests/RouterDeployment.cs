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
/// A router deployment as the host runs it: auth (<see cref="TestIdentity"/>), an event-bus (its
/// own JetStream namespace) and router instances on one shared store, each served behind the
/// runtime's identity interceptor on a mesh prefix of its own (so a test picks the instance it
/// calls, and who it calls as) with its outbox relayed to event-bus.
/// </summary>
internal sealed class RouterDeployment : IAsyncDisposable
{
    private readonly string _natsUrl;
    private readonly NatsConnection _eventBusConnection;
    private readonly EventBusService _eventBus;
    private readonly ServiceMesh _eventBusMesh;
    private readonly List<RouterInstance> _instances = [];

    private RouterDeployment(string natsUrl, IStateStore store, TestIdentity identity, TestCaller operatorCaller, NatsConnection connection, EventBusService eventBus, ServiceMesh eventBusMesh)
    {
        _natsUrl = natsUrl;
        Store = store;
        Identity = identity;
        Operator = operatorCaller;
        _eventBusConnection = connection;
        _eventBus = eventBus;
        _eventBusMesh = eventBusMesh;
        EventBus = new EventBusServiceClient(eventBusMesh.Invoker);
    }

    public IStateStore Store { get; }

    public EventBusServiceClient EventBus { get; }

    /// <summary>auth, and the callers it issues tokens to.</summary>
    public TestIdentity Identity { get; }

    /// <summary>An operator holding <c>router.admin</c>: who <see cref="RouterInstance.Client"/> calls as.</summary>
    public TestCaller Operator { get; }

    /// <summary>Starts auth on <paramref name="identityStore"/> and event-bus; routers are added with <see cref="AddInstanceAsync"/>.</summary>
    public static async Task<RouterDeployment> StartAsync(string natsUrl, IStateStore store, IStateStore identityStore)
    {
        var identity = await TestIdentity.StartAsync(natsUrl, identityStore);
        var operatorCaller = await identity.OperatorAsync(RouterService.AdminScope);
        var ns = "rt" + Guid.NewGuid().ToString("N")[..10];
        var connection = await ServiceMesh.ConnectAsync(natsUrl, "event-bus");
        var eventBus = new EventBusService(connection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var mesh = await ServiceMesh.StartAsync(natsUrl, "event-bus", _ => [eventBus]);
        return new RouterDeployment(natsUrl, store, identity, operatorCaller, connection, eventBus, mesh);
    }

    /// <summary>
    /// Starts one more router instance on the shared store and waits until it follows the change
    /// events; without <paramref name="verifyCallers"/> it is served without the identity
    /// interceptor, as a host with identity off serves it.
    /// </summary>
    public async Task<RouterInstance> AddInstanceAsync(RouterOptions? options = null, bool verifyCallers = true, CancellationToken cancellationToken = default)
    {
        var outbox = new EventOutbox("router");
        var service = new RouterService(Store, outbox, EventBus, Options.Create(options ?? RouterOptions.Default), TimeProvider.System, NullLogger<RouterService>.Instance);
        var mesh = await ServiceMesh.StartAsync(_natsUrl, "router", _ => [service], verifyCallers ? _ => Identity.Interceptor : null);
        var relay = new EventRelay(outbox, (IStateOutboxStore)Store, EventBus, NullLogger<EventRelay>.Instance, TimeProvider.System, new EventRelayOptions { SweepInterval = TimeSpan.FromMilliseconds(500) });
        await relay.StartAsync(cancellationToken);
        var instance = new RouterInstance(mesh, service, relay, Operator);
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
        await Identity.DisposeAsync();
    }
}

/// <summary>One router instance of a <see cref="RouterDeployment"/> and generated clients that call it.</summary>
internal sealed class RouterInstance(ServiceMesh mesh, RouterService service, EventRelay relay, TestCaller operatorCaller) : IAsyncDisposable
{
    /// <summary>A client calling as the deployment's operator (<c>router.admin</c>).</summary>
    public RouterServiceClient Client { get; } = new(operatorCaller.Invoker(mesh.Invoker));

    /// <summary>A client calling as <paramref name="caller"/>.</summary>
    public RouterServiceClient ClientAs(TestCaller caller) => new(caller.Invoker(mesh.Invoker));

    public RouterService Service => service;

    public async ValueTask DisposeAsync()
    {
        await mesh.DisposeAsync();
        await relay.StopAsync(CancellationToken.None);
        await relay.DisposeAsync();
    }
}
