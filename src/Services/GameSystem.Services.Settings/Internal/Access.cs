using GameSystem.Mesh;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// Who may do what, decided from the verified caller (<see cref="MeshPrincipal"/>).
/// </summary>
/// <remarks>
/// A null principal means the call carried no verified token. Every settings method is
/// declared AUTHENTICATED, so with the runtime's identity interceptor installed such a call
/// is refused before it reaches the service; a null principal therefore only reaches here
/// on a server run without identity (tests, a local mesh), where the caller is trusted as
/// the operator running it. With a principal, a player acts on their own settings only.
/// </remarks>
internal static class Access
{
    /// <summary>The scope definition writes need, and that lets a caller act on any player.</summary>
    public const string AdminScope = "settings.admin";

    /// <summary>The scope that lets a caller read and watch any player's settings.</summary>
    public const string ReadScope = "settings.read";

    /// <summary>PERMISSION_DENIED unless the caller may change definitions.</summary>
    public static void RequireAdmin(MeshPrincipal? principal, string rpc)
    {
        if (principal is not null && !principal.HasScope(AdminScope))
        {
            throw Errors.PermissionDenied($"{rpc} needs the '{AdminScope}' scope, which the caller '{principal.Subject}' does not hold.");
        }
    }

    /// <summary>
    /// PERMISSION_DENIED unless the caller may read (<paramref name="write"/> false) or change
    /// <paramref name="playerId"/>'s settings; the global defaults (empty id) are readable by all.
    /// </summary>
    public static void RequirePlayer(MeshPrincipal? principal, string playerId, bool write)
    {
        if (principal is null || principal.HasScope(AdminScope))
        {
            return;
        }

        if (playerId.Length == 0 ? !write : string.Equals(principal.Subject, playerId, StringComparison.Ordinal))
        {
            return;
        }

        if (!write && principal.HasScope(ReadScope))
        {
            return;
        }

        throw Errors.PermissionDenied(write
            ? $"The caller '{principal.Subject}' may change only its own settings, not player '{playerId}'s; changing another player's settings needs the '{AdminScope}' scope."
            : $"The caller '{principal.Subject}' may read only its own settings, not player '{playerId}'s; reading another player's settings needs the '{ReadScope}' or '{AdminScope}' scope.");
    }
}
