using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// Serves one service in this process: one queue subscription on the service's wildcard
/// subject, routing by the last token, with its own bounded concurrency. NATS.Net's
/// Services endpoints run one message at a time; here every accepted call runs at once
/// on the thread pool, up to the limit, and the rest are shed.
/// </summary>
internal sealed class ServiceRunner : IAsyncDisposable
{
    private readonly FrozenDictionary<string, MethodHandler> _handlers;
    private readonly FrozenDictionary<string, MethodHandler>.AlternateLookup<ReadOnlySpan<char>> _byName;
    private readonly ConcurrentDictionary<string, NatsServerCallContext> _cancellable = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly MeshServerOptions _options;
    private readonly int _maxRequestBytes;
    private readonly string? _shedPushback;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RequestSubscription? _requests;
    private INatsSub<NatsMemoryOwner<byte>>? _cancels;
    private Task? _receivingCancels;
    private IDisposable? _activeCallsReport;
    private int _unaryInFlight;
    private int _streamsInFlight;
    private int _refusalsUnsent;
    private volatile bool _stopping;

    public ServiceRunner(INatsConnection connection, MeshServiceDefinition definition, MeshServerOptions options, ILogger logger)
    {
        Connection = connection;
        Definition = definition;
        Logger = logger;
        Replies = new ReplyWriter(connection, logger);
        _options = options;
        Subject = MeshSubjects.ServiceWildcard(options.SubjectPrefix, definition.FullName);
        QueueGroup = MeshSubjects.QueueGroup(definition.FullName);
        _maxRequestBytes = options.MaxRequestBytes ?? int.MaxValue;
        _shedPushback = options.ShedRetryPushback is { } pushback ? ((long)pushback.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        var factory = new HandlerFactory(options);
        _handlers = definition.Methods.ToFrozenDictionary(b => b.Method.Name, b => b.Accept(factory), StringComparer.Ordinal);
        _byName = _handlers.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public INatsConnection Connection { get; }

    public ReplyWriter Replies { get; }

    /// <summary>The largest message the NATS server accepts.</summary>
    public long MaxPayload => Connection.ServerInfo?.MaxPayload ?? 1024 * 1024;

    public MeshServiceDefinition Definition { get; }

    public ILogger Logger { get; }

    public string Subject { get; }

    public string QueueGroup { get; }

    public string SubjectPrefix => _options.SubjectPrefix;

    public string Host => Connection.ServerInfo?.Host ?? "nats";

    public bool IsStopping => _stopping;

    public IEnumerable<MethodHandler> Handlers => Definition.Methods.Select(m => _handlers[m.Method.Name]);

    public MethodHandler? FindHandler(string method) => _handlers.GetValueOrDefault(method);

    /// <summary>Calls running, and refusals queued but not yet sent: a graceful stop waits for both.</summary>
    public int InFlight => Volatile.Read(ref _unaryInFlight) + Volatile.Read(ref _streamsInFlight) + Volatile.Read(ref _refusalsUnsent);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _requests = new RequestSubscription(Connection, Subject, QueueGroup, this);
        await Connection.AddSubAsync(_requests, cancellationToken).ConfigureAwait(false);
        _cancels = await Connection.SubscribeCoreAsync(MeshSubjects.Cancel(_options.SubjectPrefix, Definition.FullName), serializer: RawPayload.Deserializer, cancellationToken: cancellationToken).ConfigureAwait(false);
        _receivingCancels = ReceiveCancelsAsync(_cancels);
        _activeCallsReport = MeshTelemetry.ReportActiveCalls(Definition.FullName, () => Volatile.Read(ref _unaryInFlight) + Volatile.Read(ref _streamsInFlight));
    }

    /// <summary>Stops taking calls, waits for those in flight up to the shutdown timeout, then cancels the rest.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        if (_requests is not null)
        {
            // Draining first means no new call reaches this instance (NATS routes the queue
            // group's traffic to the other instances), and every request the server routed
            // here before the UNSUB is still read and answered, behind a PING/PONG fence.
            // UnsubscribeAsync would drop those silently: their callers would wait out
            // their deadlines.
            await _requests.DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        if (InFlight > 0)
        {
            Log.Draining(Logger, InFlight);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ShutdownTimeout);
            try
            {
                await _drained.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Log.DrainTimedOut(Logger, InFlight);
                await _abort.CancelAsync().ConfigureAwait(false);
                await _drained.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await Replies.FlushAsync().ConfigureAwait(false);
        if (_cancels is not null)
        {
            await _cancels.UnsubscribeAsync().ConfigureAwait(false);
        }

        if (_receivingCancels is not null)
        {
            await _receivingCancels.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping)
        {
            _stopping = true;
            await _abort.CancelAsync().ConfigureAwait(false);
        }

        await Replies.FlushAsync().ConfigureAwait(false);

        if (_requests is not null)
        {
            await _requests.DisposeAsync().ConfigureAwait(false);
        }

        if (_cancels is not null)
        {
            await _cancels.DisposeAsync().ConfigureAwait(false);
        }

        _activeCallsReport?.Dispose();
        _abort.Dispose();
    }

    public NatsServerCallContext CreateContext(MeshMethod method, DateTime deadline, Metadata metadata) =>
        new(method.Path, Host, deadline, metadata, _abort.Token);

    public string? RegisterCancellable(string? callId, NatsServerCallContext context)
    {
        if (callId is null)
        {
            return null;
        }

        _cancellable[callId] = context;
        return callId;
    }

    public void Unregister(string? callId)
    {
        if (callId is not null)
        {
            _cancellable.TryRemove(callId, out _);
        }
    }

    public ValueTask ReplyErrorAsync(string replyTo, RpcException error, Metadata? trailers = null)
    {
        var merged = trailers;
        if (error.Trailers.Count > 0)
        {
            merged = error.Trailers;
            if (trailers is not null)
            {
                merged = [.. trailers, .. error.Trailers];
            }
        }

        return Connection.PublishAsync(
            replyTo,
            StatusCodec.ErrorBody(error.Status, merged),
            StatusCodec.ErrorHeaders(error.Status, merged),
            serializer: BytesSerializer.Instance);
    }

    /// <summary>
    /// Called on the socket reader for every request: decides at once whether the call
    /// runs (known method, size, concurrency) and queues it, or queues its rejection. Never
    /// blocks the reader, never throws.
    /// </summary>
    public void Accept(string subject, string? replyTo, in ReadOnlySequence<byte>? headers, in ReadOnlySequence<byte> payload)
    {
        if (string.IsNullOrEmpty(replyTo))
        {
            Log.NoReplySubject(Logger, subject);
            return;
        }

        if (_stopping)
        {
            Reject(replyTo, new RpcException(new Status(StatusCode.Unavailable, $"{Definition.FullName}: this instance is shutting down; retry.")));
            return;
        }

        var methodName = subject.AsSpan()[(subject.LastIndexOf('.') + 1)..];
        if (!_byName.TryGetValue(methodName, out var handler))
        {
            Reject(replyTo, new RpcException(new Status(StatusCode.Unimplemented, UnimplementedMessage(methodName))));
            return;
        }

        var size = payload.Length + (headers?.Length ?? 0);
        if (size > _maxRequestBytes)
        {
            // The same request would be too large again: a client must not retry it (gRFC A6 pushback).
            Reject(replyTo, new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{handler.Method.Path}: the request is {size} bytes; this service accepts at most {_maxRequestBytes}."), [new Metadata.Entry(WireHeaders.RetryPushback, "-1")]));
            return;
        }

        if (!TryEnter(handler.IsStreaming))
        {
            var limit = handler.IsStreaming ? _options.MaxConcurrentStreams : _options.MaxConcurrentCalls;
            MeshTelemetry.RecordShed(handler.Method);
            Log.Shedding(Logger, Definition.FullName, limit, handler.Method.Path);
            // A slot frees when a call ends; the pushback tells a client that retries RESOURCE_EXHAUSTED when.
            Reject(replyTo, new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{Definition.FullName} is at its limit of {limit} concurrent {(handler.IsStreaming ? "streams" : "calls")} on this instance; retry with backoff."),
                _shedPushback is null ? Metadata.Empty : [new Metadata.Entry(WireHeaders.RetryPushback, _shedPushback)]));
            return;
        }

        // Off the socket reader, so a slow or CPU-bound handler never holds up the next message.
        ThreadPool.UnsafeQueueUserWorkItem(IncomingRequest.Read(this, handler, replyTo, headers, payload), preferLocal: false);
    }

    public async void Run(MethodHandler handler, IncomingRequest request)
    {
        try
        {
            await handler.HandleAsync(this, request).ConfigureAwait(false);
        }
        finally
        {
            Exit(handler.IsStreaming);
        }
    }

    private void Reject(string replyTo, RpcException error)
    {
        Interlocked.Increment(ref _refusalsUnsent);
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Runner.SendRefusalAsync(state.ReplyTo, state.Error),
            (Runner: this, ReplyTo: replyTo, Error: error), preferLocal: false);
    }

    private async Task SendRefusalAsync(string replyTo, RpcException error)
    {
        try
        {
            await SafeReplyErrorAsync(replyTo, error).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _refusalsUnsent);
            SignalIfDrained();
        }
    }

