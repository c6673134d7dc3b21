using GameSystem.Mesh;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// Who may do what, decided from the verified caller (<see cref="MeshPrincipal"/>), failing
/// closed: a call without one is UNAUTHENTICATED here too, so a server run without the
/// runtime's identity interceptor leaves no player's settings and no definition open.
/// </summary>
internal static class Access
{
    /// <summary>The scope definition writes need, and that lets a caller act on any player.</summary>
    public const string AdminScope = "settings.admin";

    /// <summary>The scope that lets a caller read and watch any player's settings.</summary>
    public const string ReadScope = "settings.read";

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it may change definitions.</summary>
    public static void RequireAdmin(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, AdminScope, rpc);

    /// <summary>
    /// UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it may read
    /// (<paramref name="write"/> false) or change <paramref name="playerId"/>'s settings. The
    /// global defaults (empty id) are readable by every verified caller.
    /// </summary>
    public static void RequirePlayer(MeshPrincipal? principal, string playerId, bool write, string rpc)
    {
        var caller = MeshAuthorization.RequireCaller(principal, rpc, TokenNeeded(playerId, write));
        if (caller.HasScope(AdminScope))
        {
            return;
        }

        if (playerId.Length == 0 ? !write : string.Equals(caller.Subject, playerId, StringComparison.Ordinal))
        {
            return;
        }

        if (!write && caller.HasScope(ReadScope))
        {
            return;
        }

        throw Errors.PermissionDenied(write
            ? $"The caller '{caller.Subject}' may change only its own settings, not player '{playerId}'s; changing another player's settings needs the '{AdminScope}' scope."
            : $"The caller '{caller.Subject}' may read only its own settings, not player '{playerId}'s; reading another player's settings needs the '{ReadScope}' or '{AdminScope}' scope.");
    }

    private static string TokenNeeded(string playerId, bool write) => (playerId.Length, write) switch
    {
        (0, false) => "an access token",
        (0, true) => $"an access token with scope '{AdminScope}'",
        (_, false) => $"player '{playerId}'s own access token, or one with scope '{ReadScope}' or '{AdminScope}'",
        (_, true) => $"player '{playerId}'s own access token, or one with scope '{AdminScope}'",
    };
}
