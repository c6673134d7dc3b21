using System.Text;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>
/// Page tokens: the listing they belong to and the sort key of the last item returned.
/// Listings resume after that key, so an instance registered or expired between pages never
/// shifts the others.
/// </summary>
internal static class PageTokens
{
    public static string Encode(string rpc, params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(rpc + "\0" + string.Join('\0', parts)));

    /// <summary>The parts of a token, or null for an empty one; INVALID_ARGUMENT when it is not one of <paramref name="rpc"/>'s tokens.</summary>
    public static string[]? Decode(string token, string rpc, int parts)
    {
        if (token.Length == 0)
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('\0');
            if (decoded.Length == parts + 1 && decoded[0] == rpc)
            {
                return decoded[1..];
            }
        }
        catch (FormatException)
        {
            // Reported below, as any other foreign token.
        }

        throw Errors.InvalidArgument("page_token", $"is not a token returned by {rpc}; pass next_page_token unchanged or leave it empty.");
    }

    /// <summary>A lower bound just after <paramref name="member"/>: no member lies between (members hold no control characters).</summary>
    public static string After(string member) => member + " ";
}
