using System.Text;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Page tokens: the sort key of the last item returned (and, for exports, the etag the
/// pages belong to). Listings resume after that key, so an item added or removed between
/// pages never shifts the others.
/// </summary>
internal static class PageTokens
{
    public static string Encode(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\0', parts)));

    /// <summary>The parts of a token, or null for an empty one; INVALID_ARGUMENT when it was not one of <paramref name="rpc"/>'s tokens.</summary>
    public static string[]? Decode(string token, string rpc, int parts)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('\0');
            if (decoded.Length == parts)
            {
                return decoded;
            }
        }
        catch (FormatException)
        {
        }

        throw Errors.InvalidArgument($"page_token is not a token returned by {rpc}; pass next_page_token unchanged or leave it empty.");
    }

    /// <summary>Checks a page size against its range; 0 selects <paramref name="defaultSize"/>.</summary>
    public static int Size(int pageSize, int defaultSize, int maxSize)
    {
        Errors.Require(pageSize is >= 0 && pageSize <= maxSize, $"page_size must be 1-{maxSize} (0 selects {defaultSize}); got {pageSize}.");
        return pageSize == 0 ? defaultSize : pageSize;
    }

    /// <summary>
    /// The first <paramref name="pageSize"/> items of an ordered sequence (already past the
    /// previous page's token) and the token of the next page, empty on the last page.
    /// </summary>
    public static (List<T> Page, string NextPageToken) Take<T>(IEnumerable<T> ordered, int pageSize, Func<T, string> tokenOf)
    {
        var items = ordered.Take(pageSize + 1).ToList();
        if (items.Count <= pageSize)
        {
            return (items, "");
        }

        items.RemoveAt(pageSize);
        return (items, tokenOf(items[^1]));
    }
}
