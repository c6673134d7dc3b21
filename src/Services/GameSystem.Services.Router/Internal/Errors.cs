using GameSystem.Mesh;
using Grpc.Core;

namespace GameSystem.Services.Router.Internal;

/// <summary>The statuses router answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>
    /// How often a write re-reads and tries again when another writer changed the table first
    /// (optimistic concurrency) before it answers ABORTED: far more than the operators and
    /// tools that change one routing table at once.
    /// </summary>
    public const int MaxAttempts = 50;

    /// <summary>INVALID_ARGUMENT naming <paramref name="field"/>, with a google.rpc.BadRequest field violation.</summary>
    public static RpcException InvalidArgument(string field, string description) => MeshStatus.InvalidArgument(field, description);

    /// <summary>INVALID_ARGUMENT with one google.rpc.BadRequest field violation per problem found.</summary>
    public static RpcException InvalidArgument(IReadOnlyList<Google.Rpc.BadRequest.Types.FieldViolation> violations)
    {
        var badRequest = new Google.Rpc.BadRequest();
        badRequest.FieldViolations.AddRange(violations);
        var message = string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
        return MeshStatus.Error(StatusCode.InvalidArgument, message, badRequest);
    }

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Aborted(string message) => new(new Status(StatusCode.Aborted, message));

    /// <summary>ABORTED after <see cref="MaxAttempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended() =>
        Aborted($"The routing table kept changing under this call ({MaxAttempts} attempts, each overtaken by a concurrent write); retry the call.");

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string field, string description)
    {
        if (!condition)
        {
            throw InvalidArgument(field, description);
        }
    }

    /// <summary>ABORTED when <paramref name="expectedVersion"/> differs from the route's version.</summary>
    public static void CheckVersion(string routeId, long expectedVersion, long actualVersion)
    {
        if (expectedVersion != actualVersion)
        {
            throw Aborted($"Route '{routeId}' is at version {actualVersion}, not expected_version {expectedVersion}: it changed since you read it. Read it again (GetRoute) and retry with its current version.");
        }
    }
}
