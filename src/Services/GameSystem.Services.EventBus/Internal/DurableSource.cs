using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// A live durable subscription on the instance serving it. It holds every event it pulled
/// and has not seen acked (JetStream's max_ack_pending, set to max_unacked, stops delivery
/// when that many are out), takes Acks for its consumer on a core NATS subject whichever
/// instance received the Ack rpc, renews its lease, and on the way out NAKs whatever is
/// still unacked so the next subscription gets it again at once (delivery_count + 1).
/// </summary>
internal sealed class DurableSource : EventSource
{
    private static readonly AckOpts DoubleAck = new() { DoubleAck = true };

    private readonly SortedList<ulong, INatsJSMsg<DomainEvent>> _held = [];
    private readonly INatsConnection _connection;
    private readonly string _consumerName;
    private readonly ConsumerLeases _leases;
    private readonly Lease _lease;
    private readonly INatsSub<byte[]> _ackSubscription;
    private readonly Task _pump;
    private readonly Task _acks;
    private readonly Task _renewals;
    private readonly INatsJSConsumer _consumer;
    private long _numPending;
    private int _deliveredSinceRenewal;
    private ulong _lastDelivered;
    private ulong _ackFloor;
    private bool _closed;

    private DurableSource(INatsConnection connection, BusStream stream, EventFilter filter, string consumerName, INatsJSConsumer consumer, ConsumerLeases leases, Lease lease, INatsSub<byte[]> ackSubscription, TimeProvider time)
        : base(stream, filter)
    {
        _connection = connection;
        _consumerName = consumerName;
        _leases = leases;
        _lease = lease;
        _ackSubscription = ackSubscription;
        _consumer = consumer;
        _ackFloor = consumer.Info.AckFloor.StreamSeq;
        _lastDelivered = _ackFloor;
        _numPending = (long)consumer.Info.NumPending;
        _pump = Task.Run(() => PumpAsync(consumer, new NatsJSConsumeOpts(), AcceptAsync));
        _acks = Task.Run(ServeAcksAsync);
        _renewals = Task.Run(() => RenewAsync(time));
        ConsumerLag.Register(this);
    }

    /// <summary>The durable consumer's name.</summary>
    public string ConsumerName => _consumerName;

    /// <summary>Events the consumer has yet to acknowledge: JetStream's num_pending, plus those held here unacked.</summary>
    public long Lag
    {
        get
        {
            lock (_held)
            {
                return Volatile.Read(ref _numPending) + _held.Count;
            }
        }
    }

    public static async Task<DurableSource> StartAsync(
        INatsConnection connection, StreamCatalog catalog, BusStream stream, EventFilter filter, string consumerName, INatsJSConsumer consumer,
        ConsumerLeases leases, Lease lease, TimeProvider time, CancellationToken cancellationToken)
    {
        var subscription = await connection.SubscribeCoreAsync<byte[]>(catalog.AckSubject(stream, consumerName), cancellationToken: cancellationToken).ConfigureAwait(false);
        return new DurableSource(connection, stream, filter, consumerName, consumer, leases, lease, subscription, time);
    }

    public override void Delivered(ulong sequence)
    {
        lock (_held)
        {
            _lastDelivered = Math.Max(_lastDelivered, sequence);
        }
    }

    /// <summary>Acks every held event at or below <paramref name="sequence"/>; the ack floor after it.</summary>
    public async ValueTask<ulong> AckAsync(ulong sequence, CancellationToken cancellationToken)
    {
        List<INatsJSMsg<DomainEvent>> acked;
        ulong floor;
        lock (_held)
        {
            if (_closed)
            {
                throw Errors.Unavailable($"The subscription of consumer '{_consumerName}' is closing; its unacked events will be delivered again on its next Subscribe.");
            }

            if (sequence <= _ackFloor)
            {
                return _ackFloor;
            }

            if (sequence > _lastDelivered)
            {
                throw Errors.FailedPrecondition($"sequence {sequence} is above the last event delivered to consumer '{_consumerName}' of stream '{Stream.Name}' ({_lastDelivered}); ack only what was delivered.");
            }

            acked = [];
            while (_held.Count > 0 && _held.Keys[0] <= sequence)
            {
                acked.Add(_held.Values[0]);
                _held.RemoveAt(0);
            }

            _ackFloor = sequence;
            floor = sequence;
        }

        for (var i = 0; i < acked.Count; i++)
        {
            // The last ack waits for JetStream's confirmation; acks from one connection are
            // processed in order, so the earlier ones are in by then too.
            await acked[i].AckAsync(i == acked.Count - 1 ? DoubleAck : null, cancellationToken).ConfigureAwait(false);
        }

        return floor;
    }

