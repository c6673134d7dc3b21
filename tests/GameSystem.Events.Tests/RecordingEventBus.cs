using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Events.Tests;

/// <summary>
/// A peer event-bus served over a real nats-server until the real one lands: an in-memory
/// log per stream (types <c>deadletter.&gt;</c> go to <c>dead-letters</c>, the rest to
/// <c>events</c>), Publish deduplicated by event id, durable consumers with ack floors and
/// redelivery counts. It records every publish attempt, and can refuse (a status for every
/// call, FAILED_PRECONDITION for types no stream captures), slow down, hold a publish after
/// storing it (a crash between publish and complete), and drop live subscriptions.
/// </summary>
internal sealed class RecordingEventBus : IEventBusService
{
    public const string EventsStream = "events";
    public const string DeadLetterStream = "dead-letters";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<StoredEvent>> _streams = new(StringComparer.Ordinal) { [EventsStream] = [], [DeadLetterStream] = [] };
    private readonly Dictionary<string, (string Stream, ulong Sequence)> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DurableConsumer> _consumers = new(StringComparer.Ordinal);
    private readonly List<PublishAttempt> _attempts = [];
    private readonly ConcurrentDictionary<string, int> _inFlightBySubject = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unroutedTypes = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = NewSignal();
    private Hold? _hold;
    private int _inFlight;
    private int _subscribeAttempts;

    /// <summary>While set, every Publish fails with this status.</summary>
    public StatusCode? RefusePublish { get; set; }

    /// <summary>While set, every Subscribe fails with this status.</summary>
    public StatusCode? RefuseSubscribe { get; set; }

    /// <summary>How long each Publish takes before it stores (so concurrent publishes overlap).</summary>
    public TimeSpan PublishDelay { get; set; }

    /// <summary>The most publishes of one subject (one outbox partition in these tests) that were ever in flight at once.</summary>
    public int MaxInFlightPerSubject { get; private set; }

    /// <summary>The most publishes of any subjects that were ever in flight at once.</summary>
    public int MaxInFlight { get; private set; }

    public IReadOnlyList<PublishAttempt> Attempts
    {
        get
        {
            lock (_lock)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Makes types no stream captures: their publishes fail FAILED_PRECONDITION, as event-bus does.</summary>
    public void Unroute(string type)
    {
        lock (_lock)
        {
            _unroutedTypes.Add(type);
        }
    }

    /// <summary>An operator added a stream pattern: the type is captured again.</summary>
    public void Route(string type)
    {
        lock (_lock)
        {
            _unroutedTypes.Remove(type);
        }
    }

    /// <summary>The events of <paramref name="stream"/>, in stream order.</summary>
    public IReadOnlyList<StoredEvent> Stored(string stream = EventsStream)
    {
        lock (_lock)
        {
            return [.. _streams[stream]];
        }
    }

    /// <summary>Publishes directly, as a producer would (for consumer tests).</summary>
    public StoredEvent Append(DomainEvent domainEvent)
    {
        lock (_lock)
        {
            return Store(domainEvent).Stored;
        }
    }

    /// <summary>
    /// The next publish matching <paramref name="match"/> stores its event and then never
    /// answers (until its caller gives up): the task completes with the event once stored.
    /// </summary>
    public Task<DomainEvent> HoldAfterStoring(Func<DomainEvent, bool> match)
    {
        var hold = new Hold(match);
        lock (_lock)
        {
            _hold = hold;
        }

        return hold.Stored.Task;
    }

    /// <summary>Ends every live subscription with UNAVAILABLE, as a restarting event-bus would.</summary>
    public void DropSubscriptions()
    {
        lock (_lock)
        {
            foreach (var consumer in _consumers.Values)
            {
                consumer.Drop?.Cancel();
            }
        }
    }

    /// <summary>The consumer's ack floor (0 when it does not exist).</summary>
    public ulong AckFloor(string consumerName)
    {
        lock (_lock)
        {
            return _consumers.TryGetValue(consumerName, out var consumer) ? consumer.AckFloor : 0;
        }
    }

    /// <summary>True while <paramref name="consumerName"/> has a live subscription.</summary>
    public bool IsActive(string consumerName)
    {
        lock (_lock)
        {
            return _consumers.TryGetValue(consumerName, out var consumer) && consumer.Active;
        }
    }

    /// <summary>Subscribe calls refused because the consumer already had a live subscription.</summary>
    public int RefusedSecondSubscriptions { get; private set; }

    /// <summary>Every Subscribe call received.</summary>
    public int SubscribeAttempts => Volatile.Read(ref _subscribeAttempts);

    public async ValueTask<PublishResponse> PublishAsync(PublishRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var domainEvent = request.Event;
        var subject = domainEvent.Subject;
        var inFlight = _inFlightBySubject.AddOrUpdate(subject, 1, (_, n) => n + 1);
        var total = Interlocked.Increment(ref _inFlight);
        try
        {
            lock (_lock)
            {
                MaxInFlightPerSubject = Math.Max(MaxInFlightPerSubject, inFlight);
                MaxInFlight = Math.Max(MaxInFlight, total);
            }

            if (PublishDelay > TimeSpan.Zero)
            {
                await Task.Delay(PublishDelay, context.CancellationToken);
            }

            Hold? hold;
            (PublishResponse Response, StoredEvent Stored) result;
            lock (_lock)
            {
                if (RefusePublish is { } code)
                {
                    _attempts.Add(new PublishAttempt(domainEvent, code, false));
                    throw new RpcException(new Status(code, $"event-bus is refusing publishes ({code}, test)"));
                }

                if (_unroutedTypes.Contains(domainEvent.Type))
                {
                    _attempts.Add(new PublishAttempt(domainEvent, StatusCode.FailedPrecondition, false));
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"No stream captures type '{domainEvent.Type}' (test)."));
                }

                result = Store(domainEvent);
                _attempts.Add(new PublishAttempt(domainEvent, StatusCode.OK, result.Response.Duplicate));
                hold = _hold is { } h && h.Match(domainEvent) ? h : null;
                if (hold is not null)
                {
                    _hold = null;
                }
            }

            if (hold is not null)
            {
                hold.Stored.TrySetResult(domainEvent);
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            return result.Response;
        }
        finally
        {
            _inFlightBySubject.AddOrUpdate(subject, 0, (_, n) => n - 1);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async IAsyncEnumerable<SubscribeResponse> SubscribeAsync(SubscribeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Interlocked.Increment(ref _subscribeAttempts);
        if (RefuseSubscribe is { } code)
        {
            throw new RpcException(new Status(code, $"event-bus is refusing subscriptions ({code}, test)"));
        }

        if (request.ConsumerName.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "ephemeral subscriptions are not used by these tests"));
        }

        DurableConsumer consumer;
        using var drop = new CancellationTokenSource();
        lock (_lock)
        {
            if (!_streams.TryGetValue(request.Stream, out var log))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"No stream '{request.Stream}'."));
            }

