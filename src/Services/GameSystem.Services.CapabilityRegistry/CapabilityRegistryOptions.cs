using System.ComponentModel.DataAnnotations;

namespace GameSystem.Services.CapabilityRegistry;

/// <summary>
/// capability-registry settings, bound by the host from <c>GameSystem:CapabilityRegistry</c>.
/// Immutable; adjust with <c>with</c>. Validation (<see cref="Validate"/>) names each bad
/// setting by its key.
/// </summary>
public sealed record CapabilityRegistryOptions : IValidatableObject
{
    /// <summary>The defaults: leases of 5 seconds to 5 minutes, 30 seconds when unset, as the contract states.</summary>
    public static CapabilityRegistryOptions Default { get; } = new();

    /// <summary>The shortest lease a Register may ask for.</summary>
    public TimeSpan MinTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest lease a Register may ask for.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The lease of a Register that asks for none.</summary>
    public TimeSpan DefaultTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest the expiry sweeper sleeps. It wakes at the earliest lease end the expiry
    /// index holds, so this bounds only how often an idle registry reads that index; it is
    /// also capped at <see cref="MinTtl"/>, since no lease registered meanwhile can end sooner.
    /// </summary>
    public TimeSpan MaxSweepInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The event-bus stream that stores <c>capability.instance.changed</c>, which WatchProviders subscribes to.</summary>
    public string EventStream { get; init; } = "events";

    /// <summary>How far before its start a WatchProviders with <c>send_initial</c> replays changes, to cover clock skew between this instance and event-bus (duplicates of the snapshot are dropped).</summary>
    public TimeSpan WatchReplayMargin { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// False keeps the expiry sweeper of this instance from running, so lapses are processed
    /// only by readers and other instances (tests of exactly that use it; not a setting).
    /// </summary>
    internal bool RunSweeper { get; init; } = true;

    /// <summary>The sweeper's effective longest sleep.</summary>
    internal TimeSpan SweepCap => MaxSweepInterval < MinTtl ? MaxSweepInterval : MinTtl;

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinTtl < TimeSpan.FromMilliseconds(100))
        {
            yield return new ValidationResult($"'{MinTtl}' must be at least 00:00:00.1.", [nameof(MinTtl)]);
        }

        if (MaxTtl < MinTtl)
        {
            yield return new ValidationResult($"'{MaxTtl}' must be at least MinTtl ({MinTtl}).", [nameof(MaxTtl)]);
        }

        if (DefaultTtl < MinTtl || DefaultTtl > MaxTtl)
        {
            yield return new ValidationResult($"'{DefaultTtl}' must be within MinTtl ({MinTtl}) and MaxTtl ({MaxTtl}).", [nameof(DefaultTtl)]);
        }

        if (MaxSweepInterval < TimeSpan.FromMilliseconds(10))
        {
            yield return new ValidationResult($"'{MaxSweepInterval}' must be at least 00:00:00.01.", [nameof(MaxSweepInterval)]);
        }

        if (string.IsNullOrWhiteSpace(EventStream))
        {
            yield return new ValidationResult("must name the event-bus stream that stores capability.* events, e.g. events.", [nameof(EventStream)]);
        }

        if (WatchReplayMargin < TimeSpan.Zero)
        {
            yield return new ValidationResult($"'{WatchReplayMargin}' must not be negative.", [nameof(WatchReplayMargin)]);
        }
    }
}
