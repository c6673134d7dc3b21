using Grpc.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>What the client needs of a stream to end it from outside: nats-server refused one of its publishes.</summary>
internal interface IRefusableStream
{
    /// <summary>The method subject the stream's request went to.</summary>
    string Subject { get; }

    /// <summary>Where the stream's control messages (credit, heartbeats, cancel) go, once the server opened it.</summary>
    string? Control { get; }

    MeshMethod Method { get; }

    /// <summary>Ends the stream with <paramref name="error"/> at once, instead of at its silence timeout.</summary>
    void Refuse(RpcException error);
}
