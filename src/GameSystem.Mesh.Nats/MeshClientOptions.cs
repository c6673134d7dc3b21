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
    /// How calls to every target service are protected (retries, hedging, circuit breaker),
    /// unless <see cref="ServiceResilience"/> names the service.
    /// </summary>
    public MeshResilienceOptions Resilience { get; init; } = MeshResilienceOptions.Default;

    /// <summary>Resilience of particular target services, by proto full name (<c>gamesystem.auth.v1.AuthService</c>).</summary>
    public ImmutableDictionary<string, MeshResilienceOptions> ServiceResilience { get; init; } = ImmutableDictionary<string, MeshResilienceOptions>.Empty;

    /// <summary>The clock of retry delays, hedging delays and circuit breaks (a test's fake clock).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Shorthand for <see cref="Resilience"/>'s <see cref="MeshRetryOptions.MaxRetryAttempts"/>:
    /// retries of a retry-safe call (<c>NO_SIDE_EFFECTS</c> or <c>IDEMPOTENT</c>) that failed with a
    /// retryable status. Zero turns retries off.
    /// </summary>
    public int MaxRetryAttempts
    {
        get => Resilience.Retry.MaxRetryAttempts;
        init => Resilience = Resilience with { Retry = Resilience.Retry with { MaxRetryAttempts = value } };
    }

    /// <summary>Shorthand for <see cref="Resilience"/>'s <see cref="MeshRetryOptions.InitialBackoff"/>: the bound of the first retry's random delay.</summary>
    public TimeSpan RetryBackoff
    {
        get => Resilience.Retry.InitialBackoff;
        init => Resilience = Resilience with { Retry = Resilience.Retry with { InitialBackoff = value } };
    }

    /// <summary>The resilience of calls to <paramref name="serviceFullName"/>.</summary>
    public MeshResilienceOptions ResilienceOf(string serviceFullName) =>
        ServiceResilience.TryGetValue(serviceFullName, out var own) ? own : Resilience;

    /// <summary>Client interceptors; the first is the outermost.</summary>
    public ImmutableArray<MeshClientInterceptor> Interceptors { get; init; } = [];
}
