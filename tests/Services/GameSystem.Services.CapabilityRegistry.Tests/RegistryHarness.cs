using GameSystem.CapabilityRegistry.V1;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh.Nats;
using GameSystem.Services.EventBus;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using EventBusService = GameSystem.Services.EventBus.EventBusService;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>
/// Two capability-registry instances on one store, as two hosts of one deployment run them,
/// each served behind the runtime's identity interceptor over a real nats-server on a mesh prefix
/// of its own, with its outbox relayed to one real event-bus (JetStream); auth
/// (<see cref="TestIdentity"/>) issues the tokens, and a generated client of each instance calls
/// as the service account <see cref="Host"/>.
/// </summary>
internal sealed class RegistryHarness : IAsyncDisposable
{
    public const string OutboxName = "capability-registry";

    private static readonly EventRelayOptions FastRelay = EventRelayOptions.Default with { SweepInterval = TimeSpan.FromMilliseconds(200), FirstBackoff = TimeSpan.FromMilliseconds(50) };

    private readonly NatsConnection _busConnection;
    private readonly EventBusService _bus;
    private readonly ServiceMesh _busMesh;
    private readonly ServiceMesh _meshA;
    private readonly ServiceMesh _meshB;
    private readonly EventRelay _relayA;
    private readonly EventRelay _relayB;
    private readonly CapabilityRegistryOptions _options;
    private readonly string _natsUrl;
    private readonly List<ServiceMesh> _unverified = [];

    private RegistryHarness(string natsUrl, IStateStore store, TestIdentity identity, TestCaller host, NatsConnection busConnection, EventBusService bus, ServiceMesh busMesh, ServiceMesh meshA, ServiceMesh meshB, EventRelay relayA, EventRelay relayB, CapabilityRegistryService a, CapabilityRegistryService b, CapabilityRegistryOptions options)
    {
        _natsUrl = natsUrl;
        Store = store;
        Identity = identity;
        Host = host;
        _busConnection = busConnection;
        _bus = bus;
        _busMesh = busMesh;
        _meshA = meshA;
        _meshB = meshB;
        _relayA = relayA;
        _relayB = relayB;
        _options = options;
        ServiceA = a;
        ServiceB = b;
        Client = ClientAs(host);
        ClientB = new CapabilityRegistryServiceClient(host.Invoker(meshB.Invoker));
        EventBus = new EventBusServiceClient(busMesh.Invoker);
    }

    /// <summary>auth, and the callers it issues tokens to.</summary>
    public TestIdentity Identity { get; }

    /// <summary>The service account <c>svc-weather-manager</c>, as a host registering its instances calls.</summary>
    public TestCaller Host { get; }

    /// <summary>A client of instance A, calling as <see cref="Host"/>.</summary>
    public CapabilityRegistryServiceClient Client { get; }

    /// <summary>A client of instance B (same store, same event-bus), calling as <see cref="Host"/>.</summary>
    public CapabilityRegistryServiceClient ClientB { get; }

    public EventBusServiceClient EventBus { get; }

    public IStateStore Store { get; }

    public CapabilityRegistryService ServiceA { get; }

    public CapabilityRegistryService ServiceB { get; }

