using GameSystem.Mesh;
using Google.Rpc;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>One field at fault and what is wrong with it.</summary>
internal readonly record struct FieldProblem(string Field, string Description);

/// <summary>The statuses quest-system answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>How often a write re-reads and tries again when another writer changed what it read, before ABORTED.</summary>
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

        var message = $"{problems.Count} fields are invalid: " + string.Join("; ", problems.Select(p => $"{p.Field}: {p.Description}"));
        return MeshStatus.Error(StatusCode.InvalidArgument, message, BadRequestOf(problems));
    }

    /// <summary>FAILED_PRECONDITION caused by one field (a prerequisite naming a quest that does not exist, a cycle), with a google.rpc.BadRequest field violation.</summary>
    public static RpcException FailedPrecondition(string field, string description) =>
        MeshStatus.Error(StatusCode.FailedPrecondition, $"{field}: {description}", BadRequestOf([new FieldProblem(field, description)]));

    /// <summary>FAILED_PRECONDITION listing unmet conditions as google.rpc.PreconditionFailure violations.</summary>
    public static RpcException Unmet(string message, string type, string subject, IEnumerable<string> reasons)
    {
        var failure = new PreconditionFailure();
        failure.Violations.AddRange(reasons.Select(r => new PreconditionFailure.Types.Violation { Type = type, Subject = subject, Description = r }));
        return MeshStatus.Error(StatusCode.FailedPrecondition, message, failure);
    }

    public static RpcException NotFound(string message) => new(new Grpc.Core.Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Grpc.Core.Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Grpc.Core.Status(StatusCode.FailedPrecondition, message));

    public static RpcException PermissionDenied(string message) => new(new Grpc.Core.Status(StatusCode.PermissionDenied, message));

    public static RpcException Unavailable(string message) => new(new Grpc.Core.Status(StatusCode.Unavailable, message));

    /// <summary>ABORTED after <see cref="MaxAttempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended(string what) =>
        new(new Grpc.Core.Status(StatusCode.Aborted, $"{what} kept changing under this call ({MaxAttempts} attempts, each overtaken by a concurrent write); nothing was written: retry the call."));

    /// <summary>Throws INVALID_ARGUMENT naming every problem, if there is one.</summary>
    public static void Require(IReadOnlyList<FieldProblem> problems)
    {
        if (problems.Count > 0)
        {
            throw InvalidArgument(problems);
        }
    }

    private static BadRequest BadRequestOf(IEnumerable<FieldProblem> problems)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(problems.Select(p => new BadRequest.Types.FieldViolation { Field = p.Field, Description = p.Description }));
        return badRequest;
    }
}
