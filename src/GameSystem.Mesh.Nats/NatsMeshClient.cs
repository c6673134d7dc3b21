using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using GameSystem.Mesh.Nats.Internal;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using Polly;
using Polly.CircuitBreaker;

namespace GameSystem.Mesh.Nats;

/// <summary>
/// Makes mesh calls over NATS: the client half of docs/wire-protocol.md. Thread-safe;
/// share one per connection. Unary calls go through a Polly pipeline per target service
/// (<see cref="MeshClientOptions.Resilience"/>): retries of retry-safe methods, optional
/// hedging, and a circuit breaker.
/// </summary>
public sealed class NatsMeshClient : IMeshCallInvoker, IAsyncDisposable
{
    private readonly INatsConnection _connection;
    private readonly ConcurrentDictionary<MeshMethod, Route> _routes = new();
    private readonly ConcurrentDictionary<string, ServiceResilience> _resilience = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private Task<ReplyInbox>? _inbox;

    // Open server streams, so that a publish nats-server refuses ends the stream it belongs to.
    private readonly ConcurrentDictionary<IRefusableStream, byte> _streams = new();
    private readonly string _clientId = Guid.NewGuid().ToString("N");
    private long _callSequence;

    /// <summary>Creates a client on an open (or opening) NATS connection.</summary>
    /// <param name="connection">The connection calls go out on.</param>
    /// <param name="options">How calls are made; <see cref="MeshClientOptions.Default"/> when null.</param>
    /// <param name="loggerFactory">Where circuit breaker state changes are logged.</param>
    public NatsMeshClient(INatsConnection connection, MeshClientOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _connection = connection ?? throw new ArgumentNullException(nameof(connection));
        Options = options ?? MeshClientOptions.Default;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<NatsMeshClient>();
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

        if (Options.DefaultTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "DefaultTimeout must be positive.");
        }

        ArgumentNullException.ThrowIfNull(Options.TimeProvider, "options.TimeProvider");
        foreach (var (service, resilience) in Options.ServiceResilience.Prepend(new(string.Empty, Options.Resilience)))
        {
            if (resilience?.Problem() is { } problem)
            {
                throw new ArgumentOutOfRangeException(nameof(options), $"{(service.Length == 0 ? "Resilience" : $"ServiceResilience[{service}]")}: {problem}");
            }

            ArgumentNullException.ThrowIfNull(resilience, $"options.ServiceResilience[{service}]");
        }

        MeshTelemetry.ReportCircuits(this, CircuitStates);

