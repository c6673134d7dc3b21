using System.ComponentModel.DataAnnotations;

namespace GameSystem.Services.WorldState;

/// <summary>
/// world-state's configuration, bound by the host from <c>GameSystem:WorldState</c>.
/// Immutable; adjust with <c>with</c>.
/// </summary>
public sealed record WorldStateOptions : IValidatableObject
{
    /// <summary>The defaults.</summary>
    public static WorldStateOptions Default { get; } = new();

    /// <summary>
    /// How long each version of a region's change log is kept, so a WatchRegion stream that
    /// reconnects within it resumes without a gap. The contract promises at least one hour.
    /// </summary>
    public TimeSpan ChangeRetention { get; init; } = TimeSpan.FromHours(2);

    /// <summary>How long an applied world event's result is kept (GetWorldEvent, duplicates). The contract promises at least 7 days.</summary>
    public TimeSpan EventRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long the answer to a CreateRegion or CreateEntity request id is kept, so a retry within it creates nothing twice.</summary>
    public TimeSpan RequestRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Entities one region holds at most; a creation or a move beyond it is RESOURCE_EXHAUSTED.</summary>
    public int MaxEntitiesPerRegion { get; init; } = 5000;

    /// <summary>
    /// How often a WatchRegion stream checks the store for changes written by other instances.
    /// Changes written through this instance reach its streams at once.
    /// </summary>
    public TimeSpan WatchPollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ChangeRetention < TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"'{ChangeRetention}' must be at least 01:00:00: the contract keeps a region's history for at least one hour.", [nameof(ChangeRetention)]);
        }

        if (EventRetention < TimeSpan.FromDays(7))
        {
            yield return new ValidationResult($"'{EventRetention}' must be at least 7.00:00:00: the contract keeps applied events for at least 7 days.", [nameof(EventRetention)]);
        }

        if (RequestRetention < TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"'{RequestRetention}' must be at least 01:00:00, so a retried creation cannot apply twice.", [nameof(RequestRetention)]);
        }

        if (MaxEntitiesPerRegion is < 1 or > 100_000)
        {
            yield return new ValidationResult($"{MaxEntitiesPerRegion} must be 1-100000.", [nameof(MaxEntitiesPerRegion)]);
        }

        if (WatchPollInterval < TimeSpan.FromMilliseconds(10) || WatchPollInterval > TimeSpan.FromSeconds(10))
        {
            yield return new ValidationResult($"'{WatchPollInterval}' must be 00:00:00.010-00:00:10.", [nameof(WatchPollInterval)]);
        }
    }
}
