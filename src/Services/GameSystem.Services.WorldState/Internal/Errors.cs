using GameSystem.Mesh;
using Google.Rpc;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>One field at fault and what is wrong with it.</summary>
internal readonly record struct FieldProblem(string Field, string Description);

/// <summary>The statuses world-state answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>How often a write re-reads and re-plans when another writer changed what it read, before it answers ABORTED.</summary>
    public const int MaxAttempts = 64;

    /// <summary>INVALID_ARGUMENT naming <paramref name="field"/>, with a google.rpc.BadRequest field violation.</summary>
    public static RpcException InvalidArgument(string field, string description) => MeshStatus.InvalidArgument(field, description);

    /// <summary>INVALID_ARGUMENT naming every field at fault, each as a google.rpc.BadRequest field violation.</summary>
    public static RpcException InvalidArgument(IReadOnlyList<FieldProblem> problems)
    {
        if (problems.Count == 1)
        {
            return InvalidArgument(problems[0].Field, problems[0].Description);
        }

        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(problems.Select(p => new BadRequest.Types.FieldViolation { Field = p.Field, Description = p.Description }));
        var message = $"{problems.Count} fields are invalid: " + string.Join("; ", problems.Select(p => $"{p.Field}: {p.Description}"));
        return MeshStatus.Error(StatusCode.InvalidArgument, message, badRequest);
    }

    public static RpcException NotFound(string message) => new(new Grpc.Core.Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Grpc.Core.Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Grpc.Core.Status(StatusCode.FailedPrecondition, message));

    public static RpcException Aborted(string message) => new(new Grpc.Core.Status(StatusCode.Aborted, message));

    public static RpcException OutOfRange(string message) => new(new Grpc.Core.Status(StatusCode.OutOfRange, message));

    public static RpcException ResourceExhausted(string message) => new(new Grpc.Core.Status(StatusCode.ResourceExhausted, message));

    /// <summary>ABORTED after <see cref="MaxAttempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended(string what) =>
        Aborted($"{what} kept changing under this call ({MaxAttempts} attempts, each overtaken by a concurrent write); nothing was written: retry the call.");

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string field, string description)
    {
        if (!condition)
        {
            throw InvalidArgument(field, description);
        }
    }

    /// <summary>Throws INVALID_ARGUMENT naming every problem, if there is one.</summary>
    public static void Require(IReadOnlyList<FieldProblem> problems)
    {
        if (problems.Count > 0)
        {
            throw InvalidArgument(problems);
        }
    }
}
