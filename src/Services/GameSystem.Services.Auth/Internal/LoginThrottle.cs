using GameSystem.State;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Counts login attempts that did not succeed in fixed windows (store counters with a TTL) per account, or per login
/// name when no account matches (so a throttled unknown name looks like a throttled account),
/// and per caller address where the gateway names one. A subject at its limit is refused with
/// RESOURCE_EXHAUSTED until its window ends.
/// </summary>
internal sealed class LoginThrottle(IStateStore store, TimeProvider time, TimeSpan window)
{
    /// <summary>What is counted: a kind (<c>account</c>, <c>login</c>, <c>caller</c>), the subject and its limit.</summary>
    public readonly record struct Subject(string Kind, string Value, int Limit);

    /// <summary>
    /// Counts an attempt against every subject before the password is checked, so parallel
    /// guesses cannot slip past the limit between a check and a count; throws
    /// RESOURCE_EXHAUSTED (with the delay) when one is past its limit in the current window.
    /// A failed attempt leaves its count; <see cref="SucceededAsync"/> takes a good one back.
    /// </summary>
    /// <returns>The window the attempt was counted in, for <see cref="SucceededAsync"/>.</returns>
    public async ValueTask<long> AttemptAsync(IReadOnlyList<Subject> subjects, CancellationToken cancellationToken)
    {
        var (number, retryAfter) = Window();
        var throttled = false;
        foreach (var subject in subjects)
        {
            // Kept two windows: long enough to count this one, short enough to clean itself up.
            var count = await store.IncrementAsync(StoreKeys.LoginFailures(subject.Kind, subject.Value, number), 1, window * 2, cancellationToken).ConfigureAwait(false);
            throttled |= count > subject.Limit;
        }

        return throttled ? throw Errors.Throttled(retryAfter) : number;
    }

    /// <summary>After a successful login: clears the count of the account (<paramref name="subjects"/>[0]) and takes this attempt back from the others.</summary>
    public async ValueTask SucceededAsync(IReadOnlyList<Subject> subjects, long number, CancellationToken cancellationToken)
    {
        await store.DeleteAsync(StoreKeys.LoginFailures(subjects[0].Kind, subjects[0].Value, number), cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var subject in subjects.Skip(1))
        {
            await store.IncrementAsync(StoreKeys.LoginFailures(subject.Kind, subject.Value, number), -1, window * 2, cancellationToken).ConfigureAwait(false);
        }
    }

    private (long Number, TimeSpan RetryAfter) Window()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var length = (long)window.TotalMilliseconds;
        var number = now / length;
        return (number, TimeSpan.FromMilliseconds(((number + 1) * length) - now));
    }
}
