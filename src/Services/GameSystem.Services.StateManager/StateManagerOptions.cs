using System.ComponentModel.DataAnnotations;

namespace GameSystem.Services.StateManager;

/// <summary>
/// state-manager's configuration, bound by the host from <c>GameSystem:StateManager</c>.
/// Immutable; adjust with <c>with</c>.
/// </summary>
public sealed record StateManagerOptions : IValidatableObject
{
    /// <summary>The defaults.</summary>
    public static StateManagerOptions Default { get; } = new();

    /// <summary>Slots of every inventory. Lowering it never drops items held; it refuses adds that need a new slot beyond it.</summary>
    public int SlotCapacity { get; init; } = 40;

    /// <summary>
    /// How long the answer to a request id is kept, so a retry within it applies nothing twice.
    /// quest-system and loot retry AddItems and GrantExperience with deterministic ids until
    /// they are done, possibly after an outage of days: keep this longer than any such outage.
    /// </summary>
    public TimeSpan RequestRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Experience needed for level 2; level <c>L</c> starts at <c>LevelBaseExperience × (L − 1)^LevelExponent</c>.</summary>
    public long LevelBaseExperience { get; init; } = 100;

    /// <summary>How steeply the level thresholds grow (1: linear, 2: quadratic).</summary>
    public double LevelExponent { get; init; } = 2.0;

    /// <summary>The highest level; experience beyond its threshold still counts.</summary>
    public int MaxLevel { get; init; } = 60;

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SlotCapacity is < 1 or > 1000)
        {
            yield return new ValidationResult($"{SlotCapacity} must be 1-1000.", [nameof(SlotCapacity)]);
        }

        if (RequestRetention < TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"'{RequestRetention}' must be at least 01:00:00, so a retry of a grant cannot apply twice.", [nameof(RequestRetention)]);
        }

        if (LevelBaseExperience is < 1 or > 1_000_000_000)
        {
            yield return new ValidationResult($"{LevelBaseExperience} must be 1-1000000000.", [nameof(LevelBaseExperience)]);
        }

        if (!double.IsFinite(LevelExponent) || LevelExponent is < 1 or > 4)
        {
            yield return new ValidationResult($"{LevelExponent} must be 1-4.", [nameof(LevelExponent)]);
        }

        if (MaxLevel is < 1 or > 1000)
        {
            yield return new ValidationResult($"{MaxLevel} must be 1-1000.", [nameof(MaxLevel)]);
        }
    }
}
