using GameSystem.CapabilityRegistry.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Services.CapabilityRegistry;

/// <summary>
/// Keeps one service instance registered with capability-registry while it runs: registers on
/// start, heartbeats at the interval the registry suggests (a third of the TTL), registers
/// again when the registry answers NOT_FOUND (the lease lapsed, say after a long pause), and
/// deregisters on a graceful stop. The host runs one per service instance it serves.
/// </summary>
/// <remarks>
/// Disposing without <see cref="StopAsync"/> stops heartbeating and leaves the registration
/// to expire at its TTL, as a crash would. While the registry cannot be reached, heartbeats
/// are retried (sooner than the interval, so a lease survives a short outage) and the instance
/// registers again once they answer NOT_FOUND.
/// </remarks>
public sealed partial class CapabilityRegistration : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan DeregisterTimeout = TimeSpan.FromSeconds(2);

    private readonly CapabilityRegistryServiceClient _client;
    private readonly Instance _template;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _loop;
    private TimeSpan _interval;
    private Instance? _current;
    private int _disposed;

    /// <summary>Creates the registration of one instance; nothing is sent before <see cref="StartAsync"/>.</summary>
    /// <param name="client">The capability-registry client.</param>
    /// <param name="serviceName">The service the instance belongs to, e.g. <c>weather-manager</c>.</param>
    /// <param name="instanceId">The instance's unique id, e.g. <c>weather-manager-7f9c2</c>.</param>
    /// <param name="endpoint">Where to reach it: its NATS subject prefix or URL.</param>
    /// <param name="capabilities">What it provides (dotted names, e.g. <c>weather.forecast</c>).</param>
    /// <param name="ttl">Its lease; the registry's limits apply (5 s to 5 min by default).</param>
    /// <param name="timeProvider">The clock heartbeats wait on; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Where registrations and failures are reported.</param>
    public CapabilityRegistration(
        CapabilityRegistryServiceClient client,
        string serviceName,
        string instanceId,
        string endpoint,
        IEnumerable<Capability> capabilities,
        TimeSpan ttl,
        TimeProvider? timeProvider = null,
        ILogger<CapabilityRegistration>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        ArgumentNullException.ThrowIfNull(capabilities);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        _client = client;
        _template = new Instance { InstanceId = instanceId, ServiceName = serviceName, Endpoint = endpoint, Ttl = Duration.FromTimeSpan(ttl) };
        _template.Capabilities.AddRange(capabilities.Select(c => c.Clone()));
        if (_template.Capabilities.Count == 0)
        {
            throw new ArgumentException("An instance registers at least one capability.", nameof(capabilities));
        }

        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<CapabilityRegistration>.Instance;
        _interval = ttl / 3;
    }

    /// <summary>The registration as the registry last confirmed it (with its lease); null before the first Register succeeded.</summary>
    public Instance? Current
    {
        get
        {
            lock (_gate)
            {
                return _current?.Clone();
            }
        }
    }

    /// <summary>Health sent with the next heartbeat (UNSPECIFIED keeps the last one).</summary>
    public InstanceHealth Health { get; set; }

    /// <summary>Load sent with the next heartbeat, 0.0-1.0; null keeps the last one.</summary>
    public double? Load { get; set; }

    /// <summary>Registers (one attempt, within <paramref name="cancellationToken"/>), then heartbeats in the background; a failed first attempt is retried there.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"The registration of {_template.InstanceId} has already been started.");
        }

        var registered = false;
        try
        {
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
            registered = true;
        }
        catch (RpcException ex)
        {
            LogRegisterFailed(_logger, _template.InstanceId, ex.StatusCode, ex.Status.Detail);
        }

        _loop = Task.Run(() => RunAsync(registered, _stop.Token), CancellationToken.None);
    }

    /// <summary>Stops heartbeating and deregisters at once, so callers stop picking the instance.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await HaltAsync().ConfigureAwait(false);
        var current = Current;
        if (current is null)
        {
            return;
        }

        try
        {
            await _client.DeregisterAsync(
                new DeregisterRequest { InstanceId = current.InstanceId, LeaseId = current.LeaseId },
                deadline: DateTime.UtcNow + DeregisterTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            LogDeregistered(_logger, current.InstanceId);
        }
        catch (RpcException ex)
        {
            // The lease lapses at its TTL anyway.
            LogDeregisterFailed(_logger, current.InstanceId, ex.StatusCode, ex.Status.Detail);
        }

        lock (_gate)
        {
            _current = null;
        }
    }

    /// <summary>Stops heartbeating without deregistering: the registration expires at its TTL, as after a crash.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await HaltAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task HaltAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    private async Task RunAsync(bool registered, CancellationToken cancellationToken)
    {
        var delay = registered ? _interval : RetryDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (Current is { } current)
                {
                    await HeartbeatAsync(current, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await RegisterAsync(cancellationToken).ConfigureAwait(false);
                }

                delay = _interval;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound && !cancellationToken.IsCancellationRequested)
            {
                // The lease lapsed (or the instance registered elsewhere): register again now.
                LogLeaseLost(_logger, _template.InstanceId, ex.Status.Detail);
                lock (_gate)
                {
                    _current = null;
                }

                delay = TimeSpan.Zero;
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogHeartbeatFailed(_logger, _template.InstanceId, ex.StatusCode, ex.Status.Detail);
                delay = RetryDelay;
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException)
            {
                // Stopping: the call in flight ends as CANCELLED (an RpcException, not an
                // OperationCanceledException), which must not fault the loop the stop awaits.
                return;
            }
        }
    }

    /// <summary>After a failure: soon enough that a lease survives a short outage with heartbeats to spare.</summary>
    private TimeSpan RetryDelay => _interval / 3;

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var instance = _template.Clone();
        instance.Health = Health;
        instance.Load = Load ?? 0;
        var response = await _client.RegisterAsync(new RegisterRequest { Instance = instance }, cancellationToken: cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _current = response.Instance;
            _interval = response.HeartbeatInterval?.ToTimeSpan() is { } interval && interval > TimeSpan.Zero ? interval : _template.Ttl.ToTimeSpan() / 3;
        }

        LogRegistered(_logger, instance.InstanceId, response.Instance.LeaseId, _interval.TotalSeconds);
    }

    private async Task HeartbeatAsync(Instance current, CancellationToken cancellationToken)
    {
        var request = new HeartbeatRequest { InstanceId = current.InstanceId, LeaseId = current.LeaseId, Health = Health };
        if (Load is { } load)
        {
            request.Load = load;
        }

        var response = await _client.HeartbeatAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            if (_current is not null && _current.LeaseId == current.LeaseId)
            {
                _current.ExpireTime = response.ExpireTime;
                if (Health != InstanceHealth.Unspecified)
                {
                    _current.Health = Health;
                }
            }
        }
    }

    [LoggerMessage(EventId = 3620, Level = LogLevel.Information, Message = "Registered {InstanceId} with capability-registry (lease {LeaseId}); heartbeating every {IntervalSeconds}s")]
    private static partial void LogRegistered(ILogger logger, string instanceId, string leaseId, double intervalSeconds);

    [LoggerMessage(EventId = 3621, Level = LogLevel.Warning, Message = "Could not register {InstanceId} with capability-registry ({Code}: {Detail}); retrying")]
    private static partial void LogRegisterFailed(ILogger logger, string instanceId, StatusCode code, string detail);

    [LoggerMessage(EventId = 3622, Level = LogLevel.Warning, Message = "Heartbeat of {InstanceId} failed ({Code}: {Detail}); retrying before the lease ends")]
    private static partial void LogHeartbeatFailed(ILogger logger, string instanceId, StatusCode code, string detail);

    [LoggerMessage(EventId = 3623, Level = LogLevel.Warning, Message = "The lease of {InstanceId} is gone ({Detail}); registering again")]
    private static partial void LogLeaseLost(ILogger logger, string instanceId, string detail);

    [LoggerMessage(EventId = 3624, Level = LogLevel.Information, Message = "Deregistered {InstanceId} from capability-registry")]
    private static partial void LogDeregistered(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3625, Level = LogLevel.Warning, Message = "Could not deregister {InstanceId} ({Code}: {Detail}); it expires at its TTL")]
    private static partial void LogDeregisterFailed(ILogger logger, string instanceId, StatusCode code, string detail);
}
