using GameSystem.Mesh;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>What a call does to a player's data, for <see cref="Access.RequirePlayer"/>.</summary>
internal enum PlayerRight
{
    /// <summary>Reads it: the player, a service, or a holder of <c>state-manager.read</c> or <c>state-manager.admin</c>.</summary>
    Read,

    /// <summary>Changes it as the game client does (saves, checkpoints, rollbacks, sessions): the player, a service, or an admin.</summary>
    Write,

    /// <summary>Grants or takes items and experience, deletes the player: a service or an admin, never the player itself.</summary>
    Grant,
}

/// <summary>
/// Who may do what, decided from the verified caller (<see cref="MeshPrincipal"/>), failing
/// closed: a call without one is UNAUTHENTICATED here too, so a server run without the
/// runtime's identity interceptor leaves no player's data open.
/// </summary>
internal static class Access
{
    /// <summary>The scope item-definition writes need, and that lets a caller act on any player.</summary>
    public const string AdminScope = "state-manager.admin";

    /// <summary>The scope that lets a caller (support tools) read any player's data.</summary>
    public const string ReadScope = "state-manager.read";

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it holds <see cref="AdminScope"/>.</summary>
    public static void RequireAdmin(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, AdminScope, rpc);

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it has <paramref name="right"/> on <paramref name="playerId"/>'s data.</summary>
    public static void RequirePlayer(MeshPrincipal? principal, string playerId, PlayerRight right, string rpc)
    {
        var caller = MeshAuthorization.RequireCaller(principal, rpc, TokenNeeded(playerId, right));
        if (caller.IsService || caller.HasScope(AdminScope))
        {
            return;
        }

        if (right != PlayerRight.Grant && string.Equals(caller.Subject, playerId, StringComparison.Ordinal))
        {
            return;
        }

        if (right == PlayerRight.Read && caller.HasScope(ReadScope))
        {
            return;
        }

        throw Errors.PermissionDenied(right switch
        {
            PlayerRight.Grant => $"{rpc} is for services and operators: the caller '{caller.Subject}' is neither a service account nor holds the '{AdminScope}' scope. Items and experience reach a player through the service that awards them (quest-system, loot), never from the player's own client.",
            PlayerRight.Write => $"The caller '{caller.Subject}' may change only its own state, not player '{playerId}'s; changing another player's state needs a service account or the '{AdminScope}' scope.",
            _ => $"The caller '{caller.Subject}' may read only its own state, not player '{playerId}'s; reading another player's state needs a service account or the '{ReadScope}' or '{AdminScope}' scope.",
        });
    }

    private static string TokenNeeded(string playerId, PlayerRight right) => right switch
    {
        PlayerRight.Grant => $"a service account's token or one with scope '{AdminScope}'",
        PlayerRight.Write => $"player '{playerId}'s own access token, a service account's, or one with scope '{AdminScope}'",
        _ => $"player '{playerId}'s own access token, a service account's, or one with scope '{ReadScope}' or '{AdminScope}'",
    };
}
