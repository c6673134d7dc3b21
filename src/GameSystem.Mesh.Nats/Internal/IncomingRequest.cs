using System.Buffers;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// A request as read on the socket reader: its headers walked once, its payload parsed
/// (as NATS.Net's own subscriptions deserialize there), its deadline counted from arrival.
/// Nothing of the reader's buffers is kept, so nothing is copied or pooled; the call then
/// runs on the thread pool.
/// </summary>
internal sealed class IncomingRequest : IThreadPoolWorkItem
{
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(24);
    private readonly ServiceRunner _runner;
    private readonly MethodHandler _handler;

    private IncomingRequest(ServiceRunner runner, MethodHandler handler, string replyTo)
    {
        _runner = runner;
        _handler = handler;
        ReplyTo = replyTo;
    }

    public string ReplyTo { get; }

    /// <summary>The parsed request message, unless <see cref="Rejection"/> says why there is none.</summary>
    public object? Request { get; private set; }

    /// <summary>Why the call must not run (bad headers, malformed payload, expired deadline), or null.</summary>
    public RpcException? Rejection { get; private set; }

    public DateTime Deadline { get; private set; } = DateTime.MaxValue;

    public Metadata Metadata { get; private set; } = Metadata.Empty;

    public string? CallId { get; private set; }

    public string? TraceParent { get; private set; }

    public string? TraceState { get; private set; }

    public int? StreamWindow { get; private set; }

    public int? StreamHeartbeatMs { get; private set; }

    public static IncomingRequest Read(ServiceRunner runner, MethodHandler handler, string replyTo, in ReadOnlySequence<byte>? headers, in ReadOnlySequence<byte> payload)
    {
        var request = new IncomingRequest(runner, handler, replyTo);
        var method = handler.Method;
        try
        {
            if (headers is { IsEmpty: false } h)
            {
                request.ReadHeaders(new RawHeaders(h.IsSingleSegment ? h.First : h.ToArray()), method);
            }

            if (request.Rejection is null)
            {
                request.Request = handler.ParsePayload(payload);
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            request.Rejection = new RpcException(new Status(StatusCode.InvalidArgument,
                $"{method.Path}: the payload is not a valid {method.Descriptor.InputType.FullName} ({ex.Message})."));
        }
        catch (RpcException ex)
        {
            request.Rejection = ex;
        }

        return request;
    }

    public void Execute() => _runner.Run(_handler, this);

    private void ReadHeaders(RawHeaders headers, MeshMethod method)
    {
        Metadata? metadata = null;
        foreach (var (name, value) in headers)
        {
            if (RawHeaders.Equals(name, WireHeaders.Timeout))
            {
                var text = System.Text.Encoding.ASCII.GetString(value);
                if (!GrpcTimeout.TryParse(text, out var timeout))
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument,
                        $"{method.Path}: grpc-timeout '{text}' is not a valid timeout (digits then one of H M S m u n)."));
                }

                if (timeout <= TimeSpan.Zero)
                {
                    throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                        $"{method.Path}: the deadline had passed when the request arrived; it was not run."));
                }

                // Beyond what a timer can wait, a deadline means "none".
                if (timeout <= MaxTimeout)
                {
                    Deadline = DateTime.UtcNow + timeout;
                }
            }
            else if (RawHeaders.Equals(name, WireHeaders.CallId))
            {
                CallId = System.Text.Encoding.ASCII.GetString(value);
            }
            else if (RawHeaders.Equals(name, WireHeaders.TraceParent))
            {
                TraceParent = System.Text.Encoding.ASCII.GetString(value);
            }
            else if (RawHeaders.Equals(name, WireHeaders.TraceState))
            {
                TraceState = System.Text.Encoding.ASCII.GetString(value);
            }
            else if (RawHeaders.Equals(name, WireHeaders.Window))
            {
                StreamWindow = ReadInt(value);
            }
            else if (RawHeaders.Equals(name, WireHeaders.Heartbeat))
            {
                StreamHeartbeatMs = ReadInt(value);
            }
            else if (!WireHeaders.IsReserved(name))
            {
                metadata ??= [];
                MetadataCodec.Add(metadata, System.Text.Encoding.ASCII.GetString(name), System.Text.Encoding.UTF8.GetString(value));
            }
        }

        Metadata = metadata ?? Metadata.Empty;
    }

    private static int? ReadInt(ReadOnlySpan<byte> value) =>
        WireHeaders.TryParseDecimal(value, out var parsed) ? parsed : null;
}
