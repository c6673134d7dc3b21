using System.Buffers;
using Google.Protobuf;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>Writes protobuf messages straight into NATS.Net's buffer: no intermediate byte[].</summary>
internal sealed class MessageSerializer<T> : INatsSerialize<T>
    where T : IMessage
{
    public static readonly MessageSerializer<T> Instance = new();

    public void Serialize(IBufferWriter<byte> bufferWriter, T value) => value.WriteTo(bufferWriter);
}

/// <summary>Writes a pre-serialized body (error replies).</summary>
internal sealed class BytesSerializer : INatsSerialize<byte[]>
{
    public static readonly BytesSerializer Instance = new();

    public void Serialize(IBufferWriter<byte> bufferWriter, byte[] value) => bufferWriter.Write(value);
}

/// <summary>Keeps a payload as pooled bytes, so the receiver decides how to parse it once it has read the headers.</summary>
internal static class RawPayload
{
    public static INatsDeserialize<NatsMemoryOwner<byte>> Deserializer => NatsRawSerializer<NatsMemoryOwner<byte>>.Default;

    public static ReadOnlySequence<byte> AsSequence(NatsMemoryOwner<byte> owner) => new(owner.Memory);
}
