using Grpc.Core;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>The statuses the service answers with, so every message reads the same way.</summary>
internal static class Errors
{
    /// <summary>
    /// How often a write re-reads and tries again when another writer changed what it read
    /// (optimistic concurrency) before it answers ABORTED: far more than the writers one table
    /// or the registry sees at once, so only a pathological pile-up ends there.
    /// </summary>
    public const int MaxAttempts = 100;

    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Aborted(string message) => new(new Status(StatusCode.Aborted, message));

    /// <summary>ABORTED after <see cref="MaxAttempts"/> attempts each overtaken by another writer.</summary>
    public static RpcException Contended(string what) =>
        Aborted($"{what} kept changing under this call ({MaxAttempts} attempts, each overtaken by a concurrent write); retry the call.");

    /// <summary>Throws INVALID_ARGUMENT with <paramref name="message"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw InvalidArgument(message);
        }
    }

    /// <summary>ABORTED when a non-zero <paramref name="expectedVersion"/> differs from what the store holds.</summary>
    public static void CheckVersion(string what, long expectedVersion, long actualVersion)
    {
        if (expectedVersion != 0 && expectedVersion != actualVersion)
        {
            throw Aborted($"{what} is at version {actualVersion}, not expected_version {expectedVersion}; read it again and retry with its current version.");
        }
    }
}
