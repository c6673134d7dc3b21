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
/// each served over a real nats-server on a mesh prefix of its own with its outbox relayed to
/// one real event-bus (JetStream), and a generated client of each.
/// </summary>
internal sealed class RegistryHarness : IAsyncDisposable
{
    public const string OutboxName = "capability-registry";

    private static readonly EventRelayOptions FastRelay = EventRelayOptions.Default with { SweepInterval = TimeSpan.FromMilliseconds(200), FirstBackoff = TimeSpan.FromMilliseconds(50) };

    private readonly NatsConnection _busConnection;
    private readonly EventBusService _bus;
    private readonly ServiceMesh _meshA;
    private readonly ServiceMesh _meshB;
    private readonly EventRelay _relayA;
    private readonly EventRelay _relayB;

    private RegistryHarness(IStateStore store, NatsConnection busConnection, EventBusService bus, ServiceMesh meshA, ServiceMesh meshB, EventRelay relayA, EventRelay relayB, CapabilityRegistryService a, CapabilityRegistryService b)
    {
        Store = store;
        _busConnection = busConnection;
        _bus = bus;
        _meshA = meshA;
        _meshB = meshB;
        _relayA = relayA;
        _relayB = relayB;
        ServiceA = a;
        ServiceB = b;
        Client = new CapabilityRegistryServiceClient(meshA.Invoker);
        ClientB = new CapabilityRegistryServiceClient(meshB.Invoker);
        EventBus = new EventBusServiceClient(meshA.Invoker);
    }

    /// <summary>A client of instance A.</summary>
    public CapabilityRegistryServiceClient Client { get; }

    /// <summary>A client of instance B (same store, same event-bus).</summary>
    public CapabilityRegistryServiceClient ClientB { get; }

    public EventBusServiceClient EventBus { get; }

    public IStateStore Store { get; }

    public CapabilityRegistryService ServiceA { get; }

    public CapabilityRegistryService ServiceB { get; }

    public static async Task<RegistryHarness> StartAsync(NatsServerFixture nats, IStateStore store, CapabilityRegistryOptions options)
    {
        var ns = "cr" + Guid.NewGuid().ToString("N")[..10];
        var busConnection = await ServiceMesh.ConnectAsync(nats.Url, "event-bus");
        var bus = new EventBusService(busConnection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var outboxA = new EventOutbox(OutboxName, TimeProvider.System);
        var outboxB = new EventOutbox(OutboxName, TimeProvider.System);
        CapabilityRegistryService? a = null;
        var meshA = await ServiceMesh.StartAsync(nats, "capability-registry-a", invoker =>
        {
            a = Create(store, outboxA, new EventBusServiceClient(invoker), options);
            return [bus, a];
        });
        var busClient = new EventBusServiceClient(meshA.Invoker);
        var b = Create(store, outboxB, busClient, options);
        var meshB = await ServiceMesh.StartAsync(nats, "capability-registry-b", _ => [b]);
        var outboxes = (IStateOutboxStore)store;
        var relayA = new EventRelay(outboxA, outboxes, busClient, options: FastRelay);
        var relayB = new EventRelay(outboxB, outboxes, busClient, options: FastRelay);
        await relayA.StartAsync(CancellationToken.None);
        await relayB.StartAsync(CancellationToken.None);
        return new RegistryHarness(store, busConnection, bus, meshA, meshB, relayA, relayB, a!, b);
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
        await _meshB.DisposeAsync();
        await _meshA.DisposeAsync();
        await _bus.DisposeAsync();
        await _busConnection.DisposeAsync();
    }
}
