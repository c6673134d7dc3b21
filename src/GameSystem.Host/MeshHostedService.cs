using System.Diagnostics;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.Mesh.Contracts.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Services.CapabilityRegistry;
using GameSystem.State;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace GameSystem.Host;

/// <summary>
/// Connects to NATS, serves the selected services (implemented ones bound to their
/// implementation, the rest answering UNIMPLEMENTED), and on shutdown first ends what the host
/// sends itself (subscriptions, registrations, outbox deliveries), then stops taking calls and
/// lets those in flight finish before the connection drains.
/// </summary>
internal sealed partial class MeshHostedService(
    IServiceProvider services,
    HostSettings settings,
    ImmutableSelection selection,
    INatsConnection connection,
    ILoggerFactory loggerFactory,
    ILogger<MeshHostedService> logger) : IHostedLifecycleService, IAsyncDisposable
{
    /// <summary>The host's health probes, by the names its health report and HTTP readiness use.</summary>
    internal const string NatsProbe = "the NATS connection";
    internal const string StoreProbe = "the state store";

    private static readonly TimeSpan MinimumDrain = TimeSpan.FromSeconds(1);

    private readonly List<object> _implementations = [];
    private readonly List<ServiceEvents> _events = [];
    private readonly List<CapabilityRegistration> _registrations = [];
    private NatsMeshServer? _server;
    private MeshHealthService? _health;
    private NatsMeshServer? _healthServer;
    private int _disposed;

    /// <summary>The host's health, once it runs (the last step of the start); HTTP readiness and $SRV read it.</summary>
    internal MeshHealthService? Health => Volatile.Read(ref _health);

    /// <summary>The instance id the NATS Services API shows, once the services are added.</summary>
    internal string? InstanceId => Volatile.Read(ref _server)?.InstanceId;

    // The mesh starts once the management HTTP listener (Kestrel, a hosted service of its own) has
    // bound, so readiness answers "starting" meanwhile and a taken port stops the host before it
    // announces anything; it stops before the listener does, so readiness answers 503 through the
    // drain. Hence Started/Stopping, which run after every StartAsync and before every StopAsync.
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        // nats-server reports a refused subscription or publish only as an -ERR on the connection.
        connection.ServerError += OnServerErrorAsync;
        try
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (NatsException ex)
        {
            throw new HostStartupException(
                $"Cannot connect to NATS at {string.Join(", ", settings.Nats.Servers)} ({ex.Message}). " +
                "Start a server (eng/run-mesh.sh starts one) or set GameSystem:Nats:Servers.", ex);
        }

        try
        {
            // Resolved now, so an unreachable Redis stops start-up instead of the first call.
            _ = services.GetRequiredService<GameSystem.State.IStateStore>();
        }
        catch (StackExchange.Redis.RedisConnectionException ex)
        {
            throw new HostStartupException(
                $"Cannot connect to Redis at {settings.StoreRedis} ({ex.Message}). Start it, or leave GameSystem:Store:Redis empty to use the in-memory store.", ex);
        }

        // Every call served is verified against auth's keys before its handler runs.
        var identity = services.GetService<HostIdentity>();
        var serverOptions = identity is null ? settings.Server : settings.Server with { Interceptors = settings.Server.Interceptors.Add(identity.Interceptor) };
        _server = new NatsMeshServer(connection, serverOptions, loggerFactory);
        var healthTargets = new List<MeshHealthTarget>();
        var contracts = services.GetService<ServiceCatalog>()?.Contracts ?? [];
        var breakers = services.GetService<NatsMeshClient>();
        foreach (var service in selection.Services)
        {
            MeshServiceDefinition definition;
            object? served = null;
            IReadOnlyList<MeshHealthProbe> dependencies = [];
            if (service.Implementation is { } type)
            {
                // A service that records events gets an outbox named after it, and its relay runs
                // while the host does; a service that subscribes gets its consumers. Its clients
                // (and its relay's) call as its own service account.
                var outbox = ServiceEvents.TakesOutbox(type) ? new EventOutbox(service.Info.Name, services.GetRequiredService<TimeProvider>()) : null;
                var clients = identity?.ForService(service.Info.Name, _server.InstanceId).Clients ?? [];
                var taken = type.GetConstructors().SelectMany(c => c.GetParameters()).Select(p => p.ParameterType).ToHashSet();
                object[] arguments = [.. new object?[] { outbox }.OfType<object>(), .. clients.Where(c => taken.Contains(c.GetType()))];
                var implementation = ActivatorUtilities.CreateInstance(services, type, arguments);
                dependencies = BreakerProbes(taken, contracts, breakers);
                _implementations.Add(implementation);
                served = implementation;
                var eventBus = clients.OfType<EventBusServiceClient>().FirstOrDefault();
                if (CapabilitiesOf(service.Info) is { Count: > 0 } capabilities)
                {
                    var registry = clients.OfType<CapabilityRegistryServiceClient>().FirstOrDefault() ?? services.GetRequiredService<CapabilityRegistryServiceClient>();
                    _registrations.Add(new CapabilityRegistration(
                        registry,
                        service.Info.Name,
                        $"{service.Info.Name}-{_server.InstanceId}",
                        settings.Server.SubjectPrefix,
                        capabilities,
                        settings.CapabilityTtl,
                        services.GetRequiredService<TimeProvider>(),
                        loggerFactory.CreateLogger<CapabilityRegistration>()));
                }

                if (ServiceEvents.Create(services, service.Info.Name, implementation, outbox, eventBus) is { } events)
                {
                    _events.Add(events);
                }

                definition = service.Info.Bind(implementation);
            }
            else
            {
                definition = MeshServiceDefinition.Unimplemented(service.Info.Descriptor);
            }

            var options = settings.ServiceConcurrency.TryGetValue(service.Info.Name, out var limit)
                ? settings.Server with { MaxConcurrentCalls = limit }
                : null;
            _server.AddService(definition, options);

            healthTargets.Add(new MeshHealthTarget(service.Info.FullName, service.IsImplemented, served as IMeshReadiness, dependencies));
        }

        // Made before the services answer, so their $SRV metadata says NOT_SERVING ("no health
        // round has run yet") until the first round; it runs last, below.
        var store = services.GetRequiredService<IStateStore>();
        _health = new MeshHealthService(
            healthTargets,
            [
                new MeshHealthProbe(NatsProbe, _ => ValueTask.FromResult(connection.ConnectionState == NatsConnectionState.Open)),
                new MeshHealthProbe(StoreProbe, async ct =>
                {
                    await store.PingAsync(ct).ConfigureAwait(false);
                    return true;
                }),
            ],
            settings.Health,
            services.GetRequiredService<TimeProvider>(),
            loggerFactory.CreateLogger<MeshHealthService>());
        _server.Health = _health;
        await _server.StartAsync(cancellationToken).ConfigureAwait(false);

        // A service with background work (time-manager's timer scheduler) implements
        // IHostedService; it runs while the service is served.
        foreach (var background in _implementations.OfType<IHostedService>())
        {
            await background.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var events in _events)
        {
            await events.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        // Each instance announces what its contract says it provides, and keeps its lease
        // alive until it stops; a crashed host's instances expire at their TTL.
        foreach (var registration in _registrations)
        {
            await registration.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        // Health last, so SERVING means everything above is up; a server of its own, which the
        // host stops after the others have drained, so it answers NOT_SERVING meanwhile.
        await _health.StartAsync(cancellationToken).ConfigureAwait(false);
        _healthServer = new NatsMeshServer(connection, serverOptions, loggerFactory, _server.InstanceId) { Health = _health };
        _healthServer.AddService(HealthDispatcher.Bind(_health));
        await _healthServer.StartAsync(cancellationToken).ConfigureAwait(false);

        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var info = connection.ServerInfo;
        var implemented = selection.Services.Count(s => s.IsImplemented);
        var servers = string.Join(", ", settings.Nats.Servers);
        LogConnected(logger, _server.InstanceId, servers, info?.Version ?? "?", info?.JetStreamAvailable == true ? "on" : "off");
        LogServing(logger, selection.Services.Length, implemented, selection.Services.Length - implemented);
        if (settings.StoreRedis is { } redis)
        {
            LogRedisStore(logger, redis);
        }
        else
        {
            LogMemoryStore(logger);
        }

        foreach (var service in selection.Services)
        {
            var subject = MeshSubjects.ServiceWildcard(settings.Server.SubjectPrefix, service.Info.FullName);
            LogService(logger, service.Info.Name, service.IsImplemented ? "implemented" : "UNIMPLEMENTED", subject);
        }

        var healthSubject = MeshSubjects.ServiceWildcard(settings.Server.SubjectPrefix, HealthDispatcher.Info.FullName);
        var overall = _health.StatusOf(MeshHealthService.Overall) ?? default;
        LogHealth(logger, healthSubject, overall);
    }

    /// <summary>
    /// Graceful stop, within <see cref="MeshServerOptions.ShutdownTimeout"/> in all. First what the
    /// host itself sends, while every service it runs still answers (its own auth, capability-registry
    /// and event-bus among them): the services' subscriptions and background work end, its instances
    /// deregister, and its relays deliver what the services wrote last. Only then do the servers stop
    /// taking calls and drain. Streams the host holds on its own event-bus would otherwise keep that
    /// drain waiting for the whole timeout, and what it sends last would find nobody answering.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(settings.Server.ShutdownTimeout);

        // Before anything else, so health watchers move away while the host still answers.
        _health?.BeginStop();

        // Cancelled, the consumers' and feeds' Subscribe streams end, so event-bus has nothing to
        // wait for; a handler cut off leaves its event unacknowledged, delivered again later.
        // Callers looking for a provider stop finding this host before it stops answering.
        await StepAsync(
            "stopping the event consumers, the services' background work and the capability registrations",
            Task.WhenAll([
                .. _events.SelectMany(events => events.Consumers).Select(consumer => consumer.StopAsync(budget.Token)),
                .. _implementations.OfType<IHostedService>().Select(background => background.StopAsync(budget.Token)),
                .. _registrations.Select(registration => registration.StopAsync(budget.Token)),
            ]),
            budget.Token).ConfigureAwait(false);

        // After the deregistrations and the last timers, so their events go out too; each relay for
        // at most EventRelayOptions.StopTimeout. What is left stays in the outbox for the next relay.
        await StepAsync(
            "delivering the outboxes",
            Task.WhenAll(_events.Select(events => events.Relay).OfType<EventRelay>().Select(relay => relay.StopAsync(budget.Token))),
            budget.Token).ConfigureAwait(false);

        if (_server is not null)
        {
            // What the budget has left; a spent budget still leaves a moment to refuse what reached
            // the instance and to cancel what runs, rather than dropping it.
            var left = settings.Server.ShutdownTimeout - Stopwatch.GetElapsedTime(started);
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(left > MinimumDrain ? left : MinimumDrain);
            try
            {
                // Bounded by itself: past the token it cancels the calls still running.
                await _server.StopAsync(drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (drain.IsCancellationRequested)
            {
                LogStepCutShort(logger, "draining the servers", settings.Server.ShutdownTimeout.TotalSeconds);
            }
        }

        if (_health is not null && _healthServer is not null)
        {
            // Its watches end now, so its own drain has only the Checks it just took to answer.
            await _health.EndWatchesAsync().ConfigureAwait(false);
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(MinimumDrain);
            try
            {
                await _healthServer.StopAsync(drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (drain.IsCancellationRequested)
            {
                LogStepCutShort(logger, "stopping the health service", settings.Server.ShutdownTimeout.TotalSeconds);
            }
        }

        var took = Stopwatch.GetElapsedTime(started);
        LogStopped(logger, took.TotalSeconds);
    }

    private ValueTask OnServerErrorAsync(object? sender, NatsServerErrorEventArgs args)
    {
        if (args.Kind == NatsServerErrorKind.PermissionsViolation)
        {
            LogPermissionsViolation(logger, args.Error);
        }
        else
        {
            LogNatsServerError(logger, args.Error);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes it twice: as itself and as the hosted service resolved from it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        connection.ServerError -= OnServerErrorAsync;
        if (_healthServer is not null)
        {
            await _healthServer.DisposeAsync().ConfigureAwait(false);
        }

        if (_health is not null)
        {
            await _health.DisposeAsync().ConfigureAwait(false);
        }

        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var registration in _registrations)
        {
            await registration.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var events in _events)
        {
            await events.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var implementation in _implementations)
        {
            switch (implementation)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    /// <summary>Awaits one step of the stop until <paramref name="budget"/> runs out; a step cut short or failing is logged and the stop goes on.</summary>
    private async Task StepAsync(string step, Task work, CancellationToken budget)
    {
        try
        {
            await work.WaitAsync(budget).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            LogStepCutShort(logger, step, settings.Server.ShutdownTimeout.TotalSeconds);
        }
#pragma warning disable CA1031 // One step failing must not keep the next ones, the servers' drain above all, from running.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogStepFailed(logger, ex, step);
        }
    }

    /// <summary>
    /// One probe per service whose generated client the implementation's constructor takes (its
    /// declared dependencies): failing while the host's circuit breaker for that service is open,
    /// that is while calls to it fail fast. A break ends by itself, so the service is SERVING again
    /// at the latest a break duration later, and the next call probes the dependency.
    /// </summary>
    private static List<MeshHealthProbe> BreakerProbes(HashSet<Type> taken, IEnumerable<MeshServiceInfo> contracts, NatsMeshClient? client) =>
        client is null ? [] : [.. contracts
            .Where(c => taken.Contains(c.ClientType))
            .Select(c => new MeshHealthProbe($"the circuit breaker for {c.FullName}", _ => ValueTask.FromResult(client.CircuitStateOf(c.FullName) != MeshCircuitState.Open)))];

    private static List<Capability> CapabilitiesOf(MeshServiceInfo service) =>
        [.. (service.Descriptor.GetOptions()?.GetExtension(OptionsExtensions.Service)?.Capabilities ?? []).Select(name => new Capability { Name = name })];

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "GameSystem host {InstanceId} connected to {Servers} (nats-server {Version}, JetStream {JetStream})")]
    private static partial void LogConnected(ILogger logger, string instanceId, string servers, string version, string jetStream);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Serving {Count} services: {Implemented} implemented, {Unimplemented} answering UNIMPLEMENTED")]
    private static partial void LogServing(ILogger logger, int count, int implemented, int unimplemented);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "State store: Redis at {Redis}")]
    private static partial void LogRedisStore(ILogger logger, string redis);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "State store: in memory (GameSystem:Store:Redis is not set); service state is lost when the host stops")]
    private static partial void LogMemoryStore(ILogger logger);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Stopped gracefully in {Seconds:0.00}s")]
    private static partial void LogStopped(ILogger logger, double seconds);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Graceful stop: {Step} was cut short when the shutdown timeout ({TimeoutSeconds}s, GameSystem:Mesh:ShutdownTimeout) ran out; going on with the stop")]
    private static partial void LogStepCutShort(ILogger logger, string step, double timeoutSeconds);

    [LoggerMessage(EventId = 107, Level = LogLevel.Error, Message = "Graceful stop: {Step} failed; going on with the stop")]
    private static partial void LogStepFailed(ILogger logger, Exception exception, string step);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "Health: grpc.health.v1.Health on {Subject}, callable without a token; the host is {Status}")]
    private static partial void LogHealth(ILogger logger, string subject, HealthCheckResponse.Types.ServingStatus status);

    [LoggerMessage(EventId = 109, Level = LogLevel.Error, Message = "NATS refused this host: {Error}. Its NATS user lacks that subject: regenerate the permissions (GameSystem.Host permissions) for the services this host runs, or run only those its user was generated for")]
    private static partial void LogPermissionsViolation(ILogger logger, string error);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "NATS server error: {Error}")]
    private static partial void LogNatsServerError(ILogger logger, string error);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "  {Service,-26} {State,-13} {Subject}")]
    private static partial void LogService(ILogger logger, string service, string state, string subject);
}

/// <summary>The selected services, resolved once at start-up.</summary>
internal sealed record ImmutableSelection(System.Collections.Immutable.ImmutableArray<SelectedService> Services);

/// <summary>Start-up failed for a reason the operator can fix; the message says how.</summary>
internal sealed class HostStartupException(string message, Exception? inner = null) : Exception(message, inner);
