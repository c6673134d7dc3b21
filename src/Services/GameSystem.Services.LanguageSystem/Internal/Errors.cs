using Grpc.Core;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>The statuses the service answers with, so every message reads the same way.</summary>
internal static class Errors
{
    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Aborted(string message) => new(new Status(StatusCode.Aborted, message));

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
