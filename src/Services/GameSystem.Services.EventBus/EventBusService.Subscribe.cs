using System.Runtime.CompilerServices;
using GameSystem.EventBus.V1;
using GameSystem.Services.EventBus.Internal;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace GameSystem.Services.EventBus;

public sealed partial class EventBusService
{
    private const int DefaultMaxUnacked = 1000;
    private const int MaxMaxUnacked = 10_000;
    // The filters are kept in the consumer's description, which JetStream bounds to 4 KiB.
    private const int MaxTypeFilters = 8;
    private const int MaxSubjectFilterLength = 256;
    private static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan MinHeartbeat = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxHeartbeat = TimeSpan.FromMinutes(5);
    private const int LeaseAttempts = 10;
    private static readonly TimeSpan LeaseRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ForwardedAckTimeout = TimeSpan.FromSeconds(1.5);

    /// <inheritdoc/>
    public async IAsyncEnumerable<SubscribeResponse> SubscribeAsync(SubscribeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        var heartbeat = CheckSubscribe(request);
        var cancellationToken = context.CancellationToken;
        var leases = await ReadyAsync(cancellationToken).ConfigureAwait(false);
        var filter = new EventFilter(stream, request.TypeFilters, request.SubjectFilter);

        EventSource source;
        try
        {
            source = request.ConsumerName.Length == 0
                ? (EventSource)await EphemeralSource.StartAsync(_js, stream, filter, OrderedOptions(request), cancellationToken).ConfigureAwait(false)
                : await AttachDurableAsync(stream, filter, request, leases, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"subscribe to stream '{stream.Name}'") is { } error)
        {
            throw error;
        }

        try
        {
            await foreach (var item in DeliverAsync(source, heartbeat, cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            await source.DisposeAsync().ConfigureAwait(false);
            if (source is DurableSource)
            {
                LogDurableDetached(_logger, request.ConsumerName, stream.Name);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<AckResponse> AckAsync(AckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        RequireConsumerName(request.ConsumerName);
        Errors.Require(request.Sequence > 0, "sequence", "is required: the highest sequence processed, 1 or more.");
        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);

        // The instance serving the consumer's live subscription holds the delivered events, so
        // the Ack goes to it, wherever this call arrived.
        NatsMsg<byte[]> reply;
        try
        {
            reply = await _connection.RequestAsync<byte[], byte[]>(
                _catalog.AckSubject(stream, request.ConsumerName), request.ToByteArray(), replyOpts: new NatsSubOpts { Timeout = ForwardedAckTimeout }, cancellationToken: context.CancellationToken).ConfigureAwait(false);
        }
        catch (NatsNoRespondersException)
        {
            return await AckWithoutSubscriptionAsync(stream, request, context.CancellationToken).ConfigureAwait(false);
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"forward the Ack of consumer '{request.ConsumerName}'") is { } error)
        {
            throw error;
        }

        if (reply.HasNoResponders)
        {
            return await AckWithoutSubscriptionAsync(stream, request, context.CancellationToken).ConfigureAwait(false);
        }

        var status = Google.Rpc.Status.Parser.ParseFrom(reply.Data ?? []);
        if (status.Code != 0)
        {
            throw new RpcException(new Status((StatusCode)status.Code, status.Message));
        }

        return status.Details[0].Unpack<AckResponse>();
    }

    /// <summary>
    /// No subscription is attached: an Ack at or below the floor is the no-op it always is;
    /// anything above it is refused, because the events it names are delivered again (and
    /// acked then) by the consumer's next subscription.
    /// </summary>
    private async ValueTask<AckResponse> AckWithoutSubscriptionAsync(BusStream stream, AckRequest request, CancellationToken cancellationToken)
    {
        var info = await GetConsumerInfoAsync(stream, request.ConsumerName, cancellationToken).ConfigureAwait(false);
        var floor = info.AckFloor.StreamSeq;
        if (request.Sequence <= floor)
        {
            return new AckResponse { AckFloor = floor };
        }

        throw Errors.FailedPrecondition(
            $"Consumer '{request.ConsumerName}' of stream '{stream.Name}' has no live subscription, so nothing above its ack floor {floor} is out for acking; " +
            "those events are delivered again by its next Subscribe: ack them then.");
    }

    private async IAsyncEnumerable<SubscribeResponse> DeliverAsync(EventSource source, TimeSpan heartbeat, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = source.Events;
        Task<bool>? waiting = null;
        while (true)
        {
            if (!reader.TryPeek(out _))
            {
                // Idle: wait for the next event, sending a heartbeat each interval without one.
                waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var delay = Task.Delay(heartbeat, _time, idle.Token);
                    if (await Task.WhenAny(waiting, delay).ConfigureAwait(false) == delay)
                    {
                        await delay.ConfigureAwait(false);
                        yield return new SubscribeResponse { Heartbeat = await HeartbeatAsync(source.Stream, cancellationToken).ConfigureAwait(false) };
                        continue;
                    }

                    await idle.CancelAsync().ConfigureAwait(false);
                }

                var more = await waiting.ConfigureAwait(false);
                waiting = null;
                if (!more)
                {
                    // Completed: an error ends the stream with its status; a clean end is a stop.
                    await reader.Completion.ConfigureAwait(false);
                    yield break;
                }
            }

            while (reader.TryRead(out var msg))
            {
                var metadata = msg.Metadata!.Value;
                source.Delivered(metadata.Sequence.Stream);
                yield return new SubscribeResponse
                {
                    Event = new StoredEvent
                    {
                        Stream = source.Stream.Name,
                        Sequence = metadata.Sequence.Stream,
                        PublishTime = Timestamp.FromDateTimeOffset(metadata.Timestamp),
                        Event = msg.Data,
                    },
                    DeliveryCount = (int)Math.Min(metadata.NumDelivered, int.MaxValue),
                };
            }
        }
    }

    private async ValueTask<Heartbeat> HeartbeatAsync(BusStream stream, CancellationToken cancellationToken)
    {
        ulong last = 0;
        try
        {
            var info = await _js.GetStreamAsync(stream.JetStreamName, cancellationToken: cancellationToken).ConfigureAwait(false);
            last = info.Info.State.LastSeq;
        }
        catch (NatsException)
        {
            // A heartbeat says the subscription is alive; the lag figure is best effort.
        }

        return new Heartbeat { StreamLastSequence = last, ServerTime = Timestamp.FromDateTimeOffset(_time.GetUtcNow()) };
    }

    /// <summary>Validates what Subscribe reads besides the stream; the heartbeat interval.</summary>
    private static TimeSpan CheckSubscribe(SubscribeRequest request)
    {
        Errors.Require(request.TypeFilters.Count <= MaxTypeFilters, "type_filters", $"holds {request.TypeFilters.Count} patterns; at most {MaxTypeFilters}.");
        for (var i = 0; i < request.TypeFilters.Count; i++)
        {
            if (EventTypes.CheckPattern(request.TypeFilters[i]) is { } problem)
            {
                throw Errors.InvalidArgument($"type_filters[{i}]", $"'{request.TypeFilters[i]}' {problem}");
            }
        }

        Errors.Require(request.SubjectFilter.Length <= MaxSubjectFilterLength, "subject_filter", $"is {request.SubjectFilter.Length} characters; at most {MaxSubjectFilterLength}.");
        Errors.Require(System.Enum.IsDefined(request.DeliverPolicy), "deliver_policy", $"{(int)request.DeliverPolicy} is not a DeliverPolicy.");
        if (request.DeliverPolicy == DeliverPolicy.BySequence)
        {
            Errors.Require(request.StartSequence >= 1, "start_sequence", "must be 1 or more with DELIVER_POLICY_BY_SEQUENCE (the first sequence to deliver).");
        }
        else
        {
            Errors.Require(request.StartSequence == 0, "start_sequence", $"is only read with DELIVER_POLICY_BY_SEQUENCE, not {request.DeliverPolicy}; leave it 0 or set deliver_policy.");
        }

        if (request.DeliverPolicy == DeliverPolicy.ByTime)
        {
            Errors.Require(request.StartTime is not null, "start_time", "is required with DELIVER_POLICY_BY_TIME (the first publish time to deliver).");
            Errors.Require(request.StartTime!.Seconds is >= -62135596800 and <= 253402300799 && request.StartTime.Nanos is >= 0 and < 1_000_000_000, "start_time", "is not a valid timestamp.");
        }
        else
        {
            Errors.Require(request.StartTime is null, "start_time", $"is only read with DELIVER_POLICY_BY_TIME, not {request.DeliverPolicy}; leave it unset or set deliver_policy.");
        }

        if (request.ConsumerName.Length > 0)
        {
            RequireConsumerName(request.ConsumerName);
        }

        Errors.Require(request.MaxUnacked is >= 0 and <= MaxMaxUnacked, "max_unacked", $"must be 1-{MaxMaxUnacked} (0 selects {DefaultMaxUnacked}); got {request.MaxUnacked}.");
        if (request.HeartbeatInterval is null)
        {
            return DefaultHeartbeat;
        }

        var heartbeat = request.HeartbeatInterval.ToTimeSpan();
        Errors.Require(heartbeat >= MinHeartbeat && heartbeat <= MaxHeartbeat, "heartbeat_interval", $"must be 1 s to 5 min (unset selects 15 s); got {heartbeat.TotalSeconds:0.###} s.");
        return heartbeat;
    }

    private static NatsJSOrderedConsumerOpts OrderedOptions(SubscribeRequest request) => request.DeliverPolicy switch
    {
        DeliverPolicy.All => NatsJSOrderedConsumerOpts.Default with { DeliverPolicy = ConsumerConfigDeliverPolicy.All },
        DeliverPolicy.BySequence => NatsJSOrderedConsumerOpts.Default with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = request.StartSequence },
        DeliverPolicy.ByTime => NatsJSOrderedConsumerOpts.Default with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime, OptStartTime = request.StartTime.ToDateTimeOffset() },
        _ => NatsJSOrderedConsumerOpts.Default with { DeliverPolicy = ConsumerConfigDeliverPolicy.New },
    };

