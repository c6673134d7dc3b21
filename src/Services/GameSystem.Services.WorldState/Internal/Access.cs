using GameSystem.Mesh;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// Who may do what, decided from the verified caller (<see cref="MeshPrincipal"/>), failing
/// closed: a call without one is UNAUTHENTICATED here too, so a server run without the
/// runtime's identity interceptor leaves the world read-only to nobody. The contract declares
/// the same scopes (<c>required_scopes</c>), which the interceptor enforces first.
/// </summary>
internal static class Access
{
    /// <summary>The scope of region writes (world building, operators).</summary>
    public const string AdminScope = "world-state.admin";

    /// <summary>The scope of entity writes and world events (game services hold it through their accounts' <c>*</c>).</summary>
    public const string WriteScope = "world-state.write";

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED without <see cref="AdminScope"/>.</summary>
    public static MeshPrincipal RequireAdmin(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, AdminScope, rpc);

    /// <summary>UNAUTHENTICATED without a verified caller; PERMISSION_DENIED without <see cref="WriteScope"/>.</summary>
    public static MeshPrincipal RequireWriter(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireScope(principal, WriteScope, rpc);

    /// <summary>UNAUTHENTICATED without a verified caller: every read needs one.</summary>
    public static MeshPrincipal RequireReader(MeshPrincipal? principal, string rpc) => MeshAuthorization.RequireCaller(principal, rpc);
}
