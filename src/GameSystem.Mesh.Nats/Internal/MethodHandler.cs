using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>Serves one method: parses, runs the interceptors and the service, replies.</summary>
internal abstract class MethodHandler(MeshMethod method, string subject)
{
    public MeshMethod Method { get; } = method;

    public string Subject { get; } = subject;

    public EndpointStats Stats { get; } = new();

    public abstract bool IsStreaming { get; }

    /// <summary>Runs the call; never throws (every failure becomes an error reply).</summary>
    public abstract Task HandleAsync(ServiceRunner runner, IncomingRequest request);

    protected static void RecordMetrics(MeshMethod method, long started, StatusCode code) =>
        MeshTelemetry.RecordServerCall(method, Stopwatch.GetElapsedTime(started), code);

    protected static Activity? StartActivity(MeshMethod method, IncomingRequest incoming)
    {
        if (!MeshTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        ActivityContext parent = default;
        if (incoming.TraceParent is { } traceParent)
        {
            ActivityContext.TryParse(traceParent, incoming.TraceState, isRemote: true, out parent);
        }

        var activity = MeshTelemetry.ActivitySource.StartActivity(method.Path.TrimStart('/'), ActivityKind.Server, parent);
        activity?.SetTag("rpc.system", MeshTelemetry.RpcSystem);
        activity?.SetTag("rpc.service", method.ServiceFullName);
        activity?.SetTag("rpc.method", method.Name);
        return activity;
    }

    /// <summary>
    /// Ends a server span with the call's status: <c>rpc.grpc.status_code</c> always, and an
    /// error status for the codes the OpenTelemetry gRPC conventions count as a server's fault
    /// (a NOT_FOUND or INVALID_ARGUMENT is the caller's, and leaves the server span unset).
    /// </summary>
    protected static void EndActivity(Activity? activity, StatusCode code, string? error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("rpc.grpc.status_code", (int)code);
        if (code is StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Unimplemented or StatusCode.Internal or StatusCode.Unavailable or StatusCode.DataLoss)
        {
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
    }

    /// <summary>Parses a request payload on the socket reader; throws InvalidProtocolBufferException.</summary>
    public abstract object ParsePayload(in System.Buffers.ReadOnlySequence<byte> payload);

    /// <summary>
    /// The request a call runs with, or why it must not run: what the socket reader already
    /// found (bad headers, malformed payload, expired deadline), then unset REQUIRED fields.
    /// </summary>
    protected TRequest? Admit<TRequest>(IncomingRequest incoming, out RpcException? rejection)
        where TRequest : class, IMessage
    {
        var request = incoming.Request as TRequest;
        rejection = incoming.Rejection
            ?? (Method.FindMissingRequiredField(request!) is { } missing
                ? MeshStatus.InvalidArgument(missing, $"is required by {Method.Path}.")
                : null);
        return rejection is null ? request : null;
    }

    /// <summary>Turns what a handler threw into the status the caller sees, without leaking internals.</summary>
    protected static RpcException ToRpcException(Exception exception, MeshMethod method, ServiceRunner runner, NatsServerCallContext context)
    {
        switch (exception)
        {
            case RpcException rpc:
                return rpc;
            case OperationCanceledException when context.IsCancellationRequested:
                if (context.Cancellation.ByClient)
                {
                    return new RpcException(new Status(StatusCode.Cancelled, $"{method.Path}: the caller cancelled the call."));
                }

                return runner.IsStopping
                    ? new RpcException(new Status(StatusCode.Unavailable, $"{method.Path}: the service instance is shutting down; retry."))
                    : new RpcException(new Status(StatusCode.DeadlineExceeded, $"{method.Path}: the deadline passed while the call ran."));
            case NotImplementedException:
                return new RpcException(new Status(StatusCode.Unimplemented, $"{method.Path} is not implemented."));
            default:
                var errorId = Guid.NewGuid().ToString("N")[..12];
                Log.HandlerFailed(runner.Logger, exception, method.Path, errorId);
                return new RpcException(new Status(StatusCode.Internal,
                    string.Create(CultureInfo.InvariantCulture, $"{method.Path} failed with an internal error (error id {errorId}; the service log has the details).")));
        }
    }
}

internal sealed class UnaryMethodHandler<TRequest, TResponse> : MethodHandler
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly NatsHeaders SuccessHeaders = new() { [WireHeaders.ContentType] = WireHeaders.ProtobufContentType };
    private static readonly int SuccessHeaderBytes = HeaderBytes(SuccessHeaders);
    private readonly MeshMethod<TRequest, TResponse> _method;
    private readonly MeshUnaryHandler<TRequest, TResponse> _pipeline;

    public UnaryMethodHandler(MeshUnaryBinding<TRequest, TResponse> binding, string subject, IReadOnlyList<MeshServerInterceptor> interceptors)
        : base(binding.TypedMethod, subject)
    {
        _method = binding.TypedMethod;

        // The interceptor chain is composed once, not per call.
        var pipeline = binding.Handler;
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = (request, context) => interceptor.UnaryAsync(request, context, next);
        }

        _pipeline = pipeline;
    }

