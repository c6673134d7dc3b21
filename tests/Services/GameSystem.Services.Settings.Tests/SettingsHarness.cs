using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh.Nats;
using GameSystem.Services.EventBus;
using EventBusService = GameSystem.Services.EventBus.EventBusService;
using GameSystem.Services.Testing;
using GameSystem.Settings.V1;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace GameSystem.Services.Settings.Tests;

/// <summary>
/// A deployment as the host runs it: auth (<see cref="TestIdentity"/>), one event-bus (JetStream, a
/// namespace of its own) and one or more settings instances sharing one store, each served behind
/// the runtime's identity interceptor on its own mesh prefix with its own outbox relay, so a test
/// picks the instance it calls and who it calls as.
/// </summary>
internal sealed class SettingsHarness : IAsyncDisposable
{
    public const string ServiceName = "settings";

    private static readonly EventRelayOptions FastRelay = EventRelayOptions.Default with { SweepInterval = TimeSpan.FromMilliseconds(200) };

    private readonly ServiceMesh _busMesh;
    private readonly NatsConnection _busConnection;
    private readonly EventBusService _bus;
    private readonly string _natsUrl;

    private SettingsHarness(string natsUrl, IStateStore store, TestIdentity identity, TestCaller operatorCaller, ServiceMesh busMesh, NatsConnection busConnection, EventBusService bus)
    {
        _natsUrl = natsUrl;
        Store = store;
        Identity = identity;
        Operator = operatorCaller;
        _busMesh = busMesh;
        _busConnection = busConnection;
        _bus = bus;
        EventBus = new EventBusServiceClient(busMesh.Invoker);
    }

    /// <summary>auth, and the callers it issues tokens to.</summary>
    public TestIdentity Identity { get; }

    /// <summary>An operator holding <c>settings.admin</c>: who <see cref="Instance.Client"/> calls as.</summary>
    public TestCaller Operator { get; }

    /// <summary>The store every instance shares.</summary>
    public IStateStore Store { get; }

    /// <summary>The event-bus every instance publishes to and watches.</summary>
    public EventBusServiceClient EventBus { get; }

    /// <summary>The instances, in start order.</summary>
    public List<Instance> Instances { get; } = [];

    /// <summary>The first instance's client, calling as <see cref="Operator"/>.</summary>
    public SettingsServiceClient Client => Instances[0].Client;

    /// <summary>Starts auth on <paramref name="identityStore"/>, event-bus, and <paramref name="instances"/> settings instances on <paramref name="store"/>.</summary>
    public static async Task<SettingsHarness> StartAsync(NatsServerFixture nats, IStateStore store, IStateStore identityStore, int instances = 1, bool startRelays = true)
    {
        var identity = await TestIdentity.StartAsync(nats, identityStore);
        var operatorCaller = await identity.OperatorAsync("settings.admin");
        var ns = "st" + Guid.NewGuid().ToString("N")[..10];
        var busConnection = await ServiceMesh.ConnectAsync(nats.Url, "event-bus");
        var bus = new EventBusService(busConnection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var busMesh = await ServiceMesh.StartAsync(nats, "event-bus", _ => [bus]);
        var harness = new SettingsHarness(nats.Url, store, identity, operatorCaller, busMesh, busConnection, bus);
        for (var i = 0; i < instances; i++)
        {
            await harness.AddInstanceAsync(startRelays);
        }

        return harness;
    }

    /// <summary>
    /// Starts another instance on the shared store and event-bus; without <paramref name="verifyCallers"/>
    /// it is served without the identity interceptor, as a host with identity off serves it.
    /// </summary>
    public async Task<Instance> AddInstanceAsync(bool startRelay = true, bool verifyCallers = true)
    {
        var outbox = new EventOutbox(ServiceName);
        var service = new SettingsService(Store, outbox, EventBus, Options.Create(SettingsOptions.Default), TimeProvider.System, NullLogger<SettingsService>.Instance);
        var mesh = await ServiceMesh.StartAsync(_natsUrl, ServiceName, _ => [service], verifyCallers ? _ => Identity.Interceptor : null);
        var relay = new EventRelay(outbox, (IStateOutboxStore)Store, EventBus, options: FastRelay);
        var instance = new Instance(mesh, service, relay, Operator);
        if (startRelay)
        {
            await instance.StartRelayAsync();
        }

        Instances.Add(instance);
        return instance;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances)
        {
            await instance.DisposeAsync();
        }

        await _busMesh.DisposeAsync();
        await _bus.DisposeAsync();
        await _busConnection.DisposeAsync();
        await Identity.DisposeAsync();
    }

    /// <summary>One settings instance: its clients, the service object and the relay of its outbox.</summary>
    internal sealed class Instance(ServiceMesh mesh, SettingsService service, EventRelay relay, TestCaller operatorCaller) : IAsyncDisposable
    {
        private bool _relayStarted;

        /// <summary>A client calling as the harness's operator (<c>settings.admin</c>).</summary>
        public SettingsServiceClient Client { get; } = new(operatorCaller.Invoker(mesh.Invoker));

        /// <summary>A client calling as <paramref name="caller"/>.</summary>
        public SettingsServiceClient ClientAs(TestCaller caller) => new(caller.Invoker(mesh.Invoker));

        public SettingsService Service => service;

        public async Task StartRelayAsync()
        {
            await relay.StartAsync(CancellationToken.None);
            _relayStarted = true;
        }

        public async ValueTask DisposeAsync()
        {
            await mesh.DisposeAsync();
            if (_relayStarted)
            {
                await relay.StopAsync(CancellationToken.None);
            }

            await relay.DisposeAsync();
        }
    }
}
