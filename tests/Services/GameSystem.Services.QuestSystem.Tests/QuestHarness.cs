using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.Services.EventBus;
using GameSystem.Services.Payment;
using GameSystem.Services.StateManager;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.StateManager.V1;
using GameSystem.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using EventBusService = GameSystem.Services.EventBus.EventBusService;
using PaymentService = GameSystem.Services.Payment.PaymentService;
using StateManagerService = GameSystem.Services.StateManager.StateManagerService;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>
/// A deployment as the host runs it, on one nats-server and one mesh prefix: auth
/// (<see cref="TestIdentity"/>), the real payment and state-manager, and one or more
/// quest-system instances, each a server of its own behind the runtime's identity interceptor,
/// so a test can stop payment, bring it back, or kill a quest-system instance and start a fresh
/// one on the same store. quest-system calls its peers as its service account
/// (<c>svc-quest-system</c>), as the host makes it.
/// </summary>
internal sealed class QuestHarness : IAsyncDisposable
{
    public const string ServiceName = "quest-system";

    /// <summary>Retries fast enough for a test to watch several of them.</summary>
    public static readonly QuestSystemOptions FastOptions = QuestSystemOptions.Default with
    {
        GrantPollInterval = TimeSpan.FromMilliseconds(100),
        GrantRetryBackoff = TimeSpan.FromMilliseconds(100),
        MaxGrantRetryBackoff = TimeSpan.FromMilliseconds(400),
        GrantLease = TimeSpan.FromSeconds(2),
        GrantCallTimeout = TimeSpan.FromSeconds(1),
        InlineGrantTimeout = TimeSpan.FromSeconds(2),
    };

    private readonly NatsServerFixture _nats;
    private readonly string _prefix = "q" + Guid.NewGuid().ToString("N")[..10];
    private readonly NatsConnection _clientConnection;
    private readonly NatsMeshClient _invoker;
    private readonly NatsMeshClient _unreachable;
    private readonly List<Node> _quests = [];
    private Node? _payment;
    private Node? _stateManager;
    private Node? _eventBus;

