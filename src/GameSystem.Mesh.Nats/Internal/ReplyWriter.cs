using System.Buffers;
using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// Publishes the unary replies of one service. Handlers finish on many threads at once;
/// publishing from all of them makes them queue on the connection's write lock, which
/// under load costs more than the publish itself. Here a finishing handler enqueues its
/// reply, and whichever thread finds no publisher running becomes it and drains the queue:
/// alone, a handler publishes its own reply at once; under load, one thread publishes for
/// all and the others return.
/// </summary>
internal sealed class ReplyWriter(INatsConnection connection, ILogger logger)
{
    private readonly ConcurrentQueue<Reply> _replies = new();
    private int _publishing;
    private volatile Task _current = Task.CompletedTask;

    public void Send(string replyTo, IMessage message, NatsHeaders? headers)
    {
        _replies.Enqueue(new Reply(replyTo, message, headers));
        if (Interlocked.CompareExchange(ref _publishing, 1, 0) == 0)
        {
            _current = DrainAsync();
        }
    }

    /// <summary>Waits until every queued reply is sent.</summary>
    public async Task FlushAsync()
    {
        while (!_replies.IsEmpty || Volatile.Read(ref _publishing) != 0)
        {
            await _current.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await Task.Yield();
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            while (_replies.TryDequeue(out var reply))
            {
                await PublishAsync(reply).ConfigureAwait(false);
            }

            Volatile.Write(ref _publishing, 0);

            // A reply enqueued after the last dequeue but before the release has no publisher yet.
            if (_replies.IsEmpty || Interlocked.CompareExchange(ref _publishing, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private async ValueTask PublishAsync(Reply reply)
    {
        try
        {
            try
            {
                await connection.PublishAsync(reply.ReplyTo, reply.Message, reply.Headers, serializer: AnyMessageSerializer.Instance).ConfigureAwait(false);
            }
            catch (NatsPayloadTooLargeException ex)
            {
                // The response fit, its trailers did not: the caller still gets an answer.
                var status = new Grpc.Core.Status(Grpc.Core.StatusCode.ResourceExhausted, $"The reply is larger than the NATS server's max_payload ({ex.Message}).");
                await connection.PublishAsync(reply.ReplyTo, StatusCodec.ErrorBody(status, null), StatusCodec.ErrorHeaders(status, null), serializer: BytesSerializer.Instance).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Whatever one reply hits must not stop the replies queued behind it; its caller
            // sees its deadline pass.
            Log.ReplyFailed(logger, ex, reply.ReplyTo);
        }
    }

    private readonly record struct Reply(string ReplyTo, IMessage Message, NatsHeaders? Headers);

    private sealed class AnyMessageSerializer : INatsSerialize<IMessage>
    {
        public static readonly AnyMessageSerializer Instance = new();

        public void Serialize(IBufferWriter<byte> bufferWriter, IMessage value) => value.WriteTo(bufferWriter);
    }
}
