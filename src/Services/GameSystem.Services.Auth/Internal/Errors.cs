using System.Globalization;
using GameSystem.Mesh;
using Grpc.Core;

namespace GameSystem.Services.Auth.Internal;

/// <summary>The statuses auth answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>How often a write re-reads and tries again when another writer overtook it before answering ABORTED.</summary>
    public const int MaxAttempts = 50;

    /// <summary>The trailer that tells a throttled client how long to wait (gRPC retry pushback).</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

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

    /// <summary>Throws INVALID_ARGUMENT naming <paramref name="field"/> when <paramref name="problem"/> is not null.</summary>
    public static void Check(string? problem, string field)
    {
        if (problem is not null)
        {
            throw InvalidArgument(field, problem);
        }
    }

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Unauthenticated(string message) => new(new Status(StatusCode.Unauthenticated, message));

    public static RpcException PermissionDenied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    public static RpcException Aborted(string message) => new(new Status(StatusCode.Aborted, message));

    /// <summary>ABORTED after <see cref="MaxAttempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended(string what) =>
        Aborted($"{what} kept changing under this call ({MaxAttempts} attempts, each overtaken by a concurrent write); retry the call.");

    /// <summary>RESOURCE_EXHAUSTED with the delay in the message and in the <see cref="RetryPushbackTrailer"/> trailer.</summary>
    public static RpcException Throttled(TimeSpan retryAfter)
    {
        var milliseconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
        var seconds = (long)Math.Ceiling(milliseconds / 1000.0);
        var message = string.Create(CultureInfo.InvariantCulture, $"Too many failed logins; try again in {seconds} s (retry after {milliseconds} ms).");
        return new RpcException(new Status(StatusCode.ResourceExhausted, message), new Metadata { { RetryPushbackTrailer, milliseconds.ToString(CultureInfo.InvariantCulture) } }, message);
    }

    /// <summary>ABORTED when <paramref name="expectedVersion"/> differs from what the store holds.</summary>
    public static void CheckVersion(string what, long expectedVersion, long actualVersion)
    {
        if (expectedVersion != actualVersion)
        {
            throw Aborted($"{what} is at version {actualVersion}, not expected_version {expectedVersion}; read it again and retry with its current version.");
        }
    }
}
