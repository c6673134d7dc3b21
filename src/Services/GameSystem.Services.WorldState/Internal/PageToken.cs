using System.Globalization;
using System.Text;
using Google.Protobuf;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// Page tokens: a digest of the request they continue (filters, not the page size), the
/// region version the listing is read at (QueryRegion) and where to resume. A token passed
/// with other filters, or tampered with, is INVALID_ARGUMENT.
/// </summary>
internal static class PageToken
{
    public static string Encode(IMessage filters, long version, string resume) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', Digest(filters), version.ToString(CultureInfo.InvariantCulture), resume)));

    /// <summary>The version and resume point of <paramref name="token"/>, or null for the first page.</summary>
    public static (long Version, string Resume)? Decode(string token, IMessage filters)
    {
        if (token.Length == 0)
        {
            return null;
        }

        string[] parts;
        try
        {
            parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('\n');
        }
        catch (FormatException)
        {
            parts = [];
        }

        if (parts.Length != 3 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var version) || parts[2].Length == 0)
        {
            throw Errors.InvalidArgument("page_token", "is not a page token of world-state; pass next_page_token unchanged, or leave it empty for the first page.");
        }

        return parts[0] == Digest(filters)
            ? (version, parts[2])
            : throw Errors.InvalidArgument("page_token", "belongs to a listing with other filters; repeat the filters of the call that returned it (only page_size may change), or leave it empty to start again.");
    }

    /// <summary>A page size within 1-<paramref name="max"/>, 0 selecting <paramref name="defaultSize"/>.</summary>
    public static int Size(int requested, int defaultSize, int max)
    {
        Errors.Require(requested >= 0 && requested <= max, "page_size", $"must be 1-{max} (0 selects {defaultSize}); got {requested}.");
        return requested == 0 ? defaultSize : requested;
    }

    private static string Digest(IMessage filters) => Convert.ToHexStringLower(Fingerprint.Of(filters).Span[..12]);
}
