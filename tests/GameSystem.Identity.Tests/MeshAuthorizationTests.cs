using GameSystem.Mesh;
using Grpc.Core;

namespace GameSystem.Identity.Tests;

/// <summary>The handlers' own checks of their caller, which fail closed whatever the server runs with.</summary>
public sealed class MeshAuthorizationTests
{
    private static MeshPrincipal Caller(string subject, string[] roles, params string[] scopes) =>
        new(subject, subject, "ses-1", [.. roles], [.. scopes], "jti-1", DateTimeOffset.UnixEpoch.AddYears(60));

    [Fact]
    public void RequireCaller_WithoutAVerifiedCaller_IsUnauthenticated_SayingWhichTokenAndHowToSendIt()
    {
        var error = Assert.Throws<RpcException>(() => MeshAuthorization.RequireCaller(null, "GetRoute"));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("GetRoute needs an access token, sent as 'authorization: Bearer <token>' metadata; this call has no verified caller.", error.Status.Detail);
    }

    [Fact]
    public void RequireScope_ReturnsTheCaller_WhenAGrantedScopeCoversIt()
    {
        var wildcard = Caller("acc-ops", ["ops"], "router.*");

        Assert.Same(wildcard, MeshAuthorization.RequireScope(wildcard, "router.admin", "CreateRoute"));
    }

    [Fact]
    public void RequireScope_WithoutTheScope_IsPermissionDenied_NamingTheScopeAndTheCaller()
    {
        var error = Assert.Throws<RpcException>(() => MeshAuthorization.RequireScope(Caller("acc-aria", ["player"], "player", "routers.admin"), "router.admin", "CreateRoute"));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("CreateRoute needs scope 'router.admin'; the caller 'acc-aria' does not hold it.", error.Status.Detail);
    }

    [Fact]
    public void RequireScope_WithoutAVerifiedCaller_IsUnauthenticated_NamingTheScope()
    {
        var error = Assert.Throws<RpcException>(() => MeshAuthorization.RequireScope(null, "router.admin", "CreateRoute"));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.StartsWith("CreateRoute needs an access token with scope 'router.admin', sent as", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void RequireService_TakesServiceAccountsOnly_NotEvenAnOperatorHoldingEveryScope()
    {
        var service = Caller("svc-time-manager", [MeshPrincipal.ServiceRole], "*");

        var denied = Assert.Throws<RpcException>(() => MeshAuthorization.RequireService(Caller("acc-root", ["admin"], "*"), "Register"));
        var anonymous = Assert.Throws<RpcException>(() => MeshAuthorization.RequireService(null, "Register"));

        Assert.Same(service, MeshAuthorization.RequireService(service, "Register"));
        Assert.Equal((StatusCode.PermissionDenied, "Register is for services only (MESH_ACCESS_INTERNAL); the caller 'acc-root' is not a service account."), (denied.StatusCode, denied.Status.Detail));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.StartsWith("Register needs a service account's access token", anonymous.Status.Detail, StringComparison.Ordinal);
    }
}
