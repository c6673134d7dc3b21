using Grpc.Core;

namespace GameSystem.State;

/// <summary>
/// The state store could not be reached (Redis down, restarting, or a cluster shard without a
/// primary). A service call that meets it fails with UNAVAILABLE, which clients may retry.
/// </summary>
public sealed class StateStoreUnavailableException : RpcException
{
    /// <summary>Creates the exception with a message that says what was unreachable and why.</summary>
    public StateStoreUnavailableException(string message, Exception? innerException = null)
        : base(new Status(StatusCode.Unavailable, message, innerException))
    {
    }
}
