using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Primitives;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// Serves one server-streaming method: opens a control inbox, sends the handler's
/// messages in order within the client's credit, exchanges heartbeats, and ends with the
/// final status and the count.
/// </summary>
internal sealed class StreamMethodHandler<TRequest, TResponse> : MethodHandler
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly MeshMethod<TRequest, TResponse> _method;
    private readonly MeshServerStreamingHandler<TRequest, TResponse> _pipeline;

    public StreamMethodHandler(MeshServerStreamingBinding<TRequest, TResponse> binding, string subject, IReadOnlyList<MeshServerInterceptor> interceptors)
        : base(binding.TypedMethod, subject)
    {
        _method = binding.TypedMethod;
        var pipeline = binding.Handler;
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = (request, context) => interceptor.ServerStreamingAsync(request, context, next);
        }

        _pipeline = pipeline;
    }

    public override bool IsStreaming => true;

    public override object ParsePayload(in System.Buffers.ReadOnlySequence<byte> payload) => _method.ParseRequest(payload);

    public override async Task HandleAsync(ServiceRunner runner, IncomingRequest incoming)
    {
        var started = Stopwatch.GetTimestamp();
        var replyTo = incoming.ReplyTo;
        using var activity = StartActivity(_method, incoming);
        var code = StatusCode.OK;
        string? error = null;
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

            var window = Math.Clamp(incoming.StreamWindow ?? 16, 1, WireHeaders.MaxStreamWindow);
            var heartbeat = TimeSpan.FromMilliseconds(Math.Clamp(incoming.StreamHeartbeatMs ?? 5000, WireHeaders.MinStreamHeartbeat.TotalMilliseconds, WireHeaders.MaxStreamHeartbeat.TotalMilliseconds));
            (code, error) = await RunStreamAsync(runner, replyTo, request!, incoming.Deadline, incoming.Metadata, window, heartbeat).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            code = StatusCode.Unavailable;
            error = ex.Message;
            Log.ReplyFailed(runner.Logger, ex, _method.Path);
        }
        finally
        {
            EndActivity(activity, code, error);
            Stats.Record(started, code, error);
            RecordMetrics(_method, started, code);
        }
    }

    private async Task<(StatusCode Code, string? Error)> RunStreamAsync(
        ServiceRunner runner, string replyTo, TRequest request, DateTime deadline, Metadata metadata, int window, TimeSpan heartbeat)
    {
        var connection = runner.Connection;
        using var context = runner.CreateContext(_method, deadline, metadata);
        var cts = context.Cancellation;
        using var credit = new SemaphoreSlim(window, int.MaxValue);
        var control = connection.NewInbox();
        var controlSub = await connection.SubscribeCoreAsync(control, serializer: RawPayload.Deserializer).ConfigureAwait(false);
        await using var controlSubScope = controlSub.ConfigureAwait(false);
        var lastHeard = Stopwatch.GetTimestamp();
        var lastSent = Stopwatch.GetTimestamp();
        var clientGone = false;

        await connection.PublishAsync(replyTo, headers: new NatsHeaders
        {
            [WireHeaders.Stream] = WireHeaders.StreamOpen,
            [WireHeaders.Control] = control,
            [WireHeaders.Window] = window.ToString(CultureInfo.InvariantCulture),
            [WireHeaders.Heartbeat] = ((long)heartbeat.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        }).ConfigureAwait(false);

        // Control messages: credit, heartbeats and cancellation from the client.
        var controlLoop = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in controlSub.Msgs.ReadAllAsync(cts.Token).ConfigureAwait(false))
                {
                    message.Data.Dispose();
                    Volatile.Write(ref lastHeard, Stopwatch.GetTimestamp());
                    switch (Header(message.Headers, WireHeaders.Stream))
                    {
                        case WireHeaders.StreamCredit:
                            // Credit past what the semaphore counts is more than any stream
                            // uses; over-granting must not end this loop, or the client's
                            // cancels and heartbeats would go unheard.
                            var granted = Math.Min(ReadInt(message.Headers, WireHeaders.Credit, 0), WireHeaders.MaxStreamWindow);
                            if (granted > 0 && credit.CurrentCount <= int.MaxValue - granted)
                            {
                                credit.Release(granted);
                            }

                            break;
                        case WireHeaders.StreamCancel:
                            cts.CancelByClient();
                            break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        // Liveness both ways: our idle heartbeats, and the client's, whose absence for three
        // intervals ends the stream.
        var liveness = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(heartbeat);
            var heartbeatHeaders = new NatsHeaders { [WireHeaders.Stream] = WireHeaders.StreamHeartbeat };
            try
            {
                while (await timer.WaitForNextTickAsync(cts.Token).ConfigureAwait(false))
                {
                    if (Stopwatch.GetElapsedTime(Volatile.Read(ref lastHeard)) > heartbeat * 3)
                    {
                        clientGone = true;
                        Log.StreamClientGone(runner.Logger, _method.Path);
                        await cts.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    if (Stopwatch.GetElapsedTime(Volatile.Read(ref lastSent)) >= heartbeat)
                    {
                        await connection.PublishAsync(replyTo, headers: heartbeatHeaders, cancellationToken: cts.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        long sent = 0;
        RpcException? failure = null;
        try
        {
            await foreach (var item in _pipeline(request, context).WithCancellation(cts.Token).ConfigureAwait(false))
            {
                await credit.WaitAsync(cts.Token).ConfigureAwait(false);
                try
                {
                    await connection.PublishAsync(replyTo, item, new NatsHeaders
                    {
                        [WireHeaders.Sequence] = (sent + 1).ToString(CultureInfo.InvariantCulture),
                        [WireHeaders.ContentType] = WireHeaders.ProtobufContentType,
                    }, serializer: MessageSerializer<TResponse>.Instance).ConfigureAwait(false);
                }
                catch (NatsPayloadTooLargeException ex)
                {
                    throw new RpcException(new Status(StatusCode.ResourceExhausted,
                        $"{_method.Path}: stream message {sent + 1} is larger than the NATS server's max_payload ({ex.Message})."));
                }

                sent++;
                Volatile.Write(ref lastSent, Stopwatch.GetTimestamp());
            }
        }
        catch (Exception ex)
        {
            failure = ToRpcException(ex, _method, runner, context);
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(controlLoop, liveness).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (clientGone)
        {
            return (StatusCode.Cancelled, "client stopped sending heartbeats");
        }

        var end = failure is null
            ? new NatsHeaders()
            : StatusCodec.ErrorHeaders(failure.Status, MergeTrailers(context.TrailersIfAny, failure.Trailers));
        end[WireHeaders.Stream] = WireHeaders.StreamEnd;
        end[WireHeaders.Count] = sent.ToString(CultureInfo.InvariantCulture);
        if (failure is null)
        {
            if (context.TrailersIfAny is { } trailers)
            {
                MetadataCodec.Write(trailers, end, dropReserved: true);
            }

            await connection.PublishAsync(replyTo, headers: end).ConfigureAwait(false);
            return (StatusCode.OK, null);
        }

        await connection.PublishAsync(replyTo, StatusCodec.ErrorBody(failure.Status, failure.Trailers), end, serializer: BytesSerializer.Instance).ConfigureAwait(false);
        return (failure.StatusCode, failure.Status.Detail);
    }

    private static Metadata? MergeTrailers(Metadata? first, Metadata second)
    {
        if (first is null)
        {
            return second;
        }

        var merged = new Metadata();
        foreach (var entry in first)
        {
            merged.Add(entry);
        }

        foreach (var entry in second)
        {
            merged.Add(entry);
        }

        return merged;
    }

    private static string? Header(NatsHeaders? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? value.ToString() : null;

    private static int ReadInt(NatsHeaders? headers, string name, int fallback) =>
        headers is not null && headers.TryGetValue(name, out StringValues value)
            && WireHeaders.TryParseDecimal(value.ToString().AsSpan(), out var parsed)
            ? parsed
            : fallback;
}
