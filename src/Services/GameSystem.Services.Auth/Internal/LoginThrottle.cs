using GameSystem.State;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Counts failed logins in fixed windows (store counters with a TTL) per account, or per login
/// name when no account matches (so a throttled unknown name looks like a throttled account),
/// and per caller address where the gateway names one. A subject at its limit is refused with
/// RESOURCE_EXHAUSTED until its window ends.
/// </summary>
internal sealed class LoginThrottle(IStateStore store, TimeProvider time, TimeSpan window)
{
    /// <summary>What is counted: a kind (<c>account</c>, <c>login</c>, <c>caller</c>), the subject and its limit.</summary>
    public readonly record struct Subject(string Kind, string Value, int Limit);

    /// <summary>Throws RESOURCE_EXHAUSTED (with the delay) when a subject has reached its limit in the current window.</summary>
    public async ValueTask CheckAsync(IReadOnlyList<Subject> subjects, CancellationToken cancellationToken)
    {
        var (number, retryAfter) = Window();
        var counters = await store.GetManyAsync([.. subjects.Select(s => StoreKeys.LoginFailures(s.Kind, s.Value, number))], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < subjects.Count; i++)
        {
            if (counters[i] is { } counter && long.Parse(counter.Value.Span, provider: System.Globalization.CultureInfo.InvariantCulture) >= subjects[i].Limit)
            {
                throw Errors.Throttled(retryAfter);
            }
        }
    }

    public async ValueTask RecordFailureAsync(IReadOnlyList<Subject> subjects, CancellationToken cancellationToken)
    {
        var (number, _) = Window();
        foreach (var subject in subjects)
        {
            // Kept two windows: long enough to count this one, short enough to clean itself up.
            await store.IncrementAsync(StoreKeys.LoginFailures(subject.Kind, subject.Value, number), 1, window * 2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Clears the count of a subject after a successful login.</summary>
    public async ValueTask ResetAsync(Subject subject, CancellationToken cancellationToken)
    {
        var (number, _) = Window();
        await store.DeleteAsync(StoreKeys.LoginFailures(subject.Kind, subject.Value, number), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private (long Number, TimeSpan RetryAfter) Window()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var length = (long)window.TotalMilliseconds;
        var number = now / length;
        return (number, TimeSpan.FromMilliseconds(((number + 1) * length) - now));
    }
}