    public override async ValueTask DisposeAsync()
    {
        ConsumerLag.Unregister(this);
        await Stopping.CancelAsync().ConfigureAwait(false);
        await _ackSubscription.UnsubscribeAsync().ConfigureAwait(false);
        await Task.WhenAll(_pump, _acks, _renewals).ConfigureAwait(false);
        List<INatsJSMsg<DomainEvent>> unacked;
        lock (_held)
        {
            _closed = true;
            unacked = [.. _held.Values];
            _held.Clear();
        }

        try
        {
            // The consumer's pull request outlives the pump until nats-server sees its inbox go:
            // a round trip first, so the NAKed events are not handed to that dead request (and
            // held back for an ack wait) but to the next subscription at once.
            if (unacked.Count > 0)
            {
                await _connection.PingAsync().ConfigureAwait(false);
            }

            foreach (var msg in unacked)
            {
                await msg.NakAsync().ConfigureAwait(false);
            }

            await _leases.ReleaseAsync(_lease, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NatsException)
        {
            // NATS is gone: JetStream redelivers after its ack wait and the lease runs out.
        }

        await _ackSubscription.DisposeAsync().ConfigureAwait(false);
        Stopping.Dispose();
    }

    private async ValueTask<bool> AcceptAsync(INatsJSMsg<DomainEvent> msg)
    {
        if (msg.Metadata is { } metadata)
        {
            Volatile.Write(ref _numPending, (long)metadata.NumPending);
            Volatile.Write(ref _deliveredSinceRenewal, 1);
        }

        if (!Wanted(msg))
        {
            // Filtered out here (several type filters, or a subject filter): nothing to deliver,
            // so nothing to wait for.
            await msg.AckAsync(cancellationToken: Stopping.Token).ConfigureAwait(false);
            return false;
        }

        var sequence = msg.Metadata?.Sequence.Stream ?? 0;
        lock (_held)
        {
            if (_held.ContainsKey(sequence))
            {
                // JetStream redelivered an event still held here (its ack wait ran out while the
                // subscriber worked on it): it is already out, so only the handle is renewed.
                _held[sequence] = msg;
                return false;
            }

            _held.Add(sequence, msg);
            return true;
        }
    }

    private async Task ServeAcksAsync()
    {
        try
        {
            await foreach (var request in _ackSubscription.Msgs.ReadAllAsync(Stopping.Token).ConfigureAwait(false))
            {
                var status = new Google.Rpc.Status();
                try
                {
                    var ack = AckRequest.Parser.ParseFrom(request.Data ?? []);
                    var floor = await AckAsync(ack.Sequence, Stopping.Token).ConfigureAwait(false);
                    status.Details.Add(Any.Pack(new AckResponse { AckFloor = floor }));
                }
                catch (RpcException ex)
                {
                    status.Code = (int)ex.StatusCode;
                    status.Message = ex.Status.Detail;
                }
                catch (InvalidProtocolBufferException)
                {
                    status.Code = (int)StatusCode.InvalidArgument;
                    status.Message = "The Ack forwarded to this subscription is not an AckRequest.";
                }

                await request.ReplyAsync(status.ToByteArray(), cancellationToken: Stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
        }
        catch (NatsException)
        {
            // The connection is going; the subscription ends with it.
        }
    }

    private async Task RenewAsync(TimeProvider time)
    {
        var interval = _leases.Duration / 3;
        var quietRenewals = 0;
        try
        {
            while (true)
            {
                await Task.Delay(interval, time, Stopping.Token).ConfigureAwait(false);
                try
                {
                    if (!await _leases.RenewAsync(_lease, Stopping.Token).ConfigureAwait(false))
                    {
                        Fail(Errors.Aborted($"Another instance took over consumer '{_consumerName}' of stream '{Stream.Name}' (this one did not renew its hold in time); subscribe again."));
                        return;
                    }

                    // Deliveries carry num_pending, but while the subscriber is stuck (or idle) none
                    // come and the lag would stand still: then it is read from JetStream, once
                    // after the first quiet renewal and every sixth after that, not at every tick
                    // (each read is a $JS.API.CONSUMER.INFO request).
                    if (Interlocked.Exchange(ref _deliveredSinceRenewal, 0) != 0)
                    {
                        quietRenewals = 0;
                    }
                    else if (quietRenewals++ % 6 == 0)
                    {
                        await _consumer.RefreshAsync(Stopping.Token).ConfigureAwait(false);
                        Volatile.Write(ref _numPending, (long)_consumer.Info.NumPending);
                    }
                }
                catch (NatsException)
                {
                    // Reconnecting: try again next interval; the hold lasts three of them.
                }
            }
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
        }
    }
}
