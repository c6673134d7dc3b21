using GameSystem.Mesh;

namespace GameSystem.Services.Payment.Internal;

/// <summary>
/// Who may do what, decided from the verified caller (<see cref="MeshPrincipal"/>), failing
/// closed: a call without one is UNAUTHENTICATED here too, so a server run without the
/// runtime's identity interceptor leaves no wallet open.
/// </summary>
internal static class Access
{
    /// <summary>The scope of the internal methods, and that lets a caller act on any player.</summary>
    public const string AdminScope = "payment.admin";

    /// <summary>The scope that lets a caller read any player's wallet, purchases and ledger entries.</summary>
    public const string ReadScope = "payment.read";

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED without <see cref="AdminScope"/>.</summary>
    public static void RequireAdmin(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, AdminScope, rpc);

    /// <summary>
    /// UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless the caller is
    /// <paramref name="playerId"/> or holds <see cref="AdminScope"/> (or, to read, <see cref="ReadScope"/>).
    /// </summary>
    public static void RequirePlayer(MeshPrincipal? principal, string playerId, bool write, string rpc)
    {
        var token = write
            ? $"player '{playerId}'s own access token, or one with scope '{AdminScope}'"
            : $"player '{playerId}'s own access token, or one with scope '{ReadScope}' or '{AdminScope}'";
        var caller = MeshAuthorization.RequireCaller(principal, rpc, token);
        if (string.Equals(caller.Subject, playerId, StringComparison.Ordinal) || caller.HasScope(AdminScope) || (!write && caller.HasScope(ReadScope)))
        {
            return;
        }

        throw Errors.PermissionDenied(write
            ? $"{rpc}: the caller '{caller.Subject}' may buy only for itself, not for player '{playerId}'; acting for another player needs the '{AdminScope}' scope."
            : $"{rpc}: the caller '{caller.Subject}' may read only its own wallet and purchases, not player '{playerId}'s; reading another player's needs the '{ReadScope}' or '{AdminScope}' scope.");
    }

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it holds <see cref="ReadScope"/> or <see cref="AdminScope"/> (reading the whole ledger).</summary>
    public static void RequireReader(MeshPrincipal? principal, string rpc, string what)
    {
        var caller = MeshAuthorization.RequireCaller(principal, rpc, $"an access token with scope '{ReadScope}' or '{AdminScope}'");
        if (!caller.HasScope(ReadScope) && !caller.HasScope(AdminScope))
        {
            throw Errors.PermissionDenied($"{rpc}: {what} needs the '{ReadScope}' or '{AdminScope}' scope; the caller '{caller.Subject}' holds neither (a player reads its own entries with player_id set to its account id).");
        }
    }
}
