using Grpc.Core;

namespace GameSystem.Cli;

/// <summary>What <c>gs</c> exits with, so scripts can tell a failed call from a typo.</summary>
public static class GsExitCode
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>Something the program did not expect; the message says what.</summary>
    public const int Unexpected = 1;

    /// <summary>Bad usage or input: unknown service or method, malformed JSON, bad option.</summary>
    public const int Usage = 2;

    /// <summary>No NATS server answered at the given URLs (the host exits with 3 for this too).</summary>
    public const int NatsUnreachable = 3;

    /// <summary>A unary call was interrupted with Ctrl+C (the shell's 128 + SIGINT).</summary>
    public const int Interrupted = 130;

    /// <summary>
    /// The call failed: 64 plus the gRPC status code (69 for NOT_FOUND), as grpcurl does,
    /// so each status has its own exit code above the ones gs uses itself.
    /// </summary>
    public static int ForStatus(StatusCode status) => 64 + (int)status;
}
