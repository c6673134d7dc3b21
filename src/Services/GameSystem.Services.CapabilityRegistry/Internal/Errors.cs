using GameSystem.Mesh;
using Google.Rpc;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>The statuses capability-registry answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>
    /// How often a write re-reads and tries again when another writer changed the instance
    /// first (optimistic concurrency) before it answers ABORTED: one instance has one writer in
    /// normal operation (itself), so only a pathological pile-up ends there.
    /// </summary>
    public const int MaxAttempts = 50;

    /// <summary>INVALID_ARGUMENT naming <paramref name="field"/>, with a google.rpc.BadRequest field violation.</summary>
    public static RpcException InvalidArgument(string field, string description) => MeshStatus.InvalidArgument(field, description);

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string field, string description)
    {
        if (!condition)
        {
            throw InvalidArgument(field, description);
        }
    }

    public static RpcException NotFound(string message) => new(new Grpc.Core.Status(StatusCode.NotFound, message));

    public static RpcException UnknownInstance(string instanceId) =>
        NotFound($"Instance '{instanceId}' is not registered (never registered, deregistered, or its lease expired); Register it again.");

    public static RpcException Unavailable(string message) => new(new Grpc.Core.Status(StatusCode.Unavailable, message));

    /// <summary>ABORTED after <see cref="MaxAttempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended(string instanceId) =>
        new(new Grpc.Core.Status(StatusCode.Aborted, $"Instance '{instanceId}' kept changing under this call ({MaxAttempts} attempts, each overtaken by a concurrent write); retry the call."));
}

/// <summary>
/// Collects every field violation of a request, so one INVALID_ARGUMENT names them all (each
/// in the <c>google.rpc.BadRequest</c> detail, the first in the message).
/// </summary>
internal sealed class Violations
{
    private readonly BadRequest _badRequest = new();

    public bool Any => _badRequest.FieldViolations.Count > 0;

    /// <summary>Records a violation of <paramref name="field"/> unless <paramref name="condition"/> holds; returns <paramref name="condition"/>.</summary>
    public bool Check(bool condition, string field, string description)
    {
        if (!condition)
        {
            _badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        }

        return condition;
    }

    /// <summary>Throws INVALID_ARGUMENT when any violation was recorded.</summary>
    public void ThrowIfAny()
    {
        if (!Any)
        {
            return;
        }

        var first = _badRequest.FieldViolations[0];
        var more = _badRequest.FieldViolations.Count - 1;
        var message = more == 0 ? $"{first.Field}: {first.Description}" : $"{first.Field}: {first.Description} (and {more} more field violation{(more == 1 ? "" : "s")} in the BadRequest detail)";
        throw MeshStatus.Error(StatusCode.InvalidArgument, message, _badRequest);
    }
}
