using GameSystem.State;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>One page of a listing read along an <see cref="IndexMerge"/>.</summary>
/// <param name="Items">The matching items, in index order.</param>
/// <param name="ResumeAfter">The last position examined, to continue after; null on the last page.</param>
internal sealed record IndexPage<T>(List<T> Items, (string Member, int Source)? ResumeAfter);

/// <summary>Builds <see cref="IndexPage{T}"/>s.</summary>
internal static class IndexPages
{
    /// <summary>
    /// The most members one call examines for a filtered listing. A filter that matches little
    /// then returns a short (even empty) page with a token to go on, as AIP-158 allows, instead
    /// of reading a whole table in one call.
    /// </summary>
    public const int ScanLimit = 5000;

    /// <summary>
    /// Reads items along <paramref name="merge"/> until <paramref name="pageSize"/> match,
    /// reading their values <see cref="StateKeys.MaxPageSize"/> at most at a time.
    /// </summary>
    /// <param name="merge">The members, in listing order.</param>
    /// <param name="pageSize">Items wanted.</param>
    /// <param name="filtered">True when <paramref name="matches"/> may reject items (so values are read in larger chunks and the scan is bounded).</param>
    /// <param name="read">Reads the values of a chunk of members (null where absent), in order.</param>
    /// <param name="matches">The filter.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static async ValueTask<IndexPage<T>> ReadAsync<T>(
        IndexMerge merge,
        int pageSize,
        bool filtered,
        Func<List<(string Member, int Source)>, CancellationToken, ValueTask<IReadOnlyList<T?>>> read,
        Func<T, bool> matches,
        CancellationToken cancellationToken)
        where T : class
    {
        var items = new List<T>(Math.Min(pageSize, StateKeys.MaxPageSize));
        (string Member, int Source)? last = null;
        var examined = 0;
        while (items.Count < pageSize && examined < ScanLimit)
        {
            var need = pageSize - items.Count;
            var chunkSize = Math.Min(StateKeys.MaxPageSize, filtered ? Math.Min(Math.Max(need, 100), ScanLimit - examined) : need);
            var chunk = new List<(string Member, int Source)>(chunkSize);
            while (chunk.Count < chunkSize && await merge.NextAsync(cancellationToken).ConfigureAwait(false) is { } next)
            {
                chunk.Add(next);
            }

            if (chunk.Count == 0)
            {
                return new IndexPage<T>(items, null);
            }

            var values = await read(chunk, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < chunk.Count; i++)
            {
                examined++;
                last = chunk[i];
                if (values[i] is { } value && matches(value))
                {
                    items.Add(value);
                    if (items.Count == pageSize && i < chunk.Count - 1)
                    {
                        return new IndexPage<T>(items, last);
                    }
                }
            }

            if (chunk.Count < chunkSize)
            {
                return new IndexPage<T>(items, null);
            }
        }

        return new IndexPage<T>(items, await merge.HasMoreAsync(cancellationToken).ConfigureAwait(false) ? last : null);
    }
}
