using System.Collections.Immutable;
using Grpc.Core;

namespace GameSystem.Mesh.Nats;

/// <summary>
/// How a <see cref="NatsMeshClient"/> protects its calls to one target service: retries of
/// retry-safe methods (gRFC A6), optional hedging of <c>NO_SIDE_EFFECTS</c> methods, and a
/// circuit breaker. Immutable; adjust with <c>with</c>.
/// </summary>
public sealed record MeshResilienceOptions
{
    /// <summary>The defaults: two retries on UNAVAILABLE, no hedging, a breaker at 50 % failures.</summary>
    public static MeshResilienceOptions Default { get; } = new();

    /// <summary>Retries of methods whose contract says <c>NO_SIDE_EFFECTS</c> or <c>IDEMPOTENT</c>.</summary>
    public MeshRetryOptions Retry { get; init; } = MeshRetryOptions.Default;

    /// <summary>Hedging of <c>NO_SIDE_EFFECTS</c> methods, instead of retrying them; off by default.</summary>
    public MeshHedgingOptions Hedging { get; init; } = MeshHedgingOptions.Default;

    /// <summary>The circuit breaker every call to the service passes, whatever its method.</summary>
    public MeshCircuitBreakerOptions CircuitBreaker { get; init; } = MeshCircuitBreakerOptions.Default;

    /// <summary>The first problem with these options, or null: what a client refuses to start with.</summary>
    public string? Problem()
    {
        var retry = Retry;
        var breaker = CircuitBreaker;
        return retry.MaxRetryAttempts is < 0 or > MeshRetryOptions.MaxRetryAttemptsLimit ? $"Retry.MaxRetryAttempts must be between 0 and {MeshRetryOptions.MaxRetryAttemptsLimit}."
            : retry.InitialBackoff <= TimeSpan.Zero ? "Retry.InitialBackoff must be positive."
            : retry.MaxBackoff < retry.InitialBackoff ? "Retry.MaxBackoff must be at least Retry.InitialBackoff."
            : !(retry.BackoffMultiplier >= 1 && double.IsFinite(retry.BackoffMultiplier)) ? "Retry.BackoffMultiplier must be 1 or more."
            : retry.RetryableStatusCodes.IsDefault || retry.RetryableStatusCodes.Contains(StatusCode.OK) ? "Retry.RetryableStatusCodes must be a list of error codes (OK is not one)."
            : Hedging.MaxHedgedAttempts is < 1 or > MeshHedgingOptions.MaxHedgedAttemptsLimit ? $"Hedging.MaxHedgedAttempts must be between 1 and {MeshHedgingOptions.MaxHedgedAttemptsLimit}."
            : Hedging.Delay < TimeSpan.Zero ? "Hedging.Delay must not be negative."
            : !(breaker.FailureRatio > 0 && breaker.FailureRatio <= 1) ? "CircuitBreaker.FailureRatio must be above 0 and at most 1."
            : breaker.MinimumThroughput < 2 ? "CircuitBreaker.MinimumThroughput must be 2 or more."
            : breaker.SamplingDuration <= MeshCircuitBreakerOptions.ShortestDuration ? "CircuitBreaker.SamplingDuration must be longer than 0.5 s."
            : breaker.BreakDuration <= MeshCircuitBreakerOptions.ShortestDuration ? "CircuitBreaker.BreakDuration must be longer than 0.5 s."
            : null;
    }
}

/// <summary>
/// Retries as gRFC A6 defines them: a failed attempt whose status is retryable is made again
/// after a random delay of up to <c>InitialBackoff × BackoffMultiplier^n</c> (at most
/// <see cref="MaxBackoff"/>), or after the delay the server pushed back with; never when the
/// server said not to, and never when the delay would outlast the call's deadline.
/// </summary>
public sealed record MeshRetryOptions
{
    /// <summary>Most retries a client allows (gRFC A6 caps attempts at 5; a mesh call is cheaper, 10 is still sane).</summary>
    public const int MaxRetryAttemptsLimit = 10;

    /// <summary>The defaults.</summary>
    public static MeshRetryOptions Default { get; } = new();

    /// <summary>Retries after the first attempt (0 to 10); zero turns retries off.</summary>
    public int MaxRetryAttempts { get; init; } = 2;

    /// <summary>Upper bound of the first retry's random delay.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Upper bound of any retry's random delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Growth of the bound from one retry to the next (1 or more).</summary>
    public double BackoffMultiplier { get; init; } = 2;

    /// <summary>
    /// Statuses that make an attempt worth repeating (and, with hedging, that do not stop the
    /// other hedged attempts). UNAVAILABLE: no instance served, or the one reached was stopping.
    /// </summary>
    public ImmutableArray<StatusCode> RetryableStatusCodes { get; init; } = [StatusCode.Unavailable];
}

/// <summary>
/// Hedging (gRFC A6) of <c>NO_SIDE_EFFECTS</c> methods: when an attempt has not answered within
/// <see cref="Delay"/>, another is sent (to whichever instance NATS picks) and the first answer
/// wins; the others are cancelled. A retryable failure sends the next attempt at once.
/// </summary>
public sealed record MeshHedgingOptions
{
    /// <summary>Most extra attempts Polly allows.</summary>
    public const int MaxHedgedAttemptsLimit = 10;

    /// <summary>The defaults: off.</summary>
    public static MeshHedgingOptions Default { get; } = new();

    /// <summary>True to hedge <c>NO_SIDE_EFFECTS</c> methods (they are then not retried).</summary>
    public bool Enabled { get; init; }

    /// <summary>Attempts sent in addition to the first (1 to 10).</summary>
    public int MaxHedgedAttempts { get; init; } = 1;

    /// <summary>How long an attempt may take before the next is sent; zero sends them all at once.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// The circuit breaker of one target service: it opens when, within <see cref="SamplingDuration"/>
/// and over at least <see cref="MinimumThroughput"/> calls, the share that failed UNAVAILABLE,
/// DEADLINE_EXCEEDED or INTERNAL reaches <see cref="FailureRatio"/>. While open, calls fail at
/// once with UNAVAILABLE ("circuit open for &lt;service&gt;"); after <see cref="BreakDuration"/>
/// the next call goes through as a probe, and its outcome closes the circuit or opens it again.
/// </summary>
public sealed record MeshCircuitBreakerOptions
{
    /// <summary>Polly's floor for both durations.</summary>
    public static readonly TimeSpan ShortestDuration = TimeSpan.FromMilliseconds(500);

    /// <summary>The defaults.</summary>
    public static MeshCircuitBreakerOptions Default { get; } = new();

    /// <summary>False to call the service without a breaker.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Share of failed calls (above 0, at most 1) that opens the circuit.</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Calls within the sampling window (2 or more) before the ratio counts.</summary>
    public int MinimumThroughput { get; init; } = 20;

    /// <summary>The window the failure ratio is measured over (longer than 0.5 s).</summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the circuit stays open before a probe (longer than 0.5 s).</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(5);
}
