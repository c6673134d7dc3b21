using System.ComponentModel.DataAnnotations;

namespace GameSystem.Services.Settings;

/// <summary>
/// settings' configuration, bound by the host from <c>GameSystem:Settings</c>. Immutable;
/// adjust with <c>with</c>.
/// </summary>
public sealed record SettingsOptions : IValidatableObject
{
    /// <summary>The defaults.</summary>
    public static SettingsOptions Default { get; } = new();

    /// <summary>
    /// How long one match of a definition's <c>pattern</c> may run before the value is
    /// rejected, so a hostile pattern cannot hold a request thread. Patterns run on the
    /// linear-time engine, so a match of a bounded value takes microseconds; the limit is a
    /// backstop, generous enough that a loaded CPU never turns it into a false rejection.
    /// </summary>
    public TimeSpan PatternMatchTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The event-bus stream the <c>settings.setting.changed</c> events land in (WatchSettings reads it).</summary>
    public string EventStream { get; init; } = "events";

    /// <summary>Changes one watch may fall behind by before it is ended (RESOURCE_EXHAUSTED) so a slow reader cannot hold memory.</summary>
    public int WatchBacklog { get; init; } = 1024;

    /// <summary>How long a new watch waits for this instance's event-bus subscription to be live before answering UNAVAILABLE.</summary>
    public TimeSpan WatchStartTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PatternMatchTimeout <= TimeSpan.Zero || PatternMatchTimeout > TimeSpan.FromSeconds(5))
        {
            yield return new ValidationResult($"'{PatternMatchTimeout}' must be positive and at most 00:00:05.", [nameof(PatternMatchTimeout)]);
        }

        if (string.IsNullOrWhiteSpace(EventStream))
        {
            yield return new ValidationResult("must name an event-bus stream, e.g. events.", [nameof(EventStream)]);
        }

        if (WatchBacklog is < 16 or > 100_000)
        {
            yield return new ValidationResult($"{WatchBacklog} must be 16-100000.", [nameof(WatchBacklog)]);
        }

        if (WatchStartTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"'{WatchStartTimeout}' must be positive.", [nameof(WatchStartTimeout)]);
        }
    }
}
