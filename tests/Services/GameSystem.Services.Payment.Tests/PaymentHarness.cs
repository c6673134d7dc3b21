using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh.Nats;
using GameSystem.Payment.V1;
using GameSystem.Services.EventBus;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using EventBusService = GameSystem.Services.EventBus.EventBusService;

namespace GameSystem.Services.Payment.Tests;

/// <summary>
/// A deployment as the host runs it: auth (<see cref="TestIdentity"/>), payment served behind the
/// runtime's identity interceptor on its store and, when a test needs the events, event-bus
/// (JetStream, a namespace of its own) with payment's outbox relay delivering to it.
/// </summary>
internal sealed class PaymentHarness : IAsyncDisposable
{
    public const string ServiceName = "payment";

    private static readonly EventRelayOptions FastRelay = EventRelayOptions.Default with { SweepInterval = TimeSpan.FromMilliseconds(200) };

    private readonly ServiceMesh _mesh;
    private readonly ServiceMesh? _busMesh;
    private readonly NatsConnection? _busConnection;
    private readonly EventBusService? _bus;
    private readonly EventRelay? _relay;

    private PaymentHarness(IStateStore store, TestIdentity identity, TestCaller admin, ServiceMesh mesh, ServiceMesh? busMesh, NatsConnection? busConnection, EventBusService? bus, EventRelay? relay)
    {
        Store = store;
        Identity = identity;
        Admin = admin;
        _mesh = mesh;
        _busMesh = busMesh;
        _busConnection = busConnection;
        _bus = bus;
        _relay = relay;
        Client = ClientAs(admin);
        EventBus = busMesh is null ? null : new EventBusServiceClient(busMesh.Invoker);
    }

    /// <summary>auth, and the callers it issues tokens to.</summary>
    public TestIdentity Identity { get; }

    /// <summary>An operator holding <c>payment.admin</c>: who <see cref="Client"/> calls as.</summary>
    public TestCaller Admin { get; }

    /// <summary>The store payment keeps its state in.</summary>
    public IStateStore Store { get; }

    /// <summary>A client calling as <see cref="Admin"/>.</summary>
    public PaymentServiceClient Client { get; }

    /// <summary>event-bus, when started with events.</summary>
    public EventBusServiceClient? EventBus { get; }

    public static async Task<PaymentHarness> StartAsync(NatsServerFixture nats, IStateStore store, IStateStore identityStore, bool withEvents = false, bool verifyCallers = true)
    {
        var identity = await TestIdentity.StartAsync(nats, identityStore);
        var admin = await identity.OperatorAsync("payment.admin");
        ServiceMesh? busMesh = null;
        NatsConnection? busConnection = null;
        EventBusService? bus = null;
        if (withEvents)
        {
            var ns = "pt" + Guid.NewGuid().ToString("N")[..10];
            busConnection = await ServiceMesh.ConnectAsync(nats.Url, "event-bus");
            bus = new EventBusService(busConnection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
            var started = bus;
            busMesh = await ServiceMesh.StartAsync(nats, "event-bus", _ => [started]);
        }

        var outbox = new EventOutbox(ServiceName);
        var service = new PaymentService(store, outbox, Options.Create(PaymentOptions.Default), TimeProvider.System, NullLogger<PaymentService>.Instance);
        var mesh = await ServiceMesh.StartAsync(nats, ServiceName, _ => [service], verifyCallers ? _ => identity.Interceptor : null);
        EventRelay? relay = null;
        if (busMesh is not null)
        {
            relay = new EventRelay(outbox, (IStateOutboxStore)store, new EventBusServiceClient(busMesh.Invoker), options: FastRelay);
            await relay.StartAsync(CancellationToken.None);
        }

        return new PaymentHarness(store, identity, admin, mesh, busMesh, busConnection, bus, relay);
    }

    /// <summary>A client calling as <paramref name="caller"/>.</summary>
    public PaymentServiceClient ClientAs(TestCaller caller) => new(caller.Invoker(_mesh.Invoker));

    public async ValueTask DisposeAsync()
    {
        await _mesh.DisposeAsync();
        if (_relay is not null)
        {
            await _relay.StopAsync(CancellationToken.None);
            await _relay.DisposeAsync();
        }

        if (_busMesh is not null)
        {
            await _busMesh.DisposeAsync();
        }

        if (_bus is not null)
        {
            await _bus.DisposeAsync();
        }

        if (_busConnection is not null)
        {
            await _busConnection.DisposeAsync();
        }

        await Identity.DisposeAsync();
    }
}
