using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Events;

/// <summary>
/// Feeds one <see cref="EventSubscription"/> of a service the events it subscribed to, through
/// event-bus's <c>Subscribe</c> with the durable consumer <c>&lt;service&gt;.&lt;subscription&gt;</c>:
/// one event at a time, in stream order, acknowledged after the handler returns.
/// </summary>
/// <remarks>
/// <para>
/// A handler that throws is retried with backoff; after <see cref="EventSubscription.MaxAttempts"/>
/// attempts the event is parked, published to event-bus as <c>deadletter.&lt;consumer&gt;</c>
/// (event-bus's <c>dead-letters</c> stream captures <c>deadletter.&gt;</c>) with the original
/// <see cref="StoredEvent"/> as its payload and the error and attempt count as attributes,
/// then acknowledged, so one bad event never blocks the ones behind it. An event is
/// acknowledged only once handled or parked: if parking fails, the consumer waits and retries.
/// </para>
/// <para>
/// When the stream ends or fails the consumer subscribes again with backoff; event-bus resumes
/// after the last acknowledgement, so nothing is skipped, and what was delivered but not
/// acknowledged comes again. While another instance of the service holds the consumer,
/// event-bus refuses a second subscription and this one stands by, retrying with backoff.
/// </para>
/// </remarks>
public sealed partial class EventConsumer : IHostedService, IAsyncDisposable
{
    private const int MaxErrorLength = 4096;

    private readonly EventSubscription _subscription;
    private readonly EventBusServiceClient _eventBus;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly EventConsumerOptions _options;
    private readonly KeyValuePair<string, object?> _consumerTag;
    private readonly string _patterns;
    private readonly CancellationTokenSource _stop = new();
    private Backoff _reconnect;
    private Task? _loop;
    private int _disposed;
    private ConnectionState _state;
    private DateTimeOffset _downSince;

    // The event whose handler is failing and its attempts so far, kept across reconnects so a
    // flapping stream does not retry it forever.
    private (ulong Sequence, int Attempts) _failing;

    // Handled (or parked) but its Ack may not have reached event-bus: on redelivery only the Ack is repeated.
    private ulong _handledThrough;

    /// <summary>Creates the consumer of <paramref name="subscription"/> of <paramref name="serviceName"/>; it consumes once started.</summary>
    /// <param name="serviceName">The service (its mesh name, e.g. <c>time-manager</c>): the source of its dead letters and the first part of the consumer name.</param>
    /// <param name="subscription">What to consume and the handler.</param>
    /// <param name="eventBus">The event-bus client.</param>
    /// <param name="logger">Where failures, parked events and reconnections are reported.</param>
    /// <param name="timeProvider">The clock for backoff; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="options">How to talk to event-bus; <see cref="EventConsumerOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">The service name or an option is malformed.</exception>
    public EventConsumer(string serviceName, EventSubscription subscription, EventBusServiceClient eventBus, ILogger<EventConsumer>? logger = null, TimeProvider? timeProvider = null, EventConsumerOptions? options = null)
    {
        StateKeys.ValidateOutbox(serviceName, nameof(serviceName));
        _subscription = subscription ?? throw new ArgumentNullException(nameof(subscription));
        _subscription.Validate();
        _eventBus = eventBus ?? throw new ArgumentNullException(nameof(eventBus));
        _logger = logger ?? NullLogger<EventConsumer>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _options = options ?? EventConsumerOptions.Default;
        _options.Validate();
        _reconnect = new Backoff(_options.FirstReconnectBackoff, _options.MaxReconnectBackoff);
        ServiceName = serviceName;
        Name = NameOf(serviceName, subscription);
        DeadLetterType = "deadletter." + Name;
        _consumerTag = new(EventsTelemetry.ConsumerTag, Name);
        _patterns = string.Join(' ', subscription.EventTypes);
    }

    /// <summary>The service consuming.</summary>
    public string ServiceName { get; }

    /// <summary>The durable consumer's name, <c>&lt;service&gt;.&lt;subscription&gt;</c>.</summary>
    public string Name { get; }

    /// <summary>The type its parked events are published with, <c>deadletter.&lt;consumer&gt;</c>.</summary>
    public string DeadLetterType { get; }

    /// <summary>The durable consumer name of <paramref name="subscription"/> of <paramref name="serviceName"/>.</summary>
    public static string NameOf(string serviceName, EventSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return serviceName + "." + subscription.Name;
    }

