using GameSystem.Mesh;
using Grpc.Core;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>The statuses event-bus answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>How to turn JetStream on, said wherever its absence is reported.</summary>
    public const string EnableJetStream = "start nats-server with -js (and -sd <store dir>; eng/run-mesh.sh does both), or enable JetStream for this account in the server configuration";

    /// <summary>INVALID_ARGUMENT naming <paramref name="field"/>, with a google.rpc.BadRequest field violation.</summary>
    public static RpcException InvalidArgument(string field, string description) => MeshStatus.InvalidArgument(field, description);

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Unavailable(string message) => new(new Status(StatusCode.Unavailable, message));

    public static RpcException Aborted(string message) => new(new Status(StatusCode.Aborted, message));

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string field, string description)
    {
        if (!condition)
        {
            throw InvalidArgument(field, description);
        }
    }
}
