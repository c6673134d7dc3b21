using GameSystem.Mesh;
using GameSystem.Services.Auth.Internal;
using Grpc.Core;

namespace GameSystem.Services.Auth.Tests;

/// <summary>
/// The authorization rule of per-account and admin methods. The principals here are made by
/// hand for the rule alone; served calls get theirs only from the identity interceptor.
/// </summary>
public sealed class AccessRulesTests
{
    private static MeshPrincipal Principal(string subject, params string[] scopes) =>
        new(subject, "someone", "ses-1", ["player"], [.. scopes], "jti-1", DateTimeOffset.UnixEpoch.AddYears(60));

    [Fact]
    public void OwnerOrAdmin_TheOwner_IsAllowed() =>
        AccessRules.RequireOwnerOrAdmin(Principal("acc-1", "player"), "acc-1", "GetAccount");

    [Theory]
    [InlineData("auth.admin")]
    [InlineData("auth.*")]
    [InlineData("*")]
    public void OwnerOrAdmin_AnotherCallerWithAuthAdmin_IsAllowed(string scope) =>
        AccessRules.RequireOwnerOrAdmin(Principal("acc-2", scope), "acc-1", "GetAccount");

    [Theory]
    [InlineData("player")]
    [InlineData("auth.admins")]
    [InlineData("auth")]
    public void OwnerOrAdmin_AnotherCallerWithout_IsPermissionDenied(string scope)
    {
        var error = Assert.Throws<RpcException>(() => AccessRules.RequireOwnerOrAdmin(Principal("acc-2", scope), "acc-1", "GetAccount"));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("acc-2", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void OwnerOrAdmin_NoCaller_IsUnauthenticated() =>
        Assert.Equal(StatusCode.Unauthenticated, Assert.Throws<RpcException>(() => AccessRules.RequireOwnerOrAdmin(null, "acc-1", "GetAccount")).StatusCode);

    [Fact]
    public void Admin_NoCaller_IsUnauthenticated() =>
        Assert.Equal(StatusCode.Unauthenticated, Assert.Throws<RpcException>(() => AccessRules.RequireAdmin(null, "ListAccounts")).StatusCode);

    [Fact]
    public void Admin_ACallerWithoutTheScope_IsPermissionDenied() =>
        Assert.Equal(StatusCode.PermissionDenied, Assert.Throws<RpcException>(() => AccessRules.RequireAdmin(Principal("acc-2", "player"), "ListAccounts")).StatusCode);

    [Fact]
    public void Admin_AnAdmin_IsAllowed() => AccessRules.RequireAdmin(Principal("acc-2", "auth.admin"), "ListAccounts");
}