    /// <summary>
    /// Takes the consumer's lease, then creates, keeps or re-creates its JetStream durable
    /// consumer. Kept when nothing changed and no start was asked for; re-created from its
    /// ack floor when the filters or max_unacked changed (nats-server 2.9 cannot change a
    /// filter in place), or from the asked start when a deliver policy was given.
    /// </summary>
    private async Task<DurableSource> AttachDurableAsync(BusStream stream, EventFilter filter, SubscribeRequest request, ConsumerLeases leases, CancellationToken cancellationToken)
    {
        var name = request.ConsumerName;
        // A client that reconnects right after breaking off finds its old subscription still
        // closing (NAKing what it held, then releasing its lease): give that a moment.
        var key = StreamCatalog.LeaseKey(stream, name);
        var (lease, holder, until) = await leases.TryTakeAsync(key, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; lease is null && attempt < LeaseAttempts; attempt++)
        {
            await Task.Delay(LeaseRetryDelay, _time, cancellationToken).ConfigureAwait(false);
            (lease, holder, until) = await leases.TryTakeAsync(key, cancellationToken).ConfigureAwait(false);
        }

        if (lease is null)
        {
            throw Errors.FailedPrecondition(
                $"Consumer '{name}' of stream '{stream.Name}' already has a live subscription (instance {holder}, held until {until:O} unless renewed); " +
                "a durable consumer serves one subscription at a time: end that one, or use another consumer_name.");
        }

        try
        {
            var maxUnacked = request.MaxUnacked == 0 ? DefaultMaxUnacked : request.MaxUnacked;
            var durable = EventTypes.ToDurableName(name);
            INatsJSConsumer? current = null;
            ConsumerInfo? existing;
            try
            {
                current = await _js.GetConsumerAsync(stream.JetStreamName, durable, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10014)
            {
            }

            existing = current?.Info;
            var record = existing is null ? null : ConsumerRecords.Read(existing);
            var description = ConsumerRecords.Write(request.TypeFilters, request.SubjectFilter, record?.CreateTime ?? Timestamp.FromDateTimeOffset(_time.GetUtcNow()));

            // A push consumer on a subject of this subscription's own: when the subscription
            // ends its interest ends with it and JetStream stops delivering at once. (A pull
            // consumer's requests come from NATS.Net's shared inbox, whose interest outlives the
            // subscription, so JetStream would hand the next events to a request nobody reads.)
            var options = new NatsJSPushConsumerOpts
            {
                DurableName = durable,
                DeliverSubject = _catalog.DeliverSubject(stream, name, Guid.NewGuid().ToString("N")),
                Description = description,
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                AckWait = _options.AckWait,
                MaxDeliver = -1,
                MaxAckPending = maxUnacked,
                FilterSubject = filter.FilterSubject,
                DeliverPolicy = ConsumerConfigDeliverPolicy.New,
                SubOpts = new NatsSubOpts { ChannelOpts = new NatsSubChannelOpts { Capacity = maxUnacked + 64, FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait } },
            };

            string start;
            if (existing is not null && request.DeliverPolicy == DeliverPolicy.Unspecified && existing.Config.DeliverSubject is { Length: > 0 }
                && existing.Config.FilterSubject == options.FilterSubject && existing.Config.MaxAckPending == maxUnacked
                && existing.Config.AckWait == options.AckWait && existing.Config.Description == description)
            {
                // Only the deliver subject changes, which JetStream updates in place.
                start = $"resumed after ack floor {existing.AckFloor.StreamSeq}";
                options = options with { DeliverPolicy = existing.Config.DeliverPolicy, OptStartSeq = existing.Config.OptStartSeq, OptStartTime = existing.Config.OptStartTime };
            }
            else
            {
                (options, start) = WithStart(options, request, existing);
                if (existing is not null)
                {
                    await _js.DeleteConsumerAsync(stream.JetStreamName, durable, cancellationToken).ConfigureAwait(false);
                }
            }

            var consumer = await _js.CreateOrUpdatePushConsumerAsync(stream.JetStreamName, options, cancellationToken).ConfigureAwait(false);
            var source = await DurableSource.StartAsync(_connection, _catalog, stream, filter, name, consumer, leases, lease, _time, cancellationToken).ConfigureAwait(false);
            LogDurableAttached(_logger, name, stream.Name, start, filter.FilterSubject, maxUnacked);
            return source;
        }
        catch
        {
            await leases.ReleaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static (NatsJSPushConsumerOpts Options, string Start) WithStart(NatsJSPushConsumerOpts config, SubscribeRequest request, ConsumerInfo? existing) => request.DeliverPolicy switch
    {
        DeliverPolicy.All => (config with { DeliverPolicy = ConsumerConfigDeliverPolicy.All }, "from the oldest event"),
        DeliverPolicy.BySequence => (config with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = request.StartSequence }, $"from sequence {request.StartSequence}"),
        DeliverPolicy.ByTime => (config with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime, OptStartTime = request.StartTime.ToDateTimeOffset() }, $"from {request.StartTime.ToDateTimeOffset():O}"),
        DeliverPolicy.New => (config, "from now"),
        _ when existing is not null => (config with { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = existing.AckFloor.StreamSeq + 1 }, $"re-created after ack floor {existing.AckFloor.StreamSeq}"),
        _ => (config, "new, from now"),
    };

}
