using System.Text;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>
/// Page tokens: the listing they belong to and the last index member examined. A listing
/// resumes after that member, so an entry added or removed between pages never shifts the
/// others, and a token passed to another listing (or another filter) is refused.
/// </summary>
internal static class PageCursor
{
    /// <summary>The token resuming <paramref name="listing"/> after <paramref name="member"/>.</summary>
    public static string After(string listing, string member) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(listing + "\n" + member));

    /// <summary>The member to resume after, or null for the first page; INVALID_ARGUMENT for a token of another listing.</summary>
    public static string? Resume(string token, string listing)
    {
        if (token.Length == 0)
        {
            return null;
        }

        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            text = "";
        }

        var split = text.IndexOf('\n', StringComparison.Ordinal);
        return split > 0 && string.Equals(text[..split], listing, StringComparison.Ordinal) && split < text.Length - 1
            ? text[(split + 1)..]
            : throw Errors.InvalidArgument("page_token", "is not a token of this listing (with these filters); pass next_page_token unchanged with the same filters, or leave it empty.");
    }

    /// <summary>A page size within 1-<paramref name="max"/>, 0 selecting <paramref name="defaultSize"/>.</summary>
    public static int Size(int requested, int defaultSize, int max)
    {
        Errors.Require(requested >= 0 && requested <= max, "page_size", $"must be 1-{max} (0 selects {defaultSize}); got {requested}.");
        return requested == 0 ? defaultSize : requested;
    }
}
