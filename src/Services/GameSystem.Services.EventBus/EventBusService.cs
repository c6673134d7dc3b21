using GameSystem.EventBus.V1;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Services.EventBus.Internal;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace GameSystem.Services.EventBus;

/// <summary>
/// event-bus: durable domain events on NATS JetStream. Each configured stream is a JetStream
/// stream with a subject space of its own; event-bus routes each event to its stream,
/// deduplicates publishes by event id (<c>Nats-Msg-Id</c>), serves durable subscriptions from
/// JetStream durable consumers (one live subscription each, across instances, by lease) and
/// ephemeral ones from ordered consumers. Streams are created or updated when the host starts
/// the service; every rpc waits for that and says clearly when JetStream is missing.
/// </summary>
/// <remarks>
/// What it does on its connection besides serving, for generated NATS permissions: the JetStream
/// API (streams, consumers, its lease bucket), acks and flow control of the consumers, events
/// published into the streams' subject spaces, and Ack forwarding between its instances
/// (docs/wire-protocol.md §11).
/// </remarks>
[NatsSubjects(
    publish: ["$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.{prefix}-eventbus-subscriptions.>", "{prefix}.events.>", "{prefix}.eventbus.ack.>"],
    subscribe: ["{prefix}.eventbus.deliver.>", "{prefix}.eventbus.ack.>"])]
