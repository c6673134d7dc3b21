namespace GameSystem.Mesh;

/// <summary>
/// The state of a client's circuit breaker for one target service, as health and the
/// <c>gamesystem.mesh.client.breaker.state</c> gauge report it (the values are the gauge's).
/// </summary>
public enum MeshCircuitState
{
    /// <summary>Calls flow; failures are being counted.</summary>
    Closed = 0,

    /// <summary>The break has ended: the next call goes through as a probe, and its outcome closes or reopens the circuit.</summary>
    HalfOpen = 1,

    /// <summary>Calls fail fast with UNAVAILABLE without being sent, until the break ends.</summary>
    Open = 2,
}