    private QuestHarness(NatsServerFixture nats, IStateStore store, TestIdentity identity, NatsConnection clientConnection)
    {
        _nats = nats;
        Store = store;
        Identity = identity;
        _clientConnection = clientConnection;
        _invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = _prefix });

        // A network in which nobody answers: what an instance cut off from its peers sees.
        _unreachable = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = "nobody" + _prefix });
    }

    public TestIdentity Identity { get; }

    /// <summary>Where every service keeps its state (each under its own keys).</summary>
    public IStateStore Store { get; }

    /// <summary>A designer: <c>quest-system.admin</c>.</summary>
    public TestCaller Designer { get; private set; } = TestCaller.Anonymous;

    /// <summary>quest-system's own service account, with which it calls payment and state-manager.</summary>
    public TestCaller QuestService { get; private set; } = TestCaller.Anonymous;

    /// <summary>Another service (e.g. body-broker-integration reporting progress), which also reads payment and state-manager for the checks.</summary>
    public TestCaller Observer { get; private set; } = TestCaller.Anonymous;

    /// <summary>The outbox payment records its events in (relayed to event-bus when a test starts it).</summary>
    public EventOutbox PaymentOutbox { get; } = new("payment");

    /// <summary>The quest-system instances running, the first one first.</summary>
    public IReadOnlyList<QuestSystemService> Quests => [.. _quests.Select(n => (QuestSystemService)n.Implementations[0])];

    public static async Task<QuestHarness> StartAsync(NatsServerFixture nats, IStateStore store, IStateStore identityStore, bool withPayment = true)
    {
        var identity = await TestIdentity.StartAsync(nats, identityStore);
        var harness = new QuestHarness(nats, store, identity, await ServiceMesh.ConnectAsync(nats.Url, "quest-tests"))
        {
            Designer = await identity.OperatorAsync("quest-system.admin"),
            QuestService = await identity.ServiceAsync(ServiceName),
            Observer = await identity.ServiceAsync("body-broker-integration"),
        };
        await harness.StartStateManagerAsync();
        if (withPayment)
        {
            await harness.StartPaymentAsync();
        }

        await harness.StartQuestAsync();
        return harness;
    }

    /// <summary>A quest-system client of the mesh calling as <paramref name="caller"/>.</summary>
    public QuestSystemServiceClient QuestsAs(TestCaller caller) => new(caller.Invoker(_invoker));

    public PaymentServiceClient PaymentAs(TestCaller caller) => new(caller.Invoker(_invoker));

    public StateManagerServiceClient StateManagerAs(TestCaller caller) => new(caller.Invoker(_invoker));

    /// <summary>An event-bus client (event-bus is served without the identity interceptor, as in payment's tests).</summary>
    public EventBusServiceClient EventBus => new(_invoker);

    /// <summary>Serves payment (again) on the mesh.</summary>
    public async Task StartPaymentAsync()
    {
        Assert.Null(_payment);
        var payment = new PaymentService(Store, PaymentOutbox, Options.Create(PaymentOptions.Default), TimeProvider.System, NullLogger<PaymentService>.Instance);
        _payment = await Node.StartAsync(_nats, _prefix, "payment", [payment], Identity.Interceptor);
    }

    /// <summary>Stops serving payment: its callers get no answer until it is started again.</summary>
    public async Task StopPaymentAsync()
    {
        var payment = _payment ?? throw new InvalidOperationException("payment is not running.");
        _payment = null;
        await payment.DisposeAsync();
    }

    private async Task StartStateManagerAsync()
    {
        var stateManager = new StateManagerService(Store, new EventOutbox("state-manager"), Options.Create(StateManagerOptions.Default), TimeProvider.System, NullLogger<StateManagerService>.Instance);
        _stateManager = await Node.StartAsync(_nats, _prefix, "state-manager", [stateManager], Identity.Interceptor);
    }

    /// <summary>
    /// Starts a quest-system instance on the store; with <paramref name="reachPayment"/> or
    /// <paramref name="reachStateManager"/> false its calls to that peer go where nobody answers.
    /// </summary>
    public async Task<QuestSystemService> StartQuestAsync(bool reachPayment = true, bool reachStateManager = true, QuestSystemOptions? options = null)
    {
        var payment = new PaymentServiceClient(QuestService.Invoker(reachPayment ? _invoker : _unreachable));
        var stateManager = new StateManagerServiceClient(QuestService.Invoker(reachStateManager ? _invoker : _unreachable));
        var service = new QuestSystemService(Store, (IStateOutboxStore)Store, new EventOutbox(ServiceName), payment, stateManager, Options.Create(options ?? FastOptions), TimeProvider.System, NullLogger<QuestSystemService>.Instance);
        _quests.Add(await Node.StartAsync(_nats, _prefix, ServiceName, [service], Identity.Interceptor));
        return service;
    }

    /// <summary>Ends a quest-system instance as a crash would: its worker stops where it is, nothing is finished or handed over.</summary>
    public async Task KillQuestAsync(QuestSystemService service)
    {
        var node = _quests.Single(n => n.Implementations[0] == service);
        _quests.Remove(node);
        await node.DisposeAsync();
    }

    /// <summary>Serves event-bus (JetStream, a namespace of its own) and relays payment's outbox to it.</summary>
    public async Task<EventRelay> StartEventsAsync()
    {
        var ns = "qt" + Guid.NewGuid().ToString("N")[..10];
        var connection = await ServiceMesh.ConnectAsync(_nats.Url, "event-bus");
        var bus = new EventBusService(connection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        _eventBus = await Node.StartAsync(_nats, _prefix, "event-bus", [bus], interceptor: null, connection);
        var relay = new EventRelay(PaymentOutbox, (IStateOutboxStore)Store, EventBus, options: EventRelayOptions.Default with { SweepInterval = TimeSpan.FromMilliseconds(200) });
        await relay.StartAsync(CancellationToken.None);
        return relay;
    }

    /// <summary>The events quest-system recorded for <paramref name="playerId"/>, oldest first (read from its outbox; no relay runs).</summary>
    public async Task<List<GameSystem.Common.V1.DomainEvent>> EventsAsync(string playerId, CancellationToken cancellationToken)
    {
        var claim = await ((IStateOutboxStore)Store).ClaimOutboxAsync(ServiceName, "player:" + playerId, "contract-test", TimeSpan.FromMilliseconds(200), 1000, cancellationToken);
        Assert.True(claim.Claimed, "the test reads the outbox while no relay runs");
        await ((IStateOutboxStore)Store).CompleteOutboxAsync(ServiceName, "player:" + playerId, "contract-test", 0, cancellationToken);
        return [.. claim.Messages.Select(m => GameSystem.Common.V1.DomainEvent.Parser.ParseFrom(m.Payload.Span))];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _quests)
        {
            await node.DisposeAsync();
        }

        foreach (var node in new[] { _payment, _stateManager, _eventBus })
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }

        await _invoker.DisposeAsync();
        await _unreachable.DisposeAsync();
        await _clientConnection.DisposeAsync();
        await Identity.DisposeAsync();
    }

    /// <summary>Implementations served on a connection of their own under the harness's prefix; disposing it is the process going away.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly NatsConnection _connection;
        private readonly NatsMeshServer _server;

        private Node(NatsConnection connection, NatsMeshServer server, IReadOnlyList<object> implementations)
        {
            _connection = connection;
            _server = server;
            Implementations = implementations;
        }

        public IReadOnlyList<object> Implementations { get; }

        public static async Task<Node> StartAsync(NatsServerFixture nats, string prefix, string name, IReadOnlyList<object> implementations, MeshServerInterceptor? interceptor, NatsConnection? connection = null)
        {
            connection ??= await ServiceMesh.ConnectAsync(nats.Url, name);
            var options = MeshServerOptions.Default with { SubjectPrefix = prefix };
            if (interceptor is not null)
            {
                options = options with { Interceptors = [interceptor] };
            }

            var server = new NatsMeshServer(connection, options);
            foreach (var implementation in implementations)
            {
                var interfaces = implementation.GetType().GetInterfaces();
                foreach (var info in MeshCatalog.FromAssemblies(interfaces.Select(i => i.Assembly)).Where(info => interfaces.Contains(info.ServiceInterface)))
                {
                    server.AddService(info.Bind(implementation));
                }
            }

            await server.StartAsync();
            foreach (var background in implementations.OfType<IHostedService>())
            {
                await background.StartAsync(CancellationToken.None);
            }

            return new Node(connection, server, implementations);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var background in Implementations.OfType<IHostedService>())
            {
                await background.StopAsync(CancellationToken.None);
            }

            await _server.DisposeAsync();
            foreach (var disposable in Implementations.OfType<IDisposable>())
            {
                disposable.Dispose();
            }

            foreach (var disposable in Implementations.OfType<IAsyncDisposable>())
            {
                await disposable.DisposeAsync();
            }

            await _connection.DisposeAsync();
        }
    }
}
