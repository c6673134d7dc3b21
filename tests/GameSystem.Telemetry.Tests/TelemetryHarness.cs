using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Gateway;
using GameSystem.Mesh.Nats;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.TelemetryTest.V1;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using EventBusOptions = GameSystem.Services.EventBus.EventBusOptions;
using EventBusService = GameSystem.Services.EventBus.EventBusService;
using TimeManagerImplementation = GameSystem.Services.TimeManager.TimeManagerService;

namespace GameSystem.Telemetry.Tests;

/// <summary>
/// time-manager (on an instrumented in-memory store), event-bus, and clock-relay (which calls
/// time-manager, at most one call at a time) served on one subject prefix of a real nats-server,
/// with time-manager's outbox relay running, and the gateway in front on Kestrel (a free
/// loopback port), identity off: every piece a production trace and scrape cross, in one process.
/// </summary>
internal sealed class TelemetryHarness : IAsyncDisposable
{
    public const string TimeManagerService = "gamesystem.time_manager.v1.TimeManagerService";
    public const string ClockRelayService = "gamesystem.telemetrytest.v1.ClockRelayService";

    private readonly NatsConnection _serverConnection;
    private readonly NatsConnection _clientConnection;
    private readonly NatsMeshServer _server;
    private readonly EventBusService _eventBus;
    private readonly EventRelay _outboxRelay;
    private readonly WebApplication _gateway;

    private TelemetryHarness(NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, EventBusService eventBus, EventOutbox outbox, EventRelay outboxRelay, WebApplication gateway, NatsMeshClient invoker, ClockRelayService relay, InstrumentedStateStore store, Uri address)
    {
        Store = store;
        _serverConnection = serverConnection;
        _clientConnection = clientConnection;
        _server = server;
        _eventBus = eventBus;
        Outbox = outbox;
        _outboxRelay = outboxRelay;
        _gateway = gateway;
        Invoker = invoker;
        Relay = relay;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A client of the gateway.</summary>
    public HttpClient Http { get; }

    /// <summary>A mesh client on the services' prefix.</summary>
    public NatsMeshClient Invoker { get; }

    public ClockRelayService Relay { get; }

    /// <summary>time-manager's outbox, which the harness's relay delivers to event-bus.</summary>
    public EventOutbox Outbox { get; }

    /// <summary>The store time-manager keeps its clocks in.</summary>
    public InstrumentedStateStore Store { get; }

    public TimeManagerServiceClient TimeManager => new(Invoker);

    public EventBusServiceClient EventBus => new(Invoker);

    public static async Task<TelemetryHarness> StartAsync(NatsServerFixture nats)
    {
        var prefix = "o" + Guid.NewGuid().ToString("N")[..10];
        var store = new InstrumentedStateStore(new InMemoryStateStore());
        var serverConnection = await ServiceMesh.ConnectAsync(nats.Url, "telemetry-test-server");
        var clientConnection = await ServiceMesh.ConnectAsync(nats.Url, "telemetry-test-client");
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var serverOptions = MeshServerOptions.Default with { SubjectPrefix = prefix };
        var server = new NatsMeshServer(serverConnection, serverOptions);

        var outbox = new EventOutbox("time-manager", TimeProvider.System);
        var time = new TimeManagerImplementation(store, store, TimeProvider.System, NullLogger<TimeManagerImplementation>.Instance, outbox);
        var eventBus = new EventBusService(serverConnection, Options.Create(EventBusOptions.Default), serverOptions, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var relay = new ClockRelayService(new TimeManagerServiceClient(invoker));
        server.AddService(TimeManagerServiceDispatcher.Info.Bind(time));
        server.AddService(EventBusServiceDispatcher.Info.Bind(eventBus));
        server.AddService(ClockRelayServiceDispatcher.Info.Bind(relay), serverOptions with { MaxConcurrentCalls = 1 });
        await eventBus.StartAsync(CancellationToken.None);
        await server.StartAsync();
        var outboxRelay = new EventRelay(outbox, store, new EventBusServiceClient(invoker));
        await outboxRelay.StartAsync(CancellationToken.None);

        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--GameSystem:Nats:Servers={nats.Url}",
            $"--GameSystem:Mesh:SubjectPrefix={prefix}",
            "--GameSystem:Identity:Mode=Off",
            "--Logging:LogLevel:Default=Warning",
        ];
        var gateway = GatewayApplication.Build(args, [.. GatewayApplication.Contracts, ClockRelayServiceDispatcher.Info]);
        await gateway.StartAsync();
        var address = new Uri(GatewayApplication.Addresses(gateway).Single());
        return new TelemetryHarness(serverConnection, clientConnection, server, eventBus, outbox, outboxRelay, gateway, invoker, relay, store, address);
    }

    /// <summary>Creates a world's clock (which also puts a clock event in time-manager's outbox).</summary>
    public async Task CreateClockAsync(string worldId, double timeScale, CancellationToken cancellationToken) =>
        await TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = worldId, RequestId = Guid.NewGuid().ToString(), TimeScale = timeScale }, cancellationToken: cancellationToken);

    /// <summary>The gateway's /metrics, in the Prometheus text format.</summary>
    public async Task<string> ScrapeAsync(CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(new Uri(GameSystemTelemetry.MetricsPath, UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _gateway.StopAsync();
        await _gateway.DisposeAsync();
        await _outboxRelay.DisposeAsync();
        await _server.DisposeAsync();
        await _eventBus.DisposeAsync();
        await Invoker.DisposeAsync();
        await _clientConnection.DisposeAsync();
        await _serverConnection.DisposeAsync();
    }
}
