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
    // Registered by callers, removed on the socket reader: many locks, so they rarely meet.
    private readonly ConcurrentDictionary<long, PendingReply> _pending = new(concurrencyLevel: 64, capacity: 1024);
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
        _pending[id] = pending;
        return string.Create(CultureInfo.InvariantCulture, $"{_prefix}.{id}");
    }

    public bool Remove(PendingReply pending) => _pending.TryRemove(new KeyValuePair<long, PendingReply>(pending.Id, pending));

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
        if (long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            && _pending.TryRemove(id, out var pending))
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
        foreach (var (id, pending) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                pending.Fail(new RpcException(new Status(StatusCode.Unavailable, $"{pending.Method.Path}: {why}.")));
            }
        }
    }

    private void Sweep()
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        foreach (var (id, pending) in _pending)
        {
            if (pending.DeadlineTimestamp <= now && _pending.TryRemove(id, out _))
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
