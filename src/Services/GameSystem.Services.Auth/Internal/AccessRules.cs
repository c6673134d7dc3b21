using GameSystem.Mesh;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Who may call what. Per-account methods: the account's owner (the token's subject) or a
/// caller with <c>auth.admin</c>. Admin methods: the runtime enforces their declared
/// <c>required_scopes</c>; the handler checks again and fails closed (<see cref="MeshAuthorization"/>),
/// so a host that serves auth without the identity interceptor leaves no admin method open.
/// </summary>
internal static class AccessRules
{
    public const string AdminScope = "auth.admin";

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED unless it owns <paramref name="accountId"/> or holds <see cref="AdminScope"/>.</summary>
    public static void RequireOwnerOrAdmin(MeshPrincipal? principal, string accountId, string rpc)
    {
        var caller = MeshAuthorization.RequireCaller(principal, rpc, $"the account's own access token or one with scope '{AdminScope}'");
        if (!string.Equals(caller.Subject, accountId, StringComparison.Ordinal) && !caller.HasScope(AdminScope))
        {
            throw Errors.PermissionDenied($"{rpc} of account '{accountId}' is allowed to that account itself or to a caller with scope '{AdminScope}'; the caller is '{caller.Subject}'.");
        }
    }

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED when it lacks <see cref="AdminScope"/>.</summary>
    public static void RequireAdmin(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, AdminScope, rpc);
}
