using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks.Sources;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// One wildcard inbox per client for the replies of its unary calls (as NATS.Net's own
/// request-reply does), read at NATS.Net's lowest level: a reply is matched by the last
/// token of its subject and parsed on arrival, with no NatsMsg, header dictionary or timer
/// per call. Deadlines are swept by one timer for all calls.
/// </summary>
internal sealed class ReplyInbox : NatsSubBase, IDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(10);
    // Calls in flight, by id: a slot of the ring (id modulo its size) claimed and released
    // with one compare-and-swap each, since callers register and the socket reader
    // removes concurrently on every call; an id whose slot is still taken by a call that
    // outlived a whole turn of the ring goes to the overflow table.
    private const int RingSize = 4096;
    private readonly PendingReply?[] _ring = new PendingReply?[RingSize];
    private readonly ConcurrentDictionary<long, PendingReply> _overflow = new();
    private readonly string _prefix;
    private readonly Timer _sweeper;
    private long _next;
    private volatile bool _closed;

    private ReplyInbox(INatsConnection connection, string prefix)
        : base(connection, connection.SubscriptionManager, prefix + ".*", queueGroup: null, opts: null)
    {
        _prefix = prefix;
        _sweeper = new Timer(static state => ((ReplyInbox)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    public static async Task<ReplyInbox> CreateAsync(INatsConnection connection)
    {
        // Under the usual _INBOX. prefix (so the common `_INBOX.>` permission covers it),
        // but not under the connection's own inbox, which NATS.Net routes to its
        // request muxer by exact subject and would never hand to this wildcard.
        var inbox = new ReplyInbox(connection, $"{connection.Opts.InboxPrefix}.{Guid.NewGuid():N}");
        await connection.AddSubAsync(inbox).ConfigureAwait(false);
        return inbox;
    }

    /// <summary>Registers a call and returns the reply subject to send with it.</summary>
    public string Register(PendingReply pending)
    {
        if (_closed)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The NATS connection of this client is closed."));
        }

        var id = Interlocked.Increment(ref _next);
        pending.Id = id;
        if (Interlocked.CompareExchange(ref _ring[id & (RingSize - 1)], pending, null) is not null)
        {
            _overflow[id] = pending;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{_prefix}.{id}");
    }

    /// <summary>Takes a call out of the table; true for the one caller that gets to complete it.</summary>
    public bool Remove(PendingReply pending) =>
        Interlocked.CompareExchange(ref _ring[pending.Id & (RingSize - 1)], null, pending) == pending
        || _overflow.TryRemove(new KeyValuePair<long, PendingReply>(pending.Id, pending));

    private PendingReply? Take(long id)
    {
        ref var slot = ref _ring[id & (RingSize - 1)];
        var pending = Volatile.Read(ref slot);
        if (pending is not null && pending.Id == id && Interlocked.CompareExchange(ref slot, null, pending) == pending)
        {
            return pending;
        }

        return _overflow.TryRemove(id, out var overflowed) ? overflowed : null;
    }

    private IEnumerable<PendingReply> Pending()
    {
        foreach (var pending in _ring)
        {
            if (pending is not null)
            {
                yield return pending;
            }
        }

        foreach (var (_, pending) in _overflow)
        {
            yield return pending;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        Dispose();
        FailAll("the client was disposed");
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the deadline sweeper; the subscription itself ends with <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        _closed = true;
        _sweeper.Dispose();
    }

    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
    {
        var token = subject.AsSpan(subject.LastIndexOf('.') + 1);
        if (long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && Take(id) is { } pending)
        {
            pending.Complete(headersBuffer, payloadBuffer);
        }

        return ValueTask.CompletedTask;
    }

    protected override void TryComplete()
    {
        Dispose();
        FailAll("the NATS connection closed before the reply arrived");
    }

    private void FailAll(string why)
    {
        foreach (var pending in Pending())
        {
            if (Remove(pending))
            {
                pending.Fail(new RpcException(new Status(StatusCode.Unavailable, $"{pending.Method.Path}: {why}.")));
            }
        }
    }

    /// <summary>Fails every call waiting whose method <paramref name="matches"/>, with the error <paramref name="error"/> makes.</summary>
    public void FailWhere(Func<MeshMethod, bool> matches, Func<MeshMethod, RpcException> error)
    {
        foreach (var pending in Pending())
        {
            if (matches(pending.Method) && Remove(pending))
            {
                pending.Fail(error(pending.Method));
            }
        }
    }

    private void Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < RingSize; i++)
        {
            if (Volatile.Read(ref _ring[i]) is { } pending && pending.DeadlineTimestamp <= now && Remove(pending))
            {
                pending.Fail(NatsMeshClient.DeadlineExceeded(pending.Method));
            }
        }

        foreach (var (_, pending) in _overflow)
        {
            if (pending.DeadlineTimestamp <= now && Remove(pending))
            {
                pending.Fail(NatsMeshClient.DeadlineExceeded(pending.Method));
            }
        }
    }
}

/// <summary>A unary call waiting for its reply.</summary>
internal abstract class PendingReply(MeshMethod method, long deadlineTimestamp)
{
    public MeshMethod Method { get; } = method;

    public long DeadlineTimestamp { get; } = deadlineTimestamp;

    public long Id { get; set; }

    /// <summary>Reads the reply; runs on the socket reader, so it only parses and signals.</summary>
    public abstract void Complete(in ReadOnlySequence<byte>? headers, in ReadOnlySequence<byte> payload);

    public abstract void Fail(RpcException error);
}

/// <summary>The typed waiter: parses the response or the error and completes the caller's ValueTask.</summary>
internal sealed class PendingReply<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, long deadlineTimestamp, bool wantsTrailers)
    : PendingReply(method, deadlineTimestamp), IValueTaskSource<TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    // Continuations never run on the socket reader.
    private ManualResetValueTaskSourceCore<TResponse> _core = new() { RunContinuationsAsynchronously = true };
    private int _done;

    public Metadata Trailers { get; private set; } = Metadata.Empty;

    public ValueTask<TResponse> Task => new(this, _core.Version);

    public override void Complete(in ReadOnlySequence<byte>? headers, in ReadOnlySequence<byte> payload)
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        try
        {
            var raw = headers is { IsEmpty: false } h ? new RawHeaders(h.IsSingleSegment ? h.First : h.ToArray()) : default;
            if (raw.Status == 503)
            {
                _core.SetException(new RpcException(new Status(StatusCode.Unavailable,
                    $"{Method.Path}: no instance of {Method.ServiceFullName} is serving (NATS: no responders).")));
                return;
            }

            if (StatusCodec.TryReadError(raw, out var code, out var message))
            {
                _core.SetException(StatusCodec.ToException(code, message, MetadataCodec.Read(raw), payload));
                return;
            }

            TResponse response;
            try
            {
                response = method.ParseResponse(payload);
            }
            catch (InvalidProtocolBufferException ex)
            {
                _core.SetException(new RpcException(new Status(StatusCode.Internal,
                    $"{Method.Path}: the reply is not a valid {Method.Descriptor.OutputType.FullName} ({ex.Message}).")));
                return;
            }

            if (wantsTrailers && !raw.IsEmpty)
            {
                Trailers = MetadataCodec.Read(raw);
            }

            _core.SetResult(response);
        }
        catch (RpcException ex)
        {
            _core.SetException(ex);
        }
    }

    public override void Fail(RpcException error)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _core.SetException(error);
        }
    }

    public TResponse GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