        _connection.ServerError += OnServerErrorAsync;
    }

    /// <summary>
    /// The state of this client's circuit breaker for <paramref name="serviceFullName"/>:
    /// <see cref="MeshCircuitState.Closed"/> until a call to it has failed enough to open it.
    /// </summary>
    public MeshCircuitState CircuitStateOf(string serviceFullName)
    {
        ArgumentNullException.ThrowIfNull(serviceFullName);
        return _resilience.TryGetValue(serviceFullName, out var resilience) ? resilience.State : MeshCircuitState.Closed;
    }

    private IEnumerable<KeyValuePair<string, MeshCircuitState>> CircuitStates() =>
        _resilience.Select(static p => new KeyValuePair<string, MeshCircuitState>(p.Key, p.Value.State));

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

        // Without metadata, trace, caller deadline or a token to cancel with (whose call id each
        // attempt adds), the headers are the method's own and were built once.
        var headers = call.Options.Headers is null && activity is null && Activity.Current is null && !cancellationToken.CanBeCanceled && timeout == route.DefaultTimeout
            ? route.DefaultHeaders
            : RequestHeaders(call.Options.Headers, timeout == route.DefaultTimeout ? route.TimeoutHeader : GrpcTimeout.Format(timeout), activity);

        var status = StatusCode.OK;
        var pendingInbox = InboxAsync();
        var inbox = pendingInbox.IsCompletedSuccessfully ? pendingInbox.Result : await InboxWithinAsync(pendingInbox, method, timeout, cancellationToken).ConfigureAwait(false);
        var deadline = started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

        // Headers built for this call alone may be completed in place by its (sequential) attempts.
        var attempt = new UnaryAttempt<TRequest, TResponse>(this, method, route.Subject, request, headers, !ReferenceEquals(headers, route.DefaultHeaders), inbox, deadline, trailers);
        try
        {
            if (route.Hedging is { } hedging)
            {
                return await HedgedAsync(hedging, attempt, cancellationToken).ConfigureAwait(false);
            }

            if (route.Pipeline == ResiliencePipeline.Empty)
            {
                return Unwrap(await AttemptAsync(attempt, previousAttempts: 0, context: null, cancellationToken).ConfigureAwait(false), method);
            }

            var context = ResilienceContextPool.Shared.Get(method.Name, cancellationToken);
            Outcome<TResponse> outcome;
            try
            {
                outcome = await route.Pipeline.ExecuteOutcomeAsync(
                    static (context, attempt) => attempt.Client.AttemptAsync(attempt, context.Properties.GetValue(ServiceResilience.PreviousAttempts, 0), context, context.CancellationToken),
                    context,
                    attempt).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }

            return Unwrap(outcome, method);
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
            activity?.SetStatus(ActivityStatusCode.Error, ex.Status.Detail);
            throw;
        }
        finally
        {
            activity?.SetTag("rpc.grpc.status_code", (int)status);
            MeshTelemetry.RecordClientCall(method, Stopwatch.GetElapsedTime(started), status);
        }
    }

    /// <summary>
    /// One attempt of a unary call: publish, then wait for the reply, the deadline or
    /// cancellation. Never throws: a failure is the outcome, for the pipeline to judge.
    /// </summary>
    private async ValueTask<Outcome<TResponse>> AttemptAsync<TRequest, TResponse>(
        UnaryAttempt<TRequest, TResponse> call, int previousAttempts, ResilienceContext? context, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = call.Method;
        var inbox = call.Inbox;

        // Only an attempt its caller (or a winning hedge) can cancel needs an id the server can match a cancel notice to.
        var callId = cancellationToken.CanBeCanceled ? NextCallId() : null;
        var headers = call.Headers;
        if (callId is not null || previousAttempts > 0)
        {
            if (!call.OwnsHeaders)
            {
                headers = new NatsHeaders();
                foreach (var (name, value) in call.Headers)
                {
                    headers[name] = value;
                }
            }

            if (callId is not null)
            {
                headers[WireHeaders.CallId] = callId;
            }

            if (previousAttempts > 0)
            {
                // A later attempt has only what is left of the call's deadline.
                headers[WireHeaders.PreviousRpcAttempts] = previousAttempts.ToString(CultureInfo.InvariantCulture);
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), call.Deadline);
                headers[WireHeaders.Timeout] = GrpcTimeout.Format(left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
            }
        }

        var pending = new PendingReply<TRequest, TResponse>(method, call.Deadline, call.Trailers is not null);
        var cancellation = default(CancellationTokenRegistration);
        try
        {
            var replyTo = inbox.Register(pending);
            if (callId is not null)
            {
                cancellation = cancellationToken.UnsafeRegister(static state =>
                {
                    var (client, inbox, pending, callId) = ((NatsMeshClient, ReplyInbox, PendingReply, string))state!;
                    if (inbox.Remove(pending))
                    {
                        pending.Fail(new RpcException(new Status(StatusCode.Cancelled, $"{pending.Method.Path} was cancelled by the caller.")));
                        client.AnnounceCancellation(pending.Method, callId);
                    }
                }, (this, inbox, (PendingReply)pending, callId));
            }

            try
            {
                if (_connection.ConnectionState == NatsConnectionState.Open)
                {
                    await _connection.PublishAsync(call.Subject, call.Request, headers, replyTo, MessageSerializer<TRequest>.Instance, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                else if (await PublishWhenConnectedAsync(call, headers, replyTo, cancellationToken).ConfigureAwait(false) is { } notSent)
                {
                    inbox.Remove(pending);
                    return Failed<TResponse>(notSent, call.Deadline, context);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                inbox.Remove(pending);
                return Outcome.FromException<TResponse>(new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller before it was sent.")));
            }
            catch (Exception ex) when (ex is not RpcException)
            {
                inbox.Remove(pending);
                return Failed<TResponse>(MapTransportException(ex, method), call.Deadline, context);
            }

            var response = await pending.Task.ConfigureAwait(false);
            if (call.Trailers is not null)
            {
                call.Trailers.Value = pending.Trailers;
            }

            return Outcome.FromResult(response);
        }
        catch (RpcException ex)
        {
            return Failed<TResponse>(ex, call.Deadline, context);
        }
        finally
        {
            await cancellation.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Publishes while the connection is down: NATS.Net waits for the reconnect, which must not
    /// outlast the call's deadline (a call would otherwise wait for as long as NATS is away).
    /// Returns the failure when the deadline passed first; null once the request is sent.
    /// </summary>
    private async ValueTask<RpcException?> PublishWhenConnectedAsync<TRequest, TResponse>(
        UnaryAttempt<TRequest, TResponse> call, NatsHeaders headers, string replyTo, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var state = _connection.ConnectionState;
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), call.Deadline);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(left <= TimeSpan.Zero ? TimeSpan.Zero : left < MaxTimerWait ? left : MaxTimerWait);
        try
        {
            await _connection.PublishAsync(call.Subject, call.Request, headers, replyTo, MessageSerializer<TRequest>.Instance, cancellationToken: bound.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new RpcException(new Status(StatusCode.DeadlineExceeded, NeverSent(call.Method, state)));
        }
    }

    /// <summary>The reply inbox, subscribed on first use: while NATS is away that waits for the reconnect, within the call's deadline.</summary>
    private async ValueTask<ReplyInbox> InboxWithinAsync(ValueTask<ReplyInbox> pending, MeshMethod method, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var state = _connection.ConnectionState;
        try
        {
            return await pending.AsTask().WaitAsync(timeout < MaxTimerWait ? timeout : MaxTimerWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, NeverSent(method, state)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller before it was sent."));
        }
    }

    private static string NeverSent(MeshMethod method, NatsConnectionState state) =>
        $"{method.Path} was never sent: the NATS connection was {state.ToString().ToLowerInvariant()} until the deadline passed.";

    /// <summary>The longest a timer waits (about 24 days); a deadline beyond it means none.</summary>
    internal static readonly TimeSpan MaxTimerWait = TimeSpan.FromDays(24);

    // The retry predicate needs the deadline only after a failure, so a call that succeeds
    // carries nothing in its context.
    private static Outcome<TResponse> Failed<TResponse>(RpcException error, long deadline, ResilienceContext? context)
    {
        context?.Properties.Set(ServiceResilience.Deadline, deadline);
        return Outcome.FromException<TResponse>(error);
    }

    private static T Unwrap<T>(Outcome<T> outcome, MeshMethod method)
    {
        switch (outcome.Exception)
        {
            case null:
                return outcome.Result!;
            case BrokenCircuitException:
                throw CircuitOpen(method);
            case OperationCanceledException:
                throw new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller."));
            default:
                outcome.ThrowIfException();
                throw new UnreachableException();
        }
    }

    internal static RpcException CircuitOpen(MeshMethod method) =>
        new(new Status(StatusCode.Unavailable, $"circuit open for {method.ServiceFullName}"));

    /// <summary>A <c>NO_SIDE_EFFECTS</c> call, hedged: the first acceptable answer of up to 1 + MaxHedgedAttempts attempts.</summary>
    private static async ValueTask<TResponse> HedgedAsync<TRequest, TResponse>(ResiliencePipeline<object> hedging, UnaryAttempt<TRequest, TResponse> call, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var context = ResilienceContextPool.Shared.Get(call.Method.Name, cancellationToken);
        Outcome<object> outcome;
        try
        {
            outcome = await hedging.ExecuteOutcomeAsync(static async (context, call) =>
            {
                // Attempts run at the same time: each has its own headers and trailers.
                var trailers = call.Trailers is null ? null : new StrongBox<Metadata>(Metadata.Empty);
                var result = await call.Client.AttemptAsync(call with { OwnsHeaders = false, Trailers = trailers }, context.Properties.GetValue(ServiceResilience.PreviousAttempts, 0), context, context.CancellationToken).ConfigureAwait(false);
                return result.Exception is { } error ? Outcome.FromException<object>(error)
                    : Outcome.FromResult<object>(trailers is null ? result.Result! : new HedgedReply(result.Result!, trailers.Value!));
            }, context, call).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        var reply = Unwrap(outcome, call.Method);
        if (reply is HedgedReply withTrailers)
        {
            call.Trailers!.Value = withTrailers.Trailers;
            return (TResponse)withTrailers.Response;
        }

        return (TResponse)reply;
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

    // A call the server's permissions refuse fails PERMISSION_DENIED now, not at its deadline.
    private ValueTask OnServerErrorAsync(object? sender, NatsServerErrorEventArgs args)
    {
        if (PermissionViolation.PublishSubject(args.Error) is not { } subject)
        {
            return ValueTask.CompletedTask;
        }

        if (Volatile.Read(ref _inbox) is { IsCompletedSuccessfully: true } inbox)
        {
            inbox.Result.FailWhere(method => RouteOf(method).Subject == subject, method => PermissionViolation.Denied(method, subject));
        }

        // A stream's request, or its credit and heartbeats to the server's control subject.
        foreach (var (stream, _) in _streams)
        {
            if (stream.Subject == subject || stream.Control == subject)
            {
                stream.Refuse(PermissionViolation.Denied(stream.Method, subject));
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        MeshTelemetry.StopReportingCircuits(this);

        _connection.ServerError -= OnServerErrorAsync;
        if (Interlocked.Exchange(ref _inbox, null) is { } task)
        {
            if (task.IsCompleted)
            {
                await DisposeInboxAsync(task).ConfigureAwait(false);
            }
            else
            {
                // Still subscribing: NATS is away and the subscription waits for the reconnect.
                // Disposing must not wait with it; the inbox goes once it exists (or never does).
                _ = DisposeInboxAsync(task);
            }
        }
    }

    private static async Task DisposeInboxAsync(Task<ReplyInbox> task)
    {
        try
        {
            var inbox = await task.ConfigureAwait(false);
            await inbox.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is gone, and the subscription with it.
        }
    }

    private void AnnounceCancellation(MeshMethod method, string callId)
    {
        var notice = new NatsHeaders { [WireHeaders.CallId] = callId };
        var subject = MeshSubjects.Cancel(Options.SubjectPrefix, method.ServiceFullName);

        // Off the caller's path: the call is already cancelled locally and its deadline
        // still bounds it on the server if the notice is lost.
        _ = Task.Run(() => BestEffortNotice.SendAsync(_connection, subject, notice).AsTask());
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
        _streams.TryAdd(stream, 0);
        try
        {
            await stream.StartAsync(request).ConfigureAwait(false);
            while (await stream.MoveNextAsync().ConfigureAwait(false))
            {
                yield return stream.Current;
            }
        }
        finally
        {
            _streams.TryRemove(stream, out _);
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
        _routes.GetOrAdd(method, static (m, client) => new Route(m, client.Options, client.ResilienceOf(m.ServiceFullName)), this);

    // Built once per target service, so every method of it shares one breaker.
    private ServiceResilience ResilienceOf(string serviceFullName) =>
        _resilience.GetOrAdd(serviceFullName, static (name, client) => new ServiceResilience(name, client.Options.ResilienceOf(name), client.Options.TimeProvider, client._logger), this);

    /// <summary>What a client computes once per method.</summary>
    private sealed class Route
    {
        public Route(MeshMethod method, MeshClientOptions options, ServiceResilience resilience)
        {
            Subject = MeshSubjects.For(options.SubjectPrefix, method);
            DefaultTimeout = method.DefaultTimeout ?? options.DefaultTimeout;
            TimeoutHeader = GrpcTimeout.Format(DefaultTimeout);
            DefaultHeaders = new NatsHeaders
            {
                [WireHeaders.ContentType] = WireHeaders.ProtobufContentType,
                [WireHeaders.Timeout] = TimeoutHeader,
            };

            // The contract decides what may be sent twice: NO_SIDE_EFFECTS may be hedged,
            // retry-safe methods retried, anything else only passes the breaker.
            Pipeline = method.IsRetrySafe ? resilience.Retrying : resilience.Plain;
            Hedging = method.Idempotency == Google.Protobuf.Reflection.MethodOptions.Types.IdempotencyLevel.NoSideEffects ? resilience.Hedging : null;
        }

        public string Subject { get; }

        public TimeSpan DefaultTimeout { get; }

        public string TimeoutHeader { get; }

        /// <summary>Headers of a call with nothing but the method's own timeout; shared, never modified.</summary>
        public NatsHeaders DefaultHeaders { get; }

        public ResiliencePipeline Pipeline { get; }

        public ResiliencePipeline<object>? Hedging { get; }
    }

    /// <summary>What every attempt of one unary call shares; a copy per attempt, no allocation.</summary>
    private readonly record struct UnaryAttempt<TRequest, TResponse>(
        NatsMeshClient Client,
        MeshMethod<TRequest, TResponse> Method,
        string Subject,
        TRequest Request,
        NatsHeaders Headers,
        bool OwnsHeaders,
        ReplyInbox Inbox,
        long Deadline,
        StrongBox<Metadata>? Trailers)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>A hedged attempt's response with its own trailers.</summary>
    private sealed record HedgedReply(object Response, Metadata Trailers);
}
