using System.Buffers;
using Google.Protobuf;
using NATS.Client.Core;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// Protobuf for NATS.Net: writes straight into the connection's buffer and parses from the
/// received sequence, so no intermediate array is made on the publish or delivery path.
/// </summary>
internal sealed class ProtobufSerializer<T> : INatsSerialize<T>, INatsDeserialize<T>
    where T : class, IMessage<T>, new()
{
    public static readonly ProtobufSerializer<T> Instance = new();
    private static readonly MessageParser<T> Parser = new(() => new T());

    public void Serialize(IBufferWriter<byte> bufferWriter, T value) => value.WriteTo(bufferWriter);

    // A message that is not a T (published to the stream's subjects by something other than
    // event-bus) surfaces as the message's Error, which delivery reports and skips.
    public T? Deserialize(in ReadOnlySequence<byte> buffer) => Parser.ParseFrom(buffer);
}