    /// <summary>Starts auth on <paramref name="identityStore"/>, event-bus, and the two registry instances on <paramref name="store"/>.</summary>
    public static async Task<RegistryHarness> StartAsync(NatsServerFixture nats, IStateStore store, IStateStore identityStore, CapabilityRegistryOptions options)
    {
        var identity = await TestIdentity.StartAsync(nats, identityStore);
        var host = await identity.ServiceAsync("weather-manager");
        var ns = "cr" + Guid.NewGuid().ToString("N")[..10];
        var busConnection = await ServiceMesh.ConnectAsync(nats.Url, "event-bus");
        var bus = new EventBusService(busConnection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var busMesh = await ServiceMesh.StartAsync(nats, "event-bus", _ => [bus]);
        var busClient = new EventBusServiceClient(busMesh.Invoker);
        var outboxA = new EventOutbox(OutboxName, TimeProvider.System);
        var outboxB = new EventOutbox(OutboxName, TimeProvider.System);
        var a = Create(store, outboxA, busClient, options);
        var b = Create(store, outboxB, busClient, options);
        var meshA = await ServiceMesh.StartAsync(nats, "capability-registry-a", _ => [a], _ => identity.Interceptor);
        var meshB = await ServiceMesh.StartAsync(nats, "capability-registry-b", _ => [b], _ => identity.Interceptor);
        var outboxes = (IStateOutboxStore)store;
        var relayA = new EventRelay(outboxA, outboxes, busClient, options: FastRelay);
        var relayB = new EventRelay(outboxB, outboxes, busClient, options: FastRelay);
        await relayA.StartAsync(CancellationToken.None);
        await relayB.StartAsync(CancellationToken.None);
        return new RegistryHarness(nats.Url, store, identity, host, busConnection, bus, busMesh, meshA, meshB, relayA, relayB, a, b, options);
    }

    /// <summary>A client of instance A calling as <paramref name="caller"/>.</summary>
    public CapabilityRegistryServiceClient ClientAs(TestCaller caller) => new(caller.Invoker(_meshA.Invoker));

    /// <summary>
    /// One more instance on the store, served without the identity interceptor as a host with
    /// identity off serves it, and a client of it calling as <see cref="Host"/>: the token
    /// reaches the handlers unverified.
    /// </summary>
    public async Task<CapabilityRegistryServiceClient> StartUnverifiedInstanceAsync()
    {
        var service = Create(Store, new EventOutbox(OutboxName, TimeProvider.System), EventBus, _options);
        var mesh = await ServiceMesh.StartAsync(_natsUrl, "capability-registry-unverified", _ => [service]);
        _unverified.Add(mesh);
        return new CapabilityRegistryServiceClient(Host.Invoker(mesh.Invoker));
    }

    private static CapabilityRegistryService Create(IStateStore store, EventOutbox outbox, EventBusServiceClient bus, CapabilityRegistryOptions options) =>
        new(store, outbox, bus, TimeProvider.System, NullLogger<CapabilityRegistryService>.Instance, Options.Create(options));

    /// <summary>The first <paramref name="count"/> registry events event-bus stored (from the oldest).</summary>
    public async Task<List<DomainEvent>> StoredEventsAsync(int count, CancellationToken cancellationToken)
    {
        using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        within.CancelAfter(TimeSpan.FromSeconds(10));
        var events = new List<DomainEvent>();
        var request = new SubscribeRequest { Stream = "events", TypeFilters = { "capability.>" }, DeliverPolicy = DeliverPolicy.All };
        await foreach (var item in EventBus.SubscribeAsync(request, cancellationToken: within.Token))
        {
            if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event)
            {
                events.Add(item.Event.Event);
                if (events.Count == count)
                {
                    break;
                }
            }
        }

        return events;
    }

    /// <summary>The members of one of the registry's indexes, read from the store.</summary>
    public async Task<List<string>> MembersAsync(string index, CancellationToken cancellationToken)
    {
        var members = new List<string>();
        var query = new StateIndexQuery { PageSize = StateKeys.MaxPageSize };
        while (true)
        {
            var page = await Store.QueryIndexAsync(index, query, cancellationToken);
            members.AddRange(page.Members);
            if (page.NextPageToken is null)
            {
                return members;
            }

            query = query with { PageToken = page.NextPageToken };
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _relayA.DisposeAsync();
        await _relayB.DisposeAsync();
        foreach (var mesh in _unverified)
        {
            await mesh.DisposeAsync();
        }

        await _meshB.DisposeAsync();
        await _meshA.DisposeAsync();
        await _busMesh.DisposeAsync();
        await _bus.DisposeAsync();
        await _busConnection.DisposeAsync();
        await Identity.DisposeAsync();
    }
}
