using GameSystem.Mesh.Nats.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats;

/// <summary>
/// Serves mesh services over NATS: the server half of docs/wire-protocol.md. Each service
/// gets a queue subscription (instances share the load), bounded concurrency with load
/// shedding, deadlines, and an entry in the NATS Services API.
/// </summary>
public sealed class NatsMeshServer : IAsyncDisposable
{
    private readonly INatsConnection _connection;
    private readonly ILogger _logger;
    private readonly List<ServiceRunner> _runners = [];
    private readonly List<ServiceDiscovery> _discovery = [];
    private bool _started;

    /// <summary>Creates a server on an open (or opening) NATS connection.</summary>
    /// <param name="connection">The connection it serves on.</param>
    /// <param name="options">Its options; <see cref="MeshServerOptions.Default"/> when null.</param>
    /// <param name="loggerFactory">Where it logs.</param>
    /// <param name="instanceId">
    /// Its id in the NATS Services API; a new one when null. Two servers of one process that stop
    /// at different times (a host's health outlives its other services' drain) share one.
    /// </param>
    public NatsMeshServer(INatsConnection connection, MeshServerOptions? options = null, ILoggerFactory? loggerFactory = null, string? instanceId = null)
    {
        if (instanceId is not null && !MeshSubjects.IsValidPrefix(instanceId))
        {
            throw new ArgumentException($"The instance id '{instanceId}' must be one subject token.", nameof(instanceId));
        }

        InstanceId = instanceId ?? Guid.NewGuid().ToString("N")[..22];
        _connection = connection ?? throw new ArgumentNullException(nameof(connection));
        Options = options ?? MeshServerOptions.Default;
        if (Options.MaxConcurrentCalls < 1 || Options.MaxConcurrentStreams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxConcurrentCalls and MaxConcurrentStreams must be at least 1.");
        }

        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<NatsMeshServer>();
    }

    /// <summary>The options in force.</summary>
    public MeshServerOptions Options { get; }

    /// <summary>This process's instance id in the NATS Services API.</summary>
    public string InstanceId { get; }

    /// <summary>
    /// The health its services carry in the NATS Services API's metadata (<c>health</c>,
    /// <c>health_checked_at</c>, <c>health_reason</c>, docs/wire-protocol.md §12), read from the
    /// latest round on every PING, INFO and STATS; without one, those keys are absent.
    /// </summary>
    public MeshHealthService? Health { get; set; }

    /// <summary>The subjects served, one per service (<c>{prefix}.{package}.{Service}.*</c>).</summary>
    public IReadOnlyList<string> Subjects => [.. _runners.Select(r => r.Subject)];

    /// <summary>Adds a service; call before <see cref="StartAsync"/>.</summary>
    public NatsMeshServer AddService(MeshServiceDefinition definition, MeshServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (_started)
        {
            throw new InvalidOperationException("Add services before StartAsync.");
        }

        if (_runners.Any(r => r.Definition.FullName == definition.FullName))
        {
            throw new InvalidOperationException($"{definition.FullName} is already added to this server.");
        }

        _runners.Add(new ServiceRunner(_connection, definition, options ?? Options, _logger));
        return this;
    }

    /// <summary>Subscribes every service and starts answering.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_started)
        {
            throw new InvalidOperationException("The server is already started.");
        }

        _started = true;
        await _connection.ConnectAsync().ConfigureAwait(false);
        foreach (var runner in _runners)
        {
            await runner.StartAsync(cancellationToken).ConfigureAwait(false);
            var discovery = new ServiceDiscovery(runner, InstanceId, Options.Version, () => Health);
            await discovery.StartAsync(cancellationToken).ConfigureAwait(false);
            _discovery.Add(discovery);
            Log.Serving(_logger, runner.Definition.FullName, runner.Subject, runner.QueueGroup, InstanceId);
        }

        // Subscriptions are registered with the server once it has answered a ping: a
        // client called right after StartAsync returns finds the service.
        await _connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Graceful stop: stops taking calls, lets those in flight finish (up to
    /// <see cref="MeshServerOptions.ShutdownTimeout"/>), then leaves the NATS Services API.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(_runners.Select(r => r.StopAsync(cancellationToken))).ConfigureAwait(false);

        // A published reply may still sit in the connection's write buffer, and disposing a
        // NatsConnection closes the socket before writing it out. The PONG comes back only
        // after the server has read everything written before the PING.
        if (_connection.ConnectionState == NatsConnectionState.Open)
        {
            try
            {
                await _connection.PingAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NatsException)
            {
                // The connection went away meanwhile; what it held is lost with it.
            }
        }

        foreach (var discovery in _discovery)
        {
            await discovery.DisposeAsync().ConfigureAwait(false);
        }

        _discovery.Clear();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var discovery in _discovery)
        {
            await discovery.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var runner in _runners)
        {
            await runner.DisposeAsync().ConfigureAwait(false);
        }
    }
}
