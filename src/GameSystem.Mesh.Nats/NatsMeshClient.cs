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
public sealed class NatsMeshClient : IMeshCallInvoker
{
    private readonly INatsConnection _connection;
    private readonly ConcurrentDictionary<MeshMethod, Route> _routes = new();
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

        // Without a caller deadline the timeout is the method's own: its reply options and
        // header text are computed once, not per call.
        var usesDefault = timeout == route.DefaultTimeout;
        var subject = route.Subject;
        var started = Stopwatch.GetTimestamp();
        using var activity = StartActivity(method);
        var headers = RequestHeaders(call.Options.Headers, usesDefault ? route.TimeoutHeader : GrpcTimeout.Format(timeout), activity);

        // Only a call its caller can cancel needs an id the server can match a cancel notice to.
        string? callId = null;
        if (cancellationToken.CanBeCanceled)
        {
            callId = NextCallId();
            headers[WireHeaders.CallId] = callId;
        }

        var status = StatusCode.OK;
        try
        {
            NatsMsg<NatsMemoryOwner<byte>> reply;
            try
            {
                reply = await _connection.RequestAsync(
                    subject,
                    request,
                    headers,
                    MessageSerializer<TRequest>.Instance,
                    RawPayload.Deserializer,
                    replyOpts: usesDefault ? route.ReplyOpts : new NatsSubOpts { Timeout = timeout },
                    cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                AnnounceCancellation(method, callId!);
                throw new RpcException(new Status(StatusCode.Cancelled, $"{method.Path} was cancelled by the caller."));
            }

            using var payload = reply.Data;
            if (reply.Error is { } error)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"{method.Path}: unreadable reply ({error.Message})."));
            }

            if (StatusCodec.TryReadError(reply.Headers, out var code, out var message))
            {
                throw StatusCodec.ToException(code, message, reply.Headers, RawPayload.AsSequence(payload));
            }

            TResponse response;
            try
            {
                response = method.ParseResponse(RawPayload.AsSequence(payload));
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new RpcException(new Status(StatusCode.Internal,
                    $"{method.Path}: the reply is not a valid {method.Descriptor.OutputType.FullName} ({ex.Message})."));
            }

            if (trailers is not null)
            {
                trailers.Value = MetadataCodec.Read(reply.Headers);
            }

            return response;
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw MapTransportException(ex, method, timeout);
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
            if (MeshTelemetry.ClientDuration.Enabled)
            {
                MeshTelemetry.ClientDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>("rpc.method", method.Path),
                    new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)status));
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
        activity?.SetTag("rpc.system", "nats-mesh");
        activity?.SetTag("rpc.service", method.ServiceFullName);
        activity?.SetTag("rpc.method", method.Name);
        return activity;
    }

    internal static RpcException MapTransportException(Exception ex, MeshMethod method, TimeSpan? timeout) => ex switch
    {
        NatsNoRespondersException => new RpcException(new Status(StatusCode.Unavailable,
            $"{method.Path}: no instance of {method.ServiceFullName} is serving (NATS: no responders).")),
        NatsNoReplyException => new RpcException(new Status(StatusCode.DeadlineExceeded,
            $"{method.Path}: no reply within {timeout?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms.")),
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
            ReplyOpts = new NatsSubOpts { Timeout = DefaultTimeout };
        }

        public string Subject { get; }

        public TimeSpan DefaultTimeout { get; }

        public string TimeoutHeader { get; }

        public NatsSubOpts ReplyOpts { get; }
    }
}