    /// <summary>Starts consuming in the background.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"The consumer {Name} has already been started.");
        }

        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops: a handler running is cancelled, and its event, not acknowledged, is delivered again later.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var request = new SubscribeRequest
        {
            Stream = _subscription.Stream,
            TypeFilters = { _subscription.EventTypes },
            SubjectFilter = _subscription.Subject,
            ConsumerName = Name,
            MaxUnacked = _options.MaxUnacked,
            HeartbeatInterval = _options.Heartbeat is { } heartbeat ? Duration.FromTimeSpan(heartbeat) : null,
        };

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var item in _eventBus.SubscribeAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    Connected();
                    if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event)
                    {
                        await HandleAsync(item.Event, item.DeliveryCount, cancellationToken).ConfigureAwait(false);
                    }
                }

                Disconnected(StatusCode.OK, "event-bus ended the subscription");
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex)
            {
                Disconnected(ex.StatusCode, ex.Status.Detail);
            }
#pragma warning disable CA1031 // Anything else that ends the stream (a message that does not parse …) is reported and retried the same way.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Disconnected(StatusCode.Unknown, $"{ex.GetType().Name}: {ex.Message}");
            }

            try
            {
                await Task.Delay(_reconnect.Next(), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async ValueTask HandleAsync(StoredEvent stored, int deliveryCount, CancellationToken cancellationToken)
    {
        if (stored.Sequence > _handledThrough)
        {
            var attempts = _failing.Sequence == stored.Sequence ? _failing.Attempts : 0;
            while (true)
            {
                attempts++;
                try
                {
                    await _subscription.Handler(new ReceivedEvent(stored, deliveryCount, attempts), cancellationToken).ConfigureAwait(false);
                    EventsTelemetry.Handled.Add(1, _consumerTag);
                    break;
                }
#pragma warning disable CA1031 // Whatever a handler throws is its event's failure: retried, then parked, never the consumer's end.
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    EventsTelemetry.HandlerFailures.Add(1, _consumerTag);
                    _failing = (stored.Sequence, attempts);
                    if (attempts >= _subscription.MaxAttempts)
                    {
                        await ParkAsync(stored, ex, attempts, cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    var delay = Backoff.Delay(attempts, _subscription.RetryBackoff, _subscription.MaxRetryBackoff);
                    if (attempts == 1)
                    {
                        LogHandlerFailed(_logger, ex, Name, stored.Event?.EventId, stored.Event?.Type, stored.Stream, stored.Sequence, _subscription.MaxAttempts, delay.TotalSeconds);
                    }
                    else
                    {
                        LogHandlerRetrying(_logger, ex, Name, stored.Event?.EventId, attempts, _subscription.MaxAttempts, delay.TotalSeconds);
                    }

                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
            }

            _failing = default;
            _handledThrough = stored.Sequence;
        }

        // A failed Ack ends the subscription: the event comes again and only the Ack is repeated.
        await _eventBus.AckAsync(
            new AckRequest { Stream = _subscription.Stream, ConsumerName = Name, Sequence = stored.Sequence },
            deadline: DateTime.UtcNow + _options.CallTimeout,
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes <paramref name="stored"/> as a dead letter, retrying until event-bus takes it.</summary>
    private async ValueTask ParkAsync(StoredEvent stored, Exception error, int attempts, CancellationToken cancellationToken)
    {
        var letter = DeadLetter(stored, error, attempts);
        var backoff = new Backoff(_options.FirstReconnectBackoff, _options.MaxReconnectBackoff);
        while (true)
        {
            try
            {
                await _eventBus.PublishAsync(new PublishRequest { Event = letter }, deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                var delay = backoff.Next();
                if (backoff.Failures == 1)
                {
                    LogParkFailed(_logger, Name, stored.Event?.EventId, DeadLetterType, ex.StatusCode, ex.Status.Detail);
                }

                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        EventsTelemetry.Parked.Add(1, _consumerTag);
        LogParked(_logger, Name, stored.Event?.EventId, stored.Event?.Type, stored.Stream, stored.Sequence, attempts, DeadLetterType, letter.EventId, letter.Attributes["error"].StringValue);
    }

    private DomainEvent DeadLetter(StoredEvent stored, Exception error, int attempts)
    {
        var message = $"{error.GetType().FullName}: {error.Message}";
        var letter = new DomainEvent
        {
            // Fixed by the event's place in the stream, so parking it again after a crash is deduplicated.
            EventId = $"deadletter/{Name}/{stored.Stream}/{stored.Sequence}",
            Type = DeadLetterType,
            Source = ServiceName,
            Subject = stored.Event?.Subject ?? string.Empty,
            OccurredAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
            Payload = stored.ToByteString(),
            PayloadType = StoredEvent.Descriptor.FullName,
        };
        letter.Attributes.Add("consumer", new TypedValue { StringValue = Name });
        letter.Attributes.Add("error", new TypedValue { StringValue = message.Length > MaxErrorLength ? message[..MaxErrorLength] : message });
        letter.Attributes.Add("attempts", new TypedValue { IntValue = attempts });
        letter.Attributes.Add("event_id", new TypedValue { StringValue = stored.Event?.EventId ?? string.Empty });
        letter.Attributes.Add("event_type", new TypedValue { StringValue = stored.Event?.Type ?? string.Empty });
        letter.Attributes.Add("stream", new TypedValue { StringValue = stored.Stream });
        letter.Attributes.Add("sequence", new TypedValue { IntValue = (long)stored.Sequence });
        return letter;
    }

    private void Connected()
    {
        if (_state == ConnectionState.Subscribed)
        {
            return;
        }

        if (_state == ConnectionState.Down)
        {
            var seconds = (_time.GetUtcNow() - _downSince).TotalSeconds;
            LogResubscribed(_logger, Name, seconds, _reconnect.Failures);
        }
        else
        {
            LogSubscribed(_logger, Name, _subscription.Stream, _patterns);
        }

        _state = ConnectionState.Subscribed;
        _reconnect.Reset();
    }

    private void Disconnected(StatusCode code, string detail)
    {
        if (_state == ConnectionState.Down)
        {
            return;
        }

        _state = ConnectionState.Down;
        _downSince = _time.GetUtcNow();
        LogDisconnected(_logger, Name, code, detail, _options.MaxReconnectBackoff.TotalSeconds);
    }

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Consumer {Consumer} subscribed to stream {Stream} for {Patterns}")]
    private static partial void LogSubscribed(ILogger logger, string consumer, string stream, string patterns);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "Consumer {Consumer} has no subscription ({Code}: {Detail}); subscribing again with backoff (at most {MaxBackoffSeconds}s apart), from its last acknowledged event")]
    private static partial void LogDisconnected(ILogger logger, string consumer, StatusCode code, string detail, double maxBackoffSeconds);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Information, Message = "Consumer {Consumer} subscribed again after {Seconds}s and {Attempts} attempts")]
    private static partial void LogResubscribed(ILogger logger, string consumer, double seconds, int attempts);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Warning, Message = "Consumer {Consumer}: the handler failed on event {EventId} (type '{Type}', {Stream} #{Sequence}); retrying up to {MaxAttempts} attempts, next in {DelaySeconds}s")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string consumer, string? eventId, string? type, string stream, ulong sequence, int maxAttempts, double delaySeconds);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Debug, Message = "Consumer {Consumer}: attempt {Attempt} of {MaxAttempts} at event {EventId} failed; next in {DelaySeconds}s")]
    private static partial void LogHandlerRetrying(ILogger logger, Exception exception, string consumer, string? eventId, int attempt, int maxAttempts, double delaySeconds);

    [LoggerMessage(EventId = 3025, Level = LogLevel.Error, Message = "Consumer {Consumer} parked event {EventId} (type '{Type}', {Stream} #{Sequence}) after {Attempts} failed attempts: published as {DeadLetterType} (dead letter {DeadLetterId}) and acknowledged. Last error: {Error}")]
    private static partial void LogParked(ILogger logger, string consumer, string? eventId, string? type, string stream, ulong sequence, int attempts, string deadLetterType, string deadLetterId, string error);

    [LoggerMessage(EventId = 3026, Level = LogLevel.Warning, Message = "Consumer {Consumer} cannot park event {EventId} as {DeadLetterType} ({Code}: {Detail}); it is not acknowledged, and the consumer waits and retries with backoff")]
    private static partial void LogParkFailed(ILogger logger, string consumer, string? eventId, string deadLetterType, StatusCode code, string detail);

    private enum ConnectionState
    {
        Starting,
        Subscribed,
        Down,
    }
}
