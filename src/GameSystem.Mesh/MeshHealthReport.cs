using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Mesh;

/// <summary>
/// The latest health round of <see cref="MeshHealthService"/> in full: what each check found, not
/// only the statuses it led to. Other views of the host's health (HTTP readiness, the NATS Services
/// API's metadata) read this instead of probing again, so every view says the same thing.
/// </summary>
/// <param name="CheckedAt">When the round ran; null before the first.</param>
/// <param name="Stopping">True once a graceful stop began: every status is NOT_SERVING from then on.</param>
/// <param name="HostChecks">The host's own checks (the NATS connection, the state store), in the order the host gave them.</param>
/// <param name="Services">Each served service by proto full name; <see cref="MeshHealthService.Overall"/> is not among them.</param>
/// <param name="Overall">The host as a whole.</param>
public sealed record MeshHealthReport(
    DateTimeOffset? CheckedAt,
    bool Stopping,
    IReadOnlyList<MeshHealthCheckResult> HostChecks,
    IReadOnlyDictionary<string, MeshServiceHealth> Services,
    ServingStatus Overall);

/// <summary>One check of a round.</summary>
/// <param name="Name">The check, as the host named it (<c>the state store</c>).</param>
/// <param name="Healthy">Whether it counts as healthy: it passed, or it failed fewer than <see cref="MeshHealthOptions.FailureThreshold"/> rounds in a row after passing.</param>
/// <param name="Failure">Why it failed this round (even when that failure is still tolerated); null when it passed.</param>
/// <param name="ConsecutiveFailures">How many rounds in a row it has failed.</param>
public sealed record MeshHealthCheckResult(string Name, bool Healthy, string? Failure, int ConsecutiveFailures);

/// <summary>One served service in a round.</summary>
/// <param name="ServiceFullName">Its proto full name.</param>
/// <param name="IsImplemented">False when it is served from its contract only (every call UNIMPLEMENTED).</param>
/// <param name="Status">Its status.</param>
/// <param name="Failures">Why it is NOT_SERVING (its own checks and the host's); empty when SERVING.</param>
public sealed record MeshServiceHealth(string ServiceFullName, bool IsImplemented, ServingStatus Status, IReadOnlyList<string> Failures)
{
    /// <summary>
    /// True when it is NOT_SERVING only because of its <see cref="MeshHealthTarget.Dependencies"/>
    /// (a circuit breaker for a service it calls is open): the service itself, NATS and the store
    /// are fine. Views that decide whether to take an instance out of rotation read this, since
    /// every instance shares a dependency's outage and removing them all helps nobody.
    /// </summary>
    public bool OnlyDependenciesFailing { get; init; }
}
