using System.Text;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>
/// Page tokens: the listing they belong to (its filters) and the last index member examined.
/// A listing resumes after that member, so a change between pages never shifts the rest, and a
/// token passed to another listing (or other filters) is refused.
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

        var split = text.LastIndexOf('\n');
        return split > 0 && string.Equals(text[..split], listing, StringComparison.Ordinal) && split < text.Length - 1
            ? text[(split + 1)..]
            : throw Errors.InvalidArgument("page_token", "is not a token of this listing (with these filters); pass next_page_token unchanged with the same filters, or leave it empty.");
    }

    /// <summary>The page size asked for, or INVALID_ARGUMENT.</summary>
    public static int PageSize(int requested, int defaultSize, int max) =>
        requested == 0 ? defaultSize
        : requested >= 1 && requested <= max ? requested
        : throw Errors.InvalidArgument("page_size", $"is {requested}: ask for 1-{max} entries, or 0 for the default of {defaultSize}.");
}
