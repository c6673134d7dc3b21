using System.Collections.Immutable;

namespace GameSystem.Mesh.Nats;

/// <summary>How a <see cref="NatsMeshServer"/> serves. Immutable; adjust with <c>with</c>.</summary>
public sealed record MeshServerOptions
{
    /// <summary>The defaults.</summary>
    public static MeshServerOptions Default { get; } = new();

    /// <summary>First subject token of every mesh subject; clients must use the same.</summary>
    public string SubjectPrefix { get; init; } = MeshSubjects.DefaultPrefix;

    /// <summary>
    /// Unary calls one service runs at once in this process. A call beyond it is answered
    /// RESOURCE_EXHAUSTED at once, so a caller can back off or try another instance.
    /// </summary>
    public int MaxConcurrentCalls { get; init; } = 512;

    /// <summary>Server streams one service keeps open at once in this process.</summary>
    public int MaxConcurrentStreams { get; init; } = 256;

    /// <summary>
    /// Largest request accepted, in bytes; null means the NATS server's <c>max_payload</c>.
    /// A larger request is answered RESOURCE_EXHAUSTED without being parsed.
    /// </summary>
    public int? MaxRequestBytes { get; init; }

    /// <summary>
    /// The <c>grpc-retry-pushback-ms</c> a call shed at the concurrency limit carries: how long a
    /// client that retries RESOURCE_EXHAUSTED waits before it does (gRFC A6). Null sends none.
    /// </summary>
    public TimeSpan? ShedRetryPushback { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a graceful stop waits for calls in flight before cancelling them.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Server interceptors; the first is the outermost.</summary>
    public ImmutableArray<MeshServerInterceptor> Interceptors { get; init; } = [];

    /// <summary>Version reported by the NATS Services API (<c>$SRV.INFO</c>); semver.</summary>
    public string Version { get; init; } = "1.0.0";
}
