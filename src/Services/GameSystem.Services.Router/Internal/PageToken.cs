using System.Text;

namespace GameSystem.Services.Router.Internal;

/// <summary>ListRoutes' page token: the id of the last route returned, so a route added or removed between pages never shifts the others.</summary>
internal static class PageToken
{
    private const string Prefix = "routes-after:";

    public static string Encode(string routeId) => Convert.ToBase64String(Encoding.UTF8.GetBytes(Prefix + routeId));

    /// <summary>The route id to list after; null for the first page; INVALID_ARGUMENT for a token ListRoutes did not return.</summary>
    public static string? Decode(string token)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (text.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return text[Prefix.Length..];
            }
        }
        catch (FormatException)
        {
        }

        throw Errors.InvalidArgument("page_token", "is not a token returned by ListRoutes; pass next_page_token unchanged or leave it empty");
    }
}
