using System.Buffers;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// A request copied off the socket reader (its buffers are the reader's) into pooled
/// arrays, queued to the thread pool, and returned to the pool once handled.
/// </summary>
internal sealed class IncomingRequest : IThreadPoolWorkItem
{
    private readonly ServiceRunner _runner;
    private readonly MethodHandler _handler;
    private byte[]? _headers;
    private byte[]? _payload;
    private readonly int _headersLength;
    private readonly int _payloadLength;

    public IncomingRequest(ServiceRunner runner, MethodHandler handler, string replyTo, in ReadOnlySequence<byte>? headers, in ReadOnlySequence<byte> payload)
    {
        _runner = runner;
        _handler = handler;
        ReplyTo = replyTo;
        if (headers is { IsEmpty: false } h)
        {
            _headersLength = (int)h.Length;
            _headers = ArrayPool<byte>.Shared.Rent(_headersLength);
            h.CopyTo(_headers);
        }

        _payloadLength = (int)payload.Length;
        _payload = ArrayPool<byte>.Shared.Rent(Math.Max(1, _payloadLength));
        payload.CopyTo(_payload);
    }

    public string ReplyTo { get; }

    public RawHeaders Headers => new(_headers is null ? ReadOnlyMemory<byte>.Empty : _headers.AsMemory(0, _headersLength));

    public ReadOnlySequence<byte> Payload => _payload is null ? ReadOnlySequence<byte>.Empty : new(_payload, 0, _payloadLength);

    public void Execute() => _runner.Run(_handler, this);

    /// <summary>Gives the payload back once it is parsed; the headers stay until the call ends.</summary>
    public void ReleasePayload()
    {
        if (_payload is { } payload)
        {
            _payload = null;
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    public void Release()
    {
        ReleasePayload();
        if (_headers is { } headers)
        {
            _headers = null;
            ArrayPool<byte>.Shared.Return(headers);
        }
    }
}