public sealed partial class EventBusService : IEventBusService, IHostedService, IMeshReadiness, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan RetryInitializationAfter = TimeSpan.FromSeconds(1);

    private readonly INatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly EventBusOptions _options;
    private readonly StreamCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger<EventBusService> _logger;
    private readonly string _instanceId = Guid.NewGuid().ToString("N")[..12];
    private readonly Lock _initializationGate = new();
    private Task<ConsumerLeases>? _initialization;
    private DateTimeOffset _initializationStarted;

    /// <summary>
    /// Creates the service on <paramref name="connection"/>. JetStream names carry
    /// <paramref name="mesh"/>'s subject prefix, so deployments sharing a nats-server stay apart.
    /// </summary>
    public EventBusService(INatsConnection connection, IOptions<EventBusOptions> options, MeshServerOptions mesh, TimeProvider timeProvider, ILogger<EventBusService> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _js = new NatsJSContext(connection);
        _options = options.Value;
        _catalog = new StreamCatalog(mesh.SubjectPrefix, _options.EffectiveStreams);
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Creates or updates the streams (the host calls this once the service is served); logs, never throws, when JetStream is missing.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            await ReadyAsync(timeout.Token).ConfigureAwait(false);
            foreach (var stream in _catalog.Streams)
            {
                LogStream(_logger, stream.Name, stream.Options.TypePatterns, stream.JetStreamName, stream.AllSubjects);
            }
        }
        catch (RpcException ex)
        {
            LogNotReady(_logger, ex.Status.Detail);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogNotReady(_logger, $"JetStream did not answer within {StartTimeout.TotalSeconds:0} s; every call retries");
        }
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Ready once its streams exist. Until then each health round is also an attempt to create
    /// them (at most once a second, as for calls), so JetStream enabled later makes it ready.
    /// </summary>
    public async ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        if (_initialization is { IsCompletedSuccessfully: true })
        {
            return true;
        }

        try
        {
            await ReadyAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Waits until the streams exist. A failed attempt is retried by the next call (at most
    /// once a second), so enabling JetStream later needs no restart of the host.
    /// </summary>
    private async ValueTask<ConsumerLeases> ReadyAsync(CancellationToken cancellationToken)
    {
        var initialization = _initialization;
        if (initialization is not { IsCompletedSuccessfully: true })
        {
            lock (_initializationGate)
            {
                if (_initialization is null || (_initialization.IsFaulted && _time.GetUtcNow() - _initializationStarted > RetryInitializationAfter))
                {
                    _initializationStarted = _time.GetUtcNow();
                    _initialization = InitializeAsync();
                }

                initialization = _initialization;
            }
        }

        return await initialization.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<ConsumerLeases> InitializeAsync()
    {
        if (_catalog.PrefixProblem is { } problem)
        {
            throw Errors.FailedPrecondition($"event-bus cannot start: {problem}.");
        }

        try
        {
            await _connection.ConnectAsync().ConfigureAwait(false);
            if (_connection.ServerInfo is { JetStreamAvailable: false } info)
            {
                throw Errors.Unavailable($"event-bus needs JetStream, which nats-server {info.Version} at {_connection.Opts.Url} does not have enabled: {Errors.EnableJetStream}.");
            }

            foreach (var stream in _catalog.Streams)
            {
                try
                {
                    await _js.CreateOrUpdateStreamAsync(stream.ToConfig()).ConfigureAwait(false);
                }
                catch (NatsJSApiException ex) when (!IsJetStreamMissing(ex))
                {
                    throw Errors.FailedPrecondition($"event-bus cannot create or update stream '{stream.Name}' (JetStream stream {stream.JetStreamName}): {ex.Error.Description} (JetStream error {ex.Error.ErrCode}); fix GameSystem:EventBus:Streams or the stream on the server.");
                }
            }

            var kv = new NatsKVContext(_js);
            var bucket = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(_catalog.LeaseBucket)
            {
                Description = "GameSystem event-bus: which instance serves each durable consumer",
                History = 1,
                MaxAge = TimeSpan.FromHours(1),
            }).ConfigureAwait(false);
            return new ConsumerLeases(bucket, _instanceId, _time, _options.SubscriptionLease);
        }
        catch (Exception ex) when (ex is not RpcException && TranslateNatsError(ex, "start") is { } error)
        {
            throw error;
        }
    }

    /// <summary>The status for a NATS or JetStream failure, or null when <paramref name="exception"/> is neither.</summary>
    private RpcException? TranslateNatsError(Exception exception, string what) => exception switch
    {
        NatsNoRespondersException or NatsJSApiNoResponseException =>
            Errors.Unavailable($"event-bus cannot {what}: nothing answers the JetStream API at {_connection.Opts.Url}, so JetStream is not enabled there: {Errors.EnableJetStream}."),
        NatsJSApiException api when IsJetStreamMissing(api) =>
            Errors.Unavailable($"event-bus cannot {what}: {api.Error.Description}: {Errors.EnableJetStream}."),
        NatsJSApiException api => new RpcException(new Status(StatusCode.Internal, $"event-bus cannot {what}: JetStream error {api.Error.ErrCode}: {api.Error.Description}.")),
        NatsJSTimeoutException or NatsTimeoutException or NatsNoReplyException =>
            Errors.Unavailable($"event-bus cannot {what}: JetStream at {_connection.Opts.Url} did not answer in time (restarting or overloaded); retry."),
        NatsException nats => Errors.Unavailable($"event-bus cannot {what}: {nats.Message}; retry once NATS is reachable."),
        _ => null,
    };

    // 10039: JetStream not enabled for the account; 10076: JetStream not enabled.
    private static bool IsJetStreamMissing(NatsJSApiException exception) => exception.Error.ErrCode is 10039 or 10076;

    private BusStream RequireStream(string name, string field = "stream")
    {
        Errors.Require(name.Length > 0, field, "is required: name a stream, e.g. events.");
        Errors.Require(EventTypes.IsValidStreamName(name), field, $"'{name}' is not a stream name: 1-{EventTypes.MaxStreamNameLength} letters, digits, '-' or '_'.");
        return _catalog.Find(name) ?? throw Errors.NotFound($"Stream '{name}' is not configured; the streams are {_catalog.NamesForMessage()} (GameSystem:EventBus:Streams).");
    }

    private static void RequireConsumerName(string name, string field = "consumer_name")
    {
        Errors.Require(name.Length > 0, field, "is required: name a durable consumer, e.g. quest-system.world-sync.");
        if (EventTypes.CheckConsumerName(name) is { } problem)
        {
            throw Errors.InvalidArgument(field, $"'{name}' {problem}");
        }
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "event-bus stream {Stream} ({Patterns}) is JetStream stream {JetStreamName} on {Subjects}")]
    private static partial void LogStream(ILogger logger, string stream, IReadOnlyList<string> patterns, string jetStreamName, string subjects);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "event-bus is not ready, every call answers with the reason until it is: {Reason}")]
    private static partial void LogNotReady(ILogger logger, string reason);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Durable consumer {Consumer} of stream {Stream} subscribed ({Start}, filter {Filter}, max_unacked {MaxUnacked})")]
    private static partial void LogDurableAttached(ILogger logger, string consumer, string stream, string start, string filter, int maxUnacked);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Durable consumer {Consumer} of stream {Stream} unsubscribed; unacked events go to its next subscription")]
    private static partial void LogDurableDetached(ILogger logger, string consumer, string stream);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Stream {Stream} holds a message at sequence {Sequence} that is not a DomainEvent ({Error}); it is skipped")]
    private static partial void LogNotAnEvent(ILogger logger, string stream, ulong sequence, string error);
}
