namespace GameSystem.Mesh;

/// <summary>
/// Implemented by a service implementation that is not ready merely by being constructed
/// (event-bus until its JetStream streams exist). The host's health service asks it on every
/// health round; a service that does not implement it is ready while its host is.
/// </summary>
public interface IMeshReadiness
{
    /// <summary>
    /// True when the service can serve its calls now. Called every few seconds: keep it cheap
    /// (read state the service already keeps, or one quick round trip), never throw for "no".
    /// </summary>
    ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One thing whose failure makes services NOT_SERVING: the NATS connection and the state store
/// for everything a host serves; the circuit breakers of the services a service calls.
/// </summary>
/// <param name="Name">What is checked, as the health log names it when it fails (<c>the state store</c>).</param>
/// <param name="IsHealthyAsync">The check: true when healthy. A throw, or no answer within <see cref="MeshHealthOptions.ProbeTimeout"/>, counts as unhealthy.</param>
public sealed record MeshHealthProbe(string Name, Func<CancellationToken, ValueTask<bool>> IsHealthyAsync);

/// <summary>
/// A service whose health <see cref="MeshHealthService"/> reports, under its proto full name.
/// </summary>
/// <param name="ServiceFullName">The name callers ask for, e.g. <c>gamesystem.time_manager.v1.TimeManagerService</c>.</param>
/// <param name="IsImplemented">False for a service served from its contract only (every call UNIMPLEMENTED): always NOT_SERVING, and not part of the overall status.</param>
/// <param name="Readiness">The implementation's own readiness, if it has one.</param>
/// <param name="Dependencies">
/// Checks only this service depends on: the host puts here one per service the implementation
/// calls (a generated client its constructor takes), failing while its circuit breaker is open.
/// </param>
public sealed record MeshHealthTarget(string ServiceFullName, bool IsImplemented, IMeshReadiness? Readiness, IReadOnlyList<MeshHealthProbe> Dependencies);

/// <summary>How <see cref="MeshHealthService"/> checks.</summary>
public sealed record MeshHealthOptions
{
    /// <summary>The defaults: a health round every 2 s, each probe given 2 s, a failure counted on its second round in a row.</summary>
    public static MeshHealthOptions Default { get; } = new();

    /// <summary>How often the probes run; a change reaches <c>Watch</c> callers within it (a graceful stop at once).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one probe may take before it counts as failed.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How many rounds in a row a check that has passed before must fail before its services turn
    /// NOT_SERVING: the default 2 lets one slow ping go, and still reports an outage within about
    /// two poll intervals. 1 reports every failed round.
    /// </summary>
    public int FailureThreshold { get; init; } = 2;
}
