using System.Text;
using GameSystem.State;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Listings that page an ordered index: read members a chunk at a time from where the last
/// page stopped, read their records, keep those a filter accepts. A filter that matches
/// little returns a short page with a token to go on (as AIP-158 allows) rather than reading
/// the whole index in one call.
/// </summary>
internal static class IndexPaging
{
    /// <summary>Members one call examines at most.</summary>
    public const int ScanLimit = 2000;

    /// <summary>One page: the items and the last member examined (null when the index is exhausted).</summary>
    public sealed record Page<T>(List<T> Items, string? ResumeAfter);

    public static async ValueTask<Page<T>> ReadAsync<T>(
        IStateStore store,
        string index,
        string? prefix,
        bool descending,
        string? resumeAfter,
        int pageSize,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T?>>> read,
        Func<T, bool> matches,
        CancellationToken cancellationToken)
        where T : class
    {
        var items = new List<T>(pageSize);
        var last = resumeAfter;
        var examined = 0;
        while (examined < ScanLimit)
        {
            var chunk = Math.Min(Math.Max(pageSize - items.Count, 50), ScanLimit - examined);
            var query = new StateIndexQuery
            {
                Prefix = prefix,
                Descending = descending,
                From = descending || last is null ? null : last + StoreKeys.MemberSeparator,
                To = descending ? last : null,
                PageSize = Math.Min(chunk, StateKeys.MaxPageSize),
            };
            var page = await store.QueryIndexAsync(index, query, cancellationToken).ConfigureAwait(false);
            if (page.Members.Count == 0)
            {
                return new Page<T>(items, null);
            }

            var values = await read(page.Members, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < page.Members.Count; i++)
            {
                examined++;
                last = page.Members[i];
                if (values[i] is { } value && matches(value))
                {
                    items.Add(value);
                    if (items.Count == pageSize)
                    {
                        var more = i < page.Members.Count - 1 || page.NextPageToken is not null;
                        return new Page<T>(items, more ? last : null);
                    }
                }
            }

            if (page.NextPageToken is null)
            {
                return new Page<T>(items, null);
            }
        }

        return new Page<T>(items, last);
    }

    public static string EncodeToken(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', parts)));

    /// <summary>The parts of a token, or null for an empty one; INVALID_ARGUMENT when it is not one of <paramref name="rpc"/>'s.</summary>
    public static string[]? DecodeToken(string token, string rpc, int parts)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('\n');
            if (decoded.Length == parts && decoded[0] == rpc)
            {
                return decoded;
            }
        }
        catch (FormatException)
        {
        }

        throw Errors.InvalidArgument("page_token", $"is not a token returned by {rpc}; pass next_page_token unchanged or leave it empty.");
    }

    /// <summary>Checks a page size against its range; 0 selects <paramref name="defaultSize"/>.</summary>
    public static int Size(int pageSize, int defaultSize, int maxSize)
    {
        Errors.Require(pageSize >= 0 && pageSize <= maxSize, "page_size", $"must be 1-{maxSize} (0 selects {defaultSize}); got {pageSize}.");
        return pageSize == 0 ? defaultSize : pageSize;
    }
}
