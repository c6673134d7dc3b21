using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// The client side of one server stream: subscribes to a per-call inbox, checks sequence
/// numbers, grants credit as it consumes, sends heartbeats, and detects a silent server.
/// </summary>
internal sealed class ClientStream<TRequest, TResponse> : IAsyncDisposable, IRefusableStream
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly INatsConnection _connection;
    private readonly MeshMethod<TRequest, TResponse> _method;
    private readonly CallOptions _callOptions;
    private readonly string _subject;
    private readonly MeshClientOptions _options;
    private readonly CancellationTokenSource _lifetime;
    private readonly TimeSpan? _timeout;
    private readonly DateTime? _deadline;
    private INatsSub<NatsMemoryOwner<byte>>? _inbox;
    private string? _control;
    private Task? _heartbeats;
    private long _received;
    private int _consumedSinceGrant;
    private bool _ended;
    private RpcException? _refused;
    private int _window;
    private TimeSpan _heartbeat;

    public ClientStream(INatsConnection connection, MeshClientCall<TRequest, TResponse> call, string subject, MeshClientOptions options, CancellationToken cancellationToken)
    {
        _connection = connection;
        _method = call.Method;
        _callOptions = call.Options;
        _subject = subject;
        _options = options;
        _window = options.StreamWindow;
        _heartbeat = options.StreamHeartbeat;
        _lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Options.CancellationToken);
        if (call.Options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            _timeout = NatsMeshClient.ResolveTimeout(_method, deadline, options.DefaultTimeout)
                ?? throw NatsMeshClient.DeadlineExceeded(_method);
        }
        else
        {
            // Streams are bounded by the contract's timeout only; a watch declares none.
            _timeout = _method.DefaultTimeout;
        }

        // Beyond what a timer can wait (about 24 days), a deadline means "none".
        if (_timeout is { } t && t <= NatsMeshClient.MaxTimerWait)
        {
            _deadline = DateTime.UtcNow + t;
            _lifetime.CancelAfter(t);
        }
    }

    public TResponse Current { get; private set; } = null!;

    public string Subject => _subject;

    public string? Control => Volatile.Read(ref _control);

    public MeshMethod Method => _method;

    public void Refuse(RpcException error)
    {
        if (Interlocked.CompareExchange(ref _refused, error, null) is null)
        {
            try
            {
                _lifetime.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already over.
            }
        }
    }

    public async ValueTask StartAsync(TRequest request)
    {
        var inbox = _connection.NewInbox();
        try
        {
            _inbox = await _connection.SubscribeCoreAsync(inbox, serializer: RawPayload.Deserializer, cancellationToken: _lifetime.Token).ConfigureAwait(false);
            var headers = NatsMeshClient.RequestHeaders(_callOptions.Headers, _timeout is { } t ? GrpcTimeout.Format(t) : null, System.Diagnostics.Activity.Current);
            headers[WireHeaders.Window] = _options.StreamWindow.ToString(CultureInfo.InvariantCulture);
            headers[WireHeaders.Heartbeat] = ((long)_options.StreamHeartbeat.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            await _connection.PublishAsync(_subject, request, headers, inbox, MessageSerializer<TRequest>.Instance, cancellationToken: _lifetime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw Volatile.Read(ref _refused) ?? Cancelled();
        }
        catch (NatsException ex)
        {
            throw NatsMeshClient.MapTransportException(ex, _method);
        }
    }

    public async ValueTask<bool> MoveNextAsync()
    {
        if (_ended)
        {
            return false;
        }

        while (true)
        {
            var msg = await ReadAsync().ConfigureAwait(false);
            using var payload = msg.Data;
            if (msg.Headers?.Code == 503)
            {
                throw new RpcException(new Status(StatusCode.Unavailable,
                    $"{_method.Path}: no instance of {_method.ServiceFullName} is serving (NATS: no responders)."));
            }

            var kind = Header(msg.Headers, WireHeaders.Stream);
            if (kind is null && Header(msg.Headers, WireHeaders.Sequence) is { } seqText)
            {
                var seq = ReadNumber(seqText, WireHeaders.Sequence);
                if (seq != _received + 1)
                {
                    throw new RpcException(new Status(StatusCode.DataLoss,
                        $"{_method.Path}: stream message {_received + 1} was lost (got {seq})."));
                }

                _received = seq;
                try
                {
                    Current = _method.ParseResponse(RawPayload.AsSequence(payload));
                }
                catch (InvalidProtocolBufferException ex)
                {
                    throw new RpcException(new Status(StatusCode.Internal,
                        $"{_method.Path}: stream message {seq} is not a valid {_method.Descriptor.OutputType.FullName} ({ex.Message})."));
                }

                await GrantCreditAsync().ConfigureAwait(false);
                return true;
            }

            switch (kind)
            {
                case WireHeaders.StreamOpen:
                    _control = Header(msg.Headers, WireHeaders.Control);

                    // The server may have clamped what we asked for; its values rule. A server
                    // that drops us after three of its intervals must hear from us at its
                    // interval, and it heartbeats at that interval, not at ours.
                    if (Header(msg.Headers, WireHeaders.Window) is { } window)
                    {
                        _window = (int)Math.Clamp(ReadNumber(window, WireHeaders.Window), 1, int.MaxValue);
                    }

                    if (Header(msg.Headers, WireHeaders.Heartbeat) is { } heartbeat)
                    {
                        // Bounded only so that three intervals stay a valid timer.
                        _heartbeat = TimeSpan.FromMilliseconds(Math.Clamp(ReadNumber(heartbeat, WireHeaders.Heartbeat), 1, int.MaxValue / 3));
                    }

                    _heartbeats ??= SendHeartbeatsAsync();
                    continue;
                case WireHeaders.StreamHeartbeat:
                    continue;
                case WireHeaders.StreamEnd:
                    _ended = true;
                    if (StatusCodec.TryReadError(msg.Headers, out var code, out var message))
                    {
                        throw StatusCodec.ToException(code, message, msg.Headers, RawPayload.AsSequence(payload));
                    }

                    var count = ReadNumber(Header(msg.Headers, WireHeaders.Count), WireHeaders.Count);
                    if (count != _received)
                    {
                        throw new RpcException(new Status(StatusCode.DataLoss,
                            $"{_method.Path}: the server sent {count} messages but {_received} arrived."));
                    }

                    return false;
                default:
                    // An error before the stream opened (unknown method, overload, bad request).
                    if (StatusCodec.TryReadError(msg.Headers, out code, out message))
                    {
                        _ended = true;
                        throw StatusCodec.ToException(code, message, msg.Headers, RawPayload.AsSequence(payload));
                    }

                    throw new RpcException(new Status(StatusCode.Internal,
                        $"{_method.Path}: the server sent a message that is not part of the stream protocol."));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_ended && _control is not null)
        {
            // Tell the server to stop producing: the caller broke off or failed.
            await BestEffortNotice.SendAsync(_connection, _control, new NatsHeaders { [WireHeaders.Stream] = WireHeaders.StreamCancel }).ConfigureAwait(false);
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (_heartbeats is not null)
        {
            await _heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_inbox is not null)
        {
            await _inbox.DisposeAsync().ConfigureAwait(false);
        }

        _lifetime.Dispose();
    }

    private async ValueTask<NatsMsg<NatsMemoryOwner<byte>>> ReadAsync()
    {
        // Three heartbeat intervals of silence mean the server is gone.
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
        silence.CancelAfter(_heartbeat * 3);
        try
        {
            return await _inbox!.Msgs.ReadAsync(silence.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw Volatile.Read(ref _refused) ?? (_lifetime.IsCancellationRequested
                ? Cancelled()
                : new RpcException(new Status(StatusCode.Unavailable,
                    $"{_method.Path}: the server went silent (no message or heartbeat for {(_heartbeat * 3).TotalSeconds:0.#} s).")));
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"{_method.Path}: the NATS connection closed mid-stream."));
        }
    }

    private RpcException Cancelled() =>
        _deadline is { } deadline && DateTime.UtcNow >= deadline
            ? NatsMeshClient.DeadlineExceeded(_method)
            : new RpcException(new Status(StatusCode.Cancelled, $"{_method.Path}: the stream was cancelled by the caller."));

    private async ValueTask GrantCreditAsync()
    {
        if (++_consumedSinceGrant < Math.Max(1, _window / 2) || _control is null)
        {
            return;
        }

        var grant = _consumedSinceGrant;
        _consumedSinceGrant = 0;
        await _connection.PublishAsync(_control, headers: new NatsHeaders
        {
            [WireHeaders.Stream] = WireHeaders.StreamCredit,
            [WireHeaders.Credit] = grant.ToString(CultureInfo.InvariantCulture),
        }).ConfigureAwait(false);
    }

    private async Task SendHeartbeatsAsync()
    {
        using var timer = new PeriodicTimer(_heartbeat);
        var heartbeat = new NatsHeaders { [WireHeaders.Stream] = WireHeaders.StreamHeartbeat };
        try
        {
            while (await timer.WaitForNextTickAsync(_lifetime.Token).ConfigureAwait(false))
            {
                await _connection.PublishAsync(_control!, headers: heartbeat, cancellationToken: _lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (NatsException)
        {
            // The connection is gone; the read side reports it.
        }
    }

    private long ReadNumber(string? text, string header) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new RpcException(new Status(StatusCode.Internal,
                $"{_method.Path}: the server broke the stream protocol ({header} is '{text}', not a number)."));

    private static string? Header(NatsHeaders? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? value.ToString() : null;
}
