using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using GameSystem.Mesh.Nats.Internal;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats;

/// <summary>
/// Makes mesh calls over NATS: the client half of docs/wire-protocol.md. Thread-safe;
/// share one per connection.
/// </summary>
public sealed class NatsMeshClient : IMeshCallInvoker, IAsyncDisposable
{
    private readonly INatsConnection _connection;
    private readonly ConcurrentDictionary<MeshMethod, Route> _routes = new();
    private Task<ReplyInbox>? _inbox;
    private readonly string _clientId = Guid.NewGuid().ToString("N");
    private long _callSequence;

    /// <summary>Creates a client on an open (or opening) NATS connection.</summary>
    public NatsMeshClient(INatsConnection connection, MeshClientOptions? options = null)
    {
        _connection = connection ?? throw new ArgumentNullException(nameof(connection));
        Options = options ?? MeshClientOptions.Default;
        if (Options.StreamWindow is < 2 or > WireHeaders.MaxStreamWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"StreamWindow must be between 2 and {WireHeaders.MaxStreamWindow}.");
        }

        // A server would clamp anything else, and until its open says so the client keeps
        // its own interval for the silence it allows.
        if (Options.StreamHeartbeat < WireHeaders.MinStreamHeartbeat || Options.StreamHeartbeat > WireHeaders.MaxStreamHeartbeat)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "StreamHeartbeat must be between 50 ms and 60 s (what a server accepts).");
        }

        if (Options.MaxRetryAttempts < 0 || Options.RetryBackoff < TimeSpan.Zero || Options.DefaultTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options),
                "MaxRetryAttempts and RetryBackoff must not be negative; DefaultTimeout must be positive.");
        }
    }

    /// <summary>The options in force.</summary>
    public MeshClientOptions Options { get; }

    /// <inheritdoc/>
    public ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(
        MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        var call = new MeshClientCall<TRequest, TResponse>(method, options);

        // The common path: no interceptor, no interest in trailers, one state machine per call.
        return Options.Interceptors.IsEmpty
            ? UnaryCoreAsync(request, call, trailers: null)
            : MessageOfAsync(Intercepted<TRequest, TResponse>()(request, call));
    }

    /// <inheritdoc/>
    public ValueTask<MeshResponse<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(
        MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        var call = new MeshClientCall<TRequest, TResponse>(method, options);
        return Options.Interceptors.IsEmpty ? UnaryWithTrailersAsync(request, call) : Intercepted<TRequest, TResponse>()(request, call);
    }

    /// <inheritdoc/>
    public IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(
        MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        var call = new MeshClientCall<TRequest, TResponse>(method, options);
        MeshServerStreamingContinuation<TRequest, TResponse> next = (r, c) => ServerStreamingCoreAsync(r, c, c.Options.CancellationToken);
        var interceptors = Options.Interceptors;
        for (var i = interceptors.Length - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = (r, c) => interceptor.ServerStreamingAsync(r, c, inner);
        }

        return next(request, call);
    }

    private static async ValueTask<TResponse> MessageOfAsync<TResponse>(ValueTask<MeshResponse<TResponse>> call) =>
        (await call.ConfigureAwait(false)).Message;

    private MeshUnaryContinuation<TRequest, TResponse> Intercepted<TRequest, TResponse>()
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        MeshUnaryContinuation<TRequest, TResponse> next = UnaryWithTrailersAsync;
        var interceptors = Options.Interceptors;
        for (var i = interceptors.Length - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = (r, c) => interceptor.UnaryAsync(r, c, inner);
        }

        return next;
    }

    private async ValueTask<MeshResponse<TResponse>> UnaryWithTrailersAsync<TRequest, TResponse>(TRequest request, MeshClientCall<TRequest, TResponse> call)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var trailers = new StrongBox<Metadata>(Metadata.Empty);
        var message = await UnaryCoreAsync(request, call, trailers).ConfigureAwait(false);
        return new MeshResponse<TResponse>(message, trailers.Value!);
    }

    private async ValueTask<TResponse> UnaryCoreAsync<TRequest, TResponse>(
        TRequest request, MeshClientCall<TRequest, TResponse> call, StrongBox<Metadata>? trailers)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = call.Method;
        var cancellationToken = call.Options.CancellationToken;
        var route = RouteOf(method);
        var timeout = ResolveTimeout(method, call.Options.Deadline, Options.DefaultTimeout)
            ?? throw DeadlineExceeded(method);
        if (cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller before it was sent."));
        }

        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(method);

        // Only a call its caller can cancel needs an id the server can match a cancel notice to.
        var callId = cancellationToken.CanBeCanceled ? NextCallId() : null;

        // Without metadata, trace, call id or caller deadline, the headers are the method's
        // own and were built once.
        var headers = call.Options.Headers is null && activity is null && Activity.Current is null && callId is null && timeout == route.DefaultTimeout
            ? route.DefaultHeaders
            : RequestHeaders(call.Options.Headers, timeout == route.DefaultTimeout ? route.TimeoutHeader : GrpcTimeout.Format(timeout), activity);
        if (callId is not null)
        {
            headers[WireHeaders.CallId] = callId;
        }

        var status = StatusCode.OK;
        var inbox = await InboxAsync().ConfigureAwait(false);
        var deadline = started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var cancellation = default(CancellationTokenRegistration);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var pending = new PendingReply<TRequest, TResponse>(method, deadline, trailers is not null);
                var replyTo = inbox.Register(pending);
                if (cancellationToken.CanBeCanceled)
                {
                    await cancellation.DisposeAsync().ConfigureAwait(false);
                    cancellation = cancellationToken.UnsafeRegister(static state =>
                    {
                        var (client, inbox, pending, callId) = ((NatsMeshClient, ReplyInbox, PendingReply, string))state!;
                        if (inbox.Remove(pending))
                        {
                            pending.Fail(new RpcException(new Status(StatusCode.Cancelled, $"{pending.Method.Path} was cancelled by the caller.")));
                            client.AnnounceCancellation(pending.Method, callId);
                        }
                    }, (this, inbox, (PendingReply)pending, callId!));
                }

                try
                {
                    try
                    {
                        await _connection.PublishAsync(route.Subject, request, headers, replyTo, MessageSerializer<TRequest>.Instance, cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        inbox.Remove(pending);
                        throw new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller before it was sent."));
                    }
                    catch (Exception ex) when (ex is not RpcException)
                    {
                        inbox.Remove(pending);
                        throw MapTransportException(ex, method);
                    }

                    var response = await pending.Task.ConfigureAwait(false);
                    if (trailers is not null)
                    {
                        trailers.Value = pending.Trailers;
                    }

                    return response;
                }
                catch (RpcException ex) when (RetryDelay(method, ex, attempt, deadline, cancellationToken) is { } delay)
                {
                    // The contract says a retry is harmless, and nobody was there to serve it.
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        throw new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller."));
                    }
                }
            }
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
            activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
            throw;
        }
        finally
        {
            await cancellation.DisposeAsync().ConfigureAwait(false);
            activity?.SetTag("rpc.grpc.status_code", (int)status);
            MeshTelemetry.RecordClientCall(method, Stopwatch.GetElapsedTime(started), status);
        }
    }

    /// <summary>
    /// How long to wait before retrying, or null for no retry: only UNAVAILABLE (no
    /// instance serving, or the one reached was stopping) on a method whose contract
    /// declares it retry-safe, within the attempts and the deadline left.
    /// </summary>
    private TimeSpan? RetryDelay(MeshMethod method, RpcException error, int attempt, long deadline, CancellationToken cancellationToken)
    {
        if (error.StatusCode != StatusCode.Unavailable || !method.IsRetrySafe || attempt >= Options.MaxRetryAttempts || cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        // Exponential backoff with ±20 % jitter, so instances restarting together are not hit in step.
        var delay = Options.RetryBackoff * Math.Pow(2, attempt) * (0.8 + (Random.Shared.NextDouble() * 0.4));
        var left = TimeSpan.FromSeconds((deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
        return delay < left ? delay : null;
    }

    private ValueTask<ReplyInbox> InboxAsync()
    {
        var task = Volatile.Read(ref _inbox);
        if (task is { IsCompletedSuccessfully: true })
        {
            return new ValueTask<ReplyInbox>(task.Result);
        }

        if (task is null || task.IsFaulted || task.IsCanceled)
        {
            var created = ReplyInbox.CreateAsync(_connection);
            task = Interlocked.CompareExchange(ref _inbox, created, task) == task ? created : Volatile.Read(ref _inbox)!;
        }

        return new ValueTask<ReplyInbox>(task);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _inbox, null) is { } task)
        {
            try
            {
                var inbox = await task.ConfigureAwait(false);
                await inbox.DisposeAsync().ConfigureAwait(false);
            }
            catch (NatsException)
            {
                // The connection is gone, and the subscription with it.
            }
        }
    }

    private void AnnounceCancellation(MeshMethod method, string callId)
    {
        var notice = new NatsHeaders { [WireHeaders.CallId] = callId };
        var subject = MeshSubjects.Cancel(Options.SubjectPrefix, method.ServiceFullName);

        // Best effort and off the caller's path: the call is already cancelled locally and
        // its deadline still bounds it on the server if the notice is lost.
        _ = Task.Run(async () =>
        {
            try
            {
                await _connection.PublishAsync(subject, headers: notice).ConfigureAwait(false);
            }
            catch (NatsException)
            {
            }
        });
    }

    private string NextCallId() =>
        string.Create(CultureInfo.InvariantCulture, $"{_clientId}.{Interlocked.Increment(ref _callSequence)}");

    private async IAsyncEnumerable<TResponse> ServerStreamingCoreAsync<TRequest, TResponse>(
        TRequest request, MeshClientCall<TRequest, TResponse> call, [EnumeratorCancellation] CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var stream = new ClientStream<TRequest, TResponse>(_connection, call, SubjectOf(call.Method), Options, cancellationToken);
        await using var streamScope = stream.ConfigureAwait(false);
        await stream.StartAsync(request).ConfigureAwait(false);
        while (await stream.MoveNextAsync().ConfigureAwait(false))
        {
            yield return stream.Current;
        }
    }

    internal static TimeSpan? ResolveTimeout(MeshMethod method, DateTime? deadline, TimeSpan fallback)
    {
        if (deadline is { } d && d != DateTime.MaxValue)
        {
            var remaining = d.ToUniversalTime() - DateTime.UtcNow;
            return remaining > TimeSpan.Zero ? remaining : null;
        }

        return method.DefaultTimeout ?? fallback;
    }

    internal static RpcException DeadlineExceeded(MeshMethod method) =>
        new(new Status(StatusCode.DeadlineExceeded, $"{method.Path}: the deadline passed before the call completed."));

    internal static NatsHeaders RequestHeaders(Metadata? metadata, string? timeout, Activity? activity)
    {
        var headers = new NatsHeaders { [WireHeaders.ContentType] = WireHeaders.ProtobufContentType };
        if (timeout is not null)
        {
            headers[WireHeaders.Timeout] = timeout;
        }

        var context = activity?.Context ?? Activity.Current?.Context;
        if (context is { } ctx && ctx.TraceId != default)
        {
            headers[WireHeaders.TraceParent] = string.Create(CultureInfo.InvariantCulture,
                $"00-{ctx.TraceId.ToHexString()}-{ctx.SpanId.ToHexString()}-{((ctx.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}");
            if (!string.IsNullOrEmpty(ctx.TraceState))
            {
                headers[WireHeaders.TraceState] = ctx.TraceState;
            }
        }

        MetadataCodec.Write(metadata, headers);
        return headers;
    }

    internal static Activity? StartActivity(MeshMethod method)
    {
        if (!MeshTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = MeshTelemetry.ActivitySource.StartActivity(method.Path.TrimStart('/'), ActivityKind.Client);
        activity?.SetTag("rpc.system", MeshTelemetry.RpcSystem);
        activity?.SetTag("rpc.service", method.ServiceFullName);
        activity?.SetTag("rpc.method", method.Name);
        return activity;
    }

    // What publishing or subscribing can throw; replies and their absence are read by the
    // reply inbox and the stream reader themselves.
    internal static RpcException MapTransportException(Exception ex, MeshMethod method) => ex switch
    {
        NatsPayloadTooLargeException => new RpcException(new Status(StatusCode.ResourceExhausted,
            $"{method.Path}: the request is larger than the NATS server's max_payload ({ex.Message}).")),
        NatsException => new RpcException(new Status(StatusCode.Unavailable, $"{method.Path}: NATS transport error ({ex.Message}).")),
        _ => new RpcException(new Status(StatusCode.Internal, $"{method.Path}: client error ({ex.GetType().Name}: {ex.Message})."), ex.Message),
    };

    private string SubjectOf(MeshMethod method) => RouteOf(method).Subject;

    private Route RouteOf(MeshMethod method) =>
        _routes.GetOrAdd(method, static (m, options) => new Route(m, options), Options);

    /// <summary>What a client computes once per method.</summary>
    private sealed class Route
    {
        public Route(MeshMethod method, MeshClientOptions options)
        {
            Subject = MeshSubjects.For(options.SubjectPrefix, method);
            DefaultTimeout = method.DefaultTimeout ?? options.DefaultTimeout;
            TimeoutHeader = GrpcTimeout.Format(DefaultTimeout);
            DefaultHeaders = new NatsHeaders
            {
                [WireHeaders.ContentType] = WireHeaders.ProtobufContentType,
                [WireHeaders.Timeout] = TimeoutHeader,
            };
        }

        public string Subject { get; }

        public TimeSpan DefaultTimeout { get; }

        public string TimeoutHeader { get; }

        /// <summary>Headers of a call with nothing but the method's own timeout; shared, never modified.</summary>
        public NatsHeaders DefaultHeaders { get; }
    }
}
