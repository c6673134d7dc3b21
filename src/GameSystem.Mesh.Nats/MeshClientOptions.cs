using System.Collections.Immutable;

namespace GameSystem.Mesh.Nats;

/// <summary>How a <see cref="NatsMeshClient"/> makes calls. Immutable; adjust with <c>with</c>.</summary>
public sealed record MeshClientOptions
{
    /// <summary>The defaults.</summary>
    public static MeshClientOptions Default { get; } = new();

    /// <summary>First subject token of every mesh subject; servers must use the same.</summary>
    public string SubjectPrefix { get; init; } = MeshSubjects.DefaultPrefix;

    /// <summary>Deadline of a unary call whose caller and contract set none.</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages a server may send on a stream before the client grants more credit (2 to 4096).</summary>
    public int StreamWindow { get; init; } = 64;

    /// <summary>
    /// Heartbeat interval a stream asks the server for (50 ms to 60 s). The client then
    /// runs at the interval the server's <c>open</c> echoes: it sends a heartbeat every
    /// interval and considers the server gone after three intervals of silence.
    /// </summary>
    public TimeSpan StreamHeartbeat { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Retries of a call that failed UNAVAILABLE (no instance serving, or the instance
    /// reached was stopping), for methods whose contract declares them
    /// <c>NO_SIDE_EFFECTS</c> or <c>IDEMPOTENT</c>. Zero turns retries off.
    /// </summary>
    public int MaxRetryAttempts { get; init; } = 2;

    /// <summary>Wait before the first retry; doubled for each further one, within the deadline.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Client interceptors; the first is the outermost.</summary>
    public ImmutableArray<MeshClientInterceptor> Interceptors { get; init; } = [];
}
