using System.ComponentModel.DataAnnotations;

namespace GameSystem.Services.QuestSystem;

/// <summary>
/// quest-system's configuration, bound by the host from <c>GameSystem:QuestSystem</c>.
/// Immutable; adjust with <c>with</c>.
/// </summary>
public sealed record QuestSystemOptions : IValidatableObject
{
    /// <summary>The defaults.</summary>
    public static QuestSystemOptions Default { get; } = new();

    /// <summary>How often the grant worker looks for rewards still to grant (a completion wakes it at once as well).</summary>
    public TimeSpan GrantPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait before the second attempt at a player's grants after one failed; it doubles up to <see cref="MaxGrantRetryBackoff"/>.</summary>
    public TimeSpan GrantRetryBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between two attempts at a player's grants.</summary>
    public TimeSpan MaxGrantRetryBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a grant that keeps failing for a reason that may pass (payment or state-manager
    /// unreachable, inventory full) is retried before it is marked <c>REWARD_STATUS_FAILED</c>
    /// for an operator. Keep it below state-manager's <c>RequestRetention</c>.
    /// </summary>
    public TimeSpan GrantRetryWindow { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long an instance holds a player's grants while it grants them; another instance (or a restarted one) takes over after it.</summary>
    public TimeSpan GrantLease { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Deadline of each call to payment or state-manager made by a grant.</summary>
    public TimeSpan GrantCallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long CompleteQuest waits for its grant to be acknowledged before it answers with <c>REWARD_STATUS_PENDING</c> (the worker goes on).</summary>
    public TimeSpan InlineGrantTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the answer to a request id or report id is kept.</summary>
    public TimeSpan RequestRetention { get; init; } = TimeSpan.FromDays(1);

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (GrantPollInterval < TimeSpan.FromMilliseconds(10) || GrantPollInterval > TimeSpan.FromMinutes(10))
        {
            yield return new ValidationResult($"'{GrantPollInterval}' must be 00:00:00.010-00:10:00.", [nameof(GrantPollInterval)]);
        }

        if (GrantRetryBackoff <= TimeSpan.Zero || MaxGrantRetryBackoff < GrantRetryBackoff)
        {
            yield return new ValidationResult($"'{GrantRetryBackoff}' must be positive and at most MaxGrantRetryBackoff ('{MaxGrantRetryBackoff}').", [nameof(GrantRetryBackoff)]);
        }

        if (GrantRetryWindow < TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult($"'{GrantRetryWindow}' must be at least 00:01:00.", [nameof(GrantRetryWindow)]);
        }

        if (GrantLease < TimeSpan.FromSeconds(1) || GrantCallTimeout <= TimeSpan.Zero || GrantLease <= GrantCallTimeout)
        {
            yield return new ValidationResult($"'{GrantLease}' must be at least 1 s and longer than GrantCallTimeout ('{GrantCallTimeout}').", [nameof(GrantLease)]);
        }

        if (InlineGrantTimeout < TimeSpan.Zero || InlineGrantTimeout > TimeSpan.FromSeconds(8))
        {
            yield return new ValidationResult($"'{InlineGrantTimeout}' must be 0-8 s (CompleteQuest's deadline is 10 s).", [nameof(InlineGrantTimeout)]);
        }

        if (RequestRetention < TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult($"'{RequestRetention}' must be at least 00:01:00.", [nameof(RequestRetention)]);
        }
    }
}