    public override bool IsStreaming => false;

    public override object ParsePayload(in System.Buffers.ReadOnlySequence<byte> payload) => _method.ParseRequest(payload);

    // "NATS/1.0\r\n", each "Name: value\r\n", and the closing "\r\n".
    private static int HeaderBytes(NatsHeaders headers)
    {
        var bytes = 12;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                bytes += name.Length + (value?.Length ?? 0) + 4;
            }
        }

        return bytes;
    }

    public override async Task HandleAsync(ServiceRunner runner, IncomingRequest incoming)
    {
        var started = Stopwatch.GetTimestamp();
        var replyTo = incoming.ReplyTo;
        using var activity = StartActivity(_method, incoming);
        var code = StatusCode.OK;
        string? error = null;
        NatsServerCallContext? context = null;
        string? callId = null;
        try
        {
            var request = Admit<TRequest>(incoming, out var rejection);
            if (rejection is not null)
            {
                code = rejection.StatusCode;
                error = rejection.Status.Detail;
                await runner.ReplyErrorAsync(replyTo, rejection).ConfigureAwait(false);
                return;
            }

            var deadline = incoming.Deadline;
            context = runner.CreateContext(_method, deadline, incoming.Metadata);
            callId = runner.RegisterCancellable(incoming.CallId, context);
            TResponse response;
            try
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"{_method.Path}: the deadline passed before the call started; it was not run."));
                }

                response = await _pipeline(request!, context).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var rpc = ToRpcException(ex, _method, runner, context);
                code = rpc.StatusCode;
                error = rpc.Status.Detail;
                await runner.ReplyErrorAsync(replyTo, rpc, context.TrailersIfAny).ConfigureAwait(false);
                return;
            }

            var headers = SuccessHeaders;
            if (context.TrailersIfAny is { } trailers)
            {
                headers = new NatsHeaders { [WireHeaders.ContentType] = WireHeaders.ProtobufContentType };
                MetadataCodec.Write(trailers, headers, dropReserved: true);
            }

            // Checked here, where the status is still ours to set: NATS refuses the message otherwise.
            var size = response.CalculateSize() + (ReferenceEquals(headers, SuccessHeaders) ? SuccessHeaderBytes : HeaderBytes(headers));
            if (size > runner.MaxPayload)
            {
                code = StatusCode.ResourceExhausted;
                error = $"{_method.Path}: the response is {size} bytes, larger than the NATS server's max_payload of {runner.MaxPayload}.";
                await runner.ReplyErrorAsync(replyTo, new RpcException(new Status(code, error))).ConfigureAwait(false);
                return;
            }

            runner.Replies.Send(replyTo, response, headers);
        }
        catch (Exception ex)
        {
            // Only an error reply can fail here (the connection went away).
            code = StatusCode.Unavailable;
            error = ex.Message;
            Log.ReplyFailed(runner.Logger, ex, _method.Path);
        }
        finally
        {
            runner.Unregister(callId);
            context?.Dispose();
            EndActivity(activity, code, error);
            Stats.Record(started, code, error);
            RecordMetrics(_method, started, code);
        }
    }
}