    private string UnimplementedMessage(ReadOnlySpan<char> methodName)
    {
        var methods = Definition.Descriptor.Methods.Select(m => m.Name).Order(StringComparer.Ordinal).ToList();
        if (!methods.Contains(methodName.ToString(), StringComparer.Ordinal))
        {
            return $"{Definition.FullName} has no method '{methodName}'; it has {string.Join(", ", methods)}.";
        }

        return $"{Definition.FullName}/{methodName} is not implemented: no implementation of {Definition.FullName} runs in this deployment.";
    }

    private bool TryEnter(bool streaming)
    {
        ref var counter = ref streaming ? ref _streamsInFlight : ref _unaryInFlight;
        var limit = streaming ? _options.MaxConcurrentStreams : _options.MaxConcurrentCalls;
        if (Interlocked.Increment(ref counter) > limit)
        {
            Interlocked.Decrement(ref counter);
            return false;
        }

        return true;
    }

    private void Exit(bool streaming)
    {
        ref var counter = ref streaming ? ref _streamsInFlight : ref _unaryInFlight;
        Interlocked.Decrement(ref counter);
        SignalIfDrained();
    }

    private void SignalIfDrained()
    {
        if (_stopping && InFlight == 0)
        {
            _drained.TrySetResult();
        }
    }