            if (!_consumers.TryGetValue(request.ConsumerName, out consumer!))
            {
                // A new durable consumer with no explicit policy starts at NEW.
                consumer = new DurableConsumer(request.Stream, log.Count == 0 ? 0 : log[^1].Sequence);
                _consumers[request.ConsumerName] = consumer;
            }

            if (consumer.Active)
            {
                RefusedSecondSubscriptions++;
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Consumer '{request.ConsumerName}' already has a live subscription."));
            }

            consumer.Active = true;
            consumer.Drop = drop;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, drop.Token);
        var heartbeat = request.HeartbeatInterval?.ToTimeSpan() ?? TimeSpan.FromSeconds(15);
        var maxUnacked = request.MaxUnacked == 0 ? 1000 : request.MaxUnacked;
        try
        {
            ulong next;
            lock (_lock)
            {
                next = consumer.AckFloor + 1;
            }

            while (true)
            {
                StoredEvent? found = null;
                Task changed;
                var deliveries = 0;
                lock (_lock)
                {
                    changed = _changed.Task;
                    var log = _streams[request.Stream];
                    foreach (var stored in log)
                    {
                        if (stored.Sequence >= next && stored.Sequence <= consumer.AckFloor + (ulong)maxUnacked && Matches(request, stored.Event))
                        {
                            found = stored;
                            break;
                        }
                    }

                    if (found is not null)
                    {
                        deliveries = consumer.Deliveries[found.Sequence] = consumer.Deliveries.GetValueOrDefault(found.Sequence) + 1;
                        consumer.Delivered = Math.Max(consumer.Delivered, found.Sequence);
                        next = found.Sequence + 1;
                    }
                    else if (log.Count > 0)
                    {
                        // Everything scanned was filtered out; beyond the unacked window, delivery waits for an Ack.
                        next = Math.Max(next, Math.Min(log[^1].Sequence, consumer.AckFloor + (ulong)maxUnacked) + 1);
                    }
                }

                if (found is not null)
                {
                    yield return new SubscribeResponse { Event = found, DeliveryCount = deliveries };
                    continue;
                }

                var beat = Task.Delay(heartbeat, stop.Token);
                await Task.WhenAny(changed, beat);
                if (drop.IsCancellationRequested)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "event-bus dropped the subscription (test)"));
                }

                context.CancellationToken.ThrowIfCancellationRequested();
                if (beat.IsCompletedSuccessfully)
                {
                    yield return new SubscribeResponse { Heartbeat = new Heartbeat { ServerTime = Timestamp.FromDateTime(DateTime.UtcNow) } };
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                consumer.Active = false;
                consumer.Drop = null;
            }
        }
    }

    public ValueTask<AckResponse> AckAsync(AckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            if (!_consumers.TryGetValue(request.ConsumerName, out var consumer) || consumer.Stream != request.Stream)
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"No consumer '{request.ConsumerName}' on stream '{request.Stream}'."));
            }

            if (request.Sequence > consumer.Delivered)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Sequence {request.Sequence} is above the last delivered, {consumer.Delivered}."));
            }

            consumer.AckFloor = Math.Max(consumer.AckFloor, request.Sequence);
            Pulse();
            return ValueTask.FromResult(new AckResponse { AckFloor = consumer.AckFloor });
        }
    }

    public ValueTask<PublishBatchResponse> PublishBatchAsync(PublishBatchRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<GetEventResponse> GetEventAsync(GetEventRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<GetStreamInfoResponse> GetStreamInfoAsync(GetStreamInfoRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<ListStreamsResponse> ListStreamsAsync(ListStreamsRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<GetConsumerResponse> GetConsumerAsync(GetConsumerRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<ListConsumersResponse> ListConsumersAsync(ListConsumersRequest request, ServerCallContext context) => throw Unused();

    public ValueTask<DeleteConsumerResponse> DeleteConsumerAsync(DeleteConsumerRequest request, ServerCallContext context) => throw Unused();

    /// <summary>NATS-style type patterns: <c>*</c> one token, <c>&gt;</c> one or more at the end.</summary>
    internal static bool MatchesPattern(string pattern, string type)
    {
        var p = pattern.Split('.');
        var t = type.Split('.');
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] == ">")
            {
                return t.Length > i;
            }

            if (i >= t.Length || (p[i] != "*" && p[i] != t[i]))
            {
                return false;
            }
        }

        return p.Length == t.Length;
    }

    private static bool Matches(SubscribeRequest request, DomainEvent domainEvent) =>
        (request.TypeFilters.Count == 0 || request.TypeFilters.Any(f => MatchesPattern(f, domainEvent.Type)))
        && (request.SubjectFilter.Length == 0 || request.SubjectFilter == domainEvent.Subject);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static RpcException Unused([CallerMemberName] string rpc = "") => new(new Status(StatusCode.Unimplemented, $"{rpc} is not used by the events tests"));

    private (PublishResponse Response, StoredEvent Stored) Store(DomainEvent domainEvent)
    {
        var streamName = domainEvent.Type.StartsWith("deadletter.", StringComparison.Ordinal) ? DeadLetterStream : EventsStream;
        if (_ids.TryGetValue(domainEvent.EventId, out var original))
        {
            var existing = _streams[original.Stream][(int)original.Sequence - 1];
            return (new PublishResponse { Stream = original.Stream, Sequence = original.Sequence, Duplicate = true }, existing);
        }

        var log = _streams[streamName];
        var stored = new StoredEvent
        {
            Stream = streamName,
            Sequence = (ulong)log.Count + 1,
            PublishTime = Timestamp.FromDateTime(DateTime.UtcNow),
            Event = domainEvent,
        };
        log.Add(stored);
        _ids[domainEvent.EventId] = (streamName, stored.Sequence);
        Pulse();
        return (new PublishResponse { Stream = streamName, Sequence = stored.Sequence }, stored);
    }

    private void Pulse()
    {
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    /// <summary>One Publish as event-bus saw it: the event, how it ended, and whether it was a repeat.</summary>
    public sealed record PublishAttempt(DomainEvent Event, StatusCode Outcome, bool Duplicate);

    private sealed class Hold(Func<DomainEvent, bool> match)
    {
        public TaskCompletionSource<DomainEvent> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Match(DomainEvent domainEvent) => match(domainEvent);
    }

    private sealed class DurableConsumer(string stream, ulong ackFloor)
    {
        public string Stream { get; } = stream;

        public ulong AckFloor { get; set; } = ackFloor;

        public ulong Delivered { get; set; } = ackFloor;

        public Dictionary<ulong, int> Deliveries { get; } = [];

        public bool Active { get; set; }

        public CancellationTokenSource? Drop { get; set; }
    }
}
