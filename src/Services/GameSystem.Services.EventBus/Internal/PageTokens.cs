using System.Text;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// Page tokens of the listings: the name of the last item returned, so a listing resumes
/// after it and an item added or removed between pages never shifts the others.
/// </summary>
internal static class PageTokens
{
    private const string Marker = "eb1:";

    /// <summary>The name a token resumes after, or null for an empty token; INVALID_ARGUMENT for one <paramref name="rpc"/> did not return.</summary>
    public static string? Decode(string token, string rpc)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (text.StartsWith(Marker, StringComparison.Ordinal) && text.Length > Marker.Length)
            {
                return text[Marker.Length..];
            }
        }
        catch (FormatException)
        {
        }

        throw Errors.InvalidArgument("page_token", $"'{token}' is not a token returned by {rpc}; pass next_page_token unchanged or leave it empty.");
    }

    public static int Size(int pageSize, int defaultSize, int maxSize)
    {
        Errors.Require(pageSize >= 0 && pageSize <= maxSize, "page_size", $"must be 1-{maxSize} (0 selects {defaultSize}); got {pageSize}.");
        return pageSize == 0 ? defaultSize : pageSize;
    }

    /// <summary>One page of an ordered sequence and the token of the next, empty on the last page.</summary>
    public static (List<T> Page, string NextPageToken) Take<T>(IEnumerable<T> ordered, int pageSize, Func<T, string> nameOf)
    {
        var items = ordered.Take(pageSize + 1).ToList();
        if (items.Count <= pageSize)
        {
            return (items, "");
        }

        items.RemoveAt(pageSize);
        return (items, Convert.ToBase64String(Encoding.UTF8.GetBytes(Marker + nameOf(items[^1]))));
    }
}
