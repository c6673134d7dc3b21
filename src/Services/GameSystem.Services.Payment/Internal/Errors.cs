using GameSystem.Mesh;
using Grpc.Core;

namespace GameSystem.Services.Payment.Internal;

/// <summary>The statuses payment answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>INVALID_ARGUMENT naming <paramref name="field"/>, with a google.rpc.BadRequest field violation.</summary>
    public static RpcException InvalidArgument(string field, string description) => MeshStatus.InvalidArgument(field, description);

    public static RpcException NotFound(string message) => new(new Grpc.Core.Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Grpc.Core.Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Grpc.Core.Status(StatusCode.FailedPrecondition, message));

    public static RpcException Aborted(string message) => new(new Grpc.Core.Status(StatusCode.Aborted, message));

    public static RpcException PermissionDenied(string message) => new(new Grpc.Core.Status(StatusCode.PermissionDenied, message));

    /// <summary>ABORTED after <paramref name="attempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended(string what, int attempts) =>
        Aborted($"{what} kept changing under this call ({attempts} attempts, each overtaken by a concurrent write); nothing was charged: retry the call with the same idempotency_key.");

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string field, string description)
    {
        if (!condition)
        {
            throw InvalidArgument(field, description);
        }
    }
}
