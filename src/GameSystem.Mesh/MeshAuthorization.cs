using Grpc.Core;

namespace GameSystem.Mesh;

/// <summary>
/// The checks a handler makes of its verified caller (<see cref="MeshPrincipalExtensions.GetPrincipal"/>),
/// failing closed: no verified caller is UNAUTHENTICATED, whatever the server runs with; a caller
/// without what the method needs is PERMISSION_DENIED, naming what it lacks and who it is.
/// </summary>
/// <remarks>
/// The identity interceptor enforces a contract's <c>access</c> and <c>required_scopes</c>
/// before the handler runs. A handler uses these for the rules only it can decide (who owns the
/// resource a request names) and to check its declared scopes again, so that a server run
/// without the interceptor leaves none of them open.
/// </remarks>
public static class MeshAuthorization
{
    /// <summary>The verified caller, or UNAUTHENTICATED saying which token <paramref name="rpc"/> needs.</summary>
    /// <param name="principal">The call's verified principal, null when it has none.</param>
    /// <param name="rpc">The method, as the message names it (<c>CreateRoute</c>).</param>
    /// <param name="token">The token the method needs, e.g. <c>an access token with scope 'router.admin'</c>; any valid one by default.</param>
    public static MeshPrincipal RequireCaller(MeshPrincipal? principal, string rpc, string token = "an access token") =>
        principal ?? throw MeshStatus.Error(StatusCode.Unauthenticated, $"{rpc} needs {token}, sent as 'authorization: Bearer <token>' metadata; this call has no verified caller.");

    /// <summary>The verified caller if it holds <paramref name="scope"/>; UNAUTHENTICATED without one, PERMISSION_DENIED naming the scope and the caller otherwise.</summary>
    public static MeshPrincipal RequireScope(MeshPrincipal? principal, string scope, string rpc)
    {
        var caller = RequireCaller(principal, rpc, $"an access token with scope '{scope}'");
        return caller.HasScope(scope)
            ? caller
            : throw MeshStatus.Error(StatusCode.PermissionDenied, $"{rpc} needs scope '{scope}'; the caller '{caller.Subject}' does not hold it.");
    }

    /// <summary>The verified caller if it is a service account (<see cref="MeshPrincipal.IsService"/>); UNAUTHENTICATED without one, PERMISSION_DENIED naming the caller otherwise.</summary>
    public static MeshPrincipal RequireService(MeshPrincipal? principal, string rpc)
    {
        var caller = RequireCaller(principal, rpc, "a service account's access token (its host's service token)");
        return caller.IsService
            ? caller
            : throw MeshStatus.Error(StatusCode.PermissionDenied, $"{rpc} is for services only (MESH_ACCESS_INTERNAL); the caller '{caller.Subject}' is not a service account.");
    }
}
