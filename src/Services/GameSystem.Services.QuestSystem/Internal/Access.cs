using GameSystem.Mesh;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>What a call does to a player's quest log, for <see cref="Access.RequirePlayer"/>.</summary>
internal enum LogRight
{
    /// <summary>Reads it: the player, a service, or a holder of <c>quest-system.read</c> or <c>quest-system.admin</c>.</summary>
    Read,

    /// <summary>Changes it as the player does (accept, complete, abandon): the player, a service, or an admin.</summary>
    Play,

    /// <summary>Changes it as the game does (objective progress, failing a quest): a service or an admin, never the player's own client.</summary>
    Observe,
}

/// <summary>
/// Who may do what, decided from the verified caller (<see cref="MeshPrincipal"/>), failing
/// closed: a call without one is UNAUTHENTICATED here too, so a server run without the
/// runtime's identity interceptor leaves no quest log open.
/// </summary>
internal static class Access
{
    /// <summary>The scope definition writes need, and that lets a caller act on any player.</summary>
    public const string AdminScope = "quest-system.admin";

    /// <summary>The scope that lets a caller read any player's log and every definition.</summary>
    public const string ReadScope = "quest-system.read";

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED without <see cref="AdminScope"/>.</summary>
    public static void RequireAdmin(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, AdminScope, rpc);

    /// <summary>True when the caller sees definitions that are not PUBLISHED (drafts, retired ones).</summary>
    public static bool SeesUnpublished(MeshPrincipal? principal, string rpc)
    {
        var caller = MeshAuthorization.RequireCaller(principal, rpc);
        return caller.IsService || caller.HasScope(AdminScope) || caller.HasScope(ReadScope);
    }

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it has <paramref name="right"/> on <paramref name="playerId"/>'s log.</summary>
    public static void RequirePlayer(MeshPrincipal? principal, string playerId, LogRight right, string rpc)
    {
        var caller = MeshAuthorization.RequireCaller(principal, rpc, right == LogRight.Observe
            ? $"a service account's token or one with scope '{AdminScope}'"
            : $"player '{playerId}'s own access token, a service account's, or one with scope '{AdminScope}'");
        if (caller.IsService || caller.HasScope(AdminScope))
        {
            return;
        }

        if (right != LogRight.Observe && string.Equals(caller.Subject, playerId, StringComparison.Ordinal))
        {
            return;
        }

        if (right == LogRight.Read && caller.HasScope(ReadScope))
        {
            return;
        }

        throw Errors.PermissionDenied(right switch
        {
            LogRight.Observe => $"{rpc} is for the services that observe play and for operators: the caller '{caller.Subject}' is neither a service account nor holds the '{AdminScope}' scope. A player's client never reports its own progress or fails its own quests.",
            LogRight.Play => $"{rpc}: the caller '{caller.Subject}' may change only its own quest log, not player '{playerId}'s; acting for another player needs a service account or the '{AdminScope}' scope.",
            _ => $"{rpc}: the caller '{caller.Subject}' may read only its own quest log, not player '{playerId}'s; reading another player's needs a service account or the '{ReadScope}' or '{AdminScope}' scope.",
        });
    }
}
