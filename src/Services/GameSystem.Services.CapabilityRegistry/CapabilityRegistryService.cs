using GameSystem.CapabilityRegistry.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.Services.CapabilityRegistry.Internal;
using GameSystem.State;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.CapabilityRegistry;

/// <summary>
/// capability-registry: which service instances provide which capabilities. A registration
/// lives in the state store for its lease's TTL, so the store itself stops returning it when
/// heartbeats stop; every change (register, health change, deregister, expiry) records an
/// <c>InstanceChanged</c> event in the outbox in its own transaction, which the host relays to
/// event-bus, and WatchProviders streams those events from event-bus, so a watch on any instance
/// sees the changes made through every instance. While hosted it runs the expiry sweeper that
/// turns lapsed leases into EXPIRED events (see <see cref="StoreKeys"/> for the layout).
/// </summary>
/// <remarks>
/// Register, Heartbeat and Deregister are declared <c>MESH_ACCESS_INTERNAL</c>: the runtime
/// refuses callers that are not services. The handlers check it again and fail closed
/// (<see cref="MeshAuthorization.RequireService"/>), so a server run without the identity
/// interceptor registers nothing: nothing else a caller sends is an identity.
/// </remarks>
public sealed partial class CapabilityRegistryService : ICapabilityRegistryService, IHostedService, IDisposable
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 500;

    private readonly IStateStore _store;
    private readonly EventOutbox _events;
    private readonly EventBusServiceClient _eventBus;
    private readonly TimeProvider _time;
    private readonly ILogger<CapabilityRegistryService> _logger;
    private readonly CapabilityRegistryOptions _options;
    private readonly Expiry _expiry;
    private readonly ExpirySweeper _sweeper;

    /// <summary>Creates the service.</summary>
    /// <param name="store">Where registrations are kept.</param>
    /// <param name="events">The service's event outbox (the host names it <c>capability-registry</c> and relays it to event-bus).</param>
    /// <param name="eventBus">Where WatchProviders reads the changes of every instance from.</param>
    /// <param name="timeProvider">Real time (leases are real time in the store).</param>
    /// <param name="logger">The service's log.</param>
    /// <param name="options">Lease limits and the event stream (<c>GameSystem:CapabilityRegistry</c>).</param>
    public CapabilityRegistryService(IStateStore store, EventOutbox events, EventBusServiceClient eventBus, TimeProvider timeProvider, ILogger<CapabilityRegistryService> logger, IOptions<CapabilityRegistryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(eventBus);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _events = events;
        _eventBus = eventBus;
        _time = timeProvider;
        _logger = logger;
        _options = options.Value ?? CapabilityRegistryOptions.Default;
        _expiry = new Expiry(store, events, timeProvider, logger);
        _sweeper = new ExpirySweeper(_expiry, timeProvider, _options.SweepCap, logger);
    }

    /// <summary>Starts the expiry sweeper (the host calls this once the service is served).</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _options.RunSweeper ? _sweeper.StartAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Stops the expiry sweeper; what lapses meanwhile is processed by another instance or the next start.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _options.RunSweeper ? _sweeper.StopAsync(cancellationToken) : Task.CompletedTask;

    /// <inheritdoc/>
    public void Dispose() => _sweeper.Dispose();

    /// <summary>Runs one expiry sweep now (tests, and operators through a debugger); returns when the next lease ends.</summary>
    internal ValueTask<DateTimeOffset?> SweepAsync(CancellationToken cancellationToken) => _expiry.SweepAsync(cancellationToken);

    private static int PageSize(int pageSize, string field = "page_size")
    {
        Errors.Require(pageSize is >= 0 and <= MaxPageSize, field, $"must be 1-{MaxPageSize} (0 selects {DefaultPageSize}); got {pageSize}.");
        return pageSize == 0 ? DefaultPageSize : pageSize;
    }

    private static void RequireInstanceId(string instanceId, string field = "instance_id") =>
        Errors.Require(InstanceRules.IsInstanceId(instanceId), field, $"{InstanceRules.InstanceIdRule}; got '{instanceId}'.");

    /// <summary>What a reader sees of an instance: everything but the lease, which only its holder needs (and which would let anyone heartbeat for it).</summary>
    private static Instance View(Instance instance)
    {
        var view = instance.Clone();
        view.LeaseId = "";
        return view;
    }

    [LoggerMessage(EventId = 3600, Level = LogLevel.Information, Message = "Registered instance {InstanceId} of {ServiceName} with {Capabilities} capabilities for {TtlSeconds}s")]
    private static partial void LogRegistered(ILogger logger, string instanceId, string serviceName, int capabilities, double ttlSeconds);

    [LoggerMessage(EventId = 3601, Level = LogLevel.Information, Message = "Instance {InstanceId} reports {Health}")]
    private static partial void LogHealthChanged(ILogger logger, string instanceId, InstanceHealth health);

    [LoggerMessage(EventId = 3602, Level = LogLevel.Information, Message = "Deregistered instance {InstanceId} of {ServiceName}")]
    private static partial void LogDeregistered(ILogger logger, string instanceId, string serviceName);
}