    private async ValueTask SafeReplyErrorAsync(string replyTo, RpcException error)
    {
        try
        {
            await ReplyErrorAsync(replyTo, error).ConfigureAwait(false);
        }
        catch (NatsException ex)
        {
            Log.ReplyFailed(Logger, ex, Definition.FullName);
        }
    }

    private async Task ReceiveCancelsAsync(INatsSub<NatsMemoryOwner<byte>> subscription)
    {
        await foreach (var msg in subscription.Msgs.ReadAllAsync().ConfigureAwait(false))
        {
            msg.Data.Dispose();
            if (msg.Headers is not null && msg.Headers.TryGetValue(WireHeaders.CallId, out var id)
                && _cancellable.TryGetValue(id.ToString(), out var context))
            {
                context.Cancellation.CancelByClient();
            }
        }
    }

    private sealed class HandlerFactory(MeshServerOptions options) : IMeshBindingVisitor<MethodHandler>
    {
        public MethodHandler VisitUnary<TRequest, TResponse>(MeshUnaryBinding<TRequest, TResponse> binding)
            where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
            where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
            new UnaryMethodHandler<TRequest, TResponse>(binding, MeshSubjects.For(options.SubjectPrefix, binding.Method), options.Interceptors);

        public MethodHandler VisitServerStreaming<TRequest, TResponse>(MeshServerStreamingBinding<TRequest, TResponse> binding)
            where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
            where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
            new StreamMethodHandler<TRequest, TResponse>(binding, MeshSubjects.For(options.SubjectPrefix, binding.Method), options.Interceptors);
    }
}
