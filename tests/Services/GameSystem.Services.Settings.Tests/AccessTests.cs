using GameSystem.Mesh;
using GameSystem.Services.Settings.Internal;
using Grpc.Core;

namespace GameSystem.Services.Settings.Tests;

public sealed class AccessTests
{
    private static MeshPrincipal Caller(string subject, params string[] scopes) =>
        new(subject, null, null, ["player"], [.. scopes], "jti-1", DateTimeOffset.UtcNow.AddMinutes(5));

    [Fact]
    public void APlayer_ReadsAndWritesOnlyTheirOwnSettings()
    {
        var aria = Caller("acc-aria");

        Access.RequirePlayer(aria, "acc-aria", write: true);
        Access.RequirePlayer(aria, "", write: false);
        var write = Assert.Throws<RpcException>(() => Access.RequirePlayer(aria, "acc-bran", write: true));
        var read = Assert.Throws<RpcException>(() => Access.RequirePlayer(aria, "acc-bran", write: false));
        var global = Assert.Throws<RpcException>(() => Access.RequirePlayer(aria, "", write: true));

        Assert.All([write, read, global], e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Contains("settings.admin", write.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("settings.read", read.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void TheAdminScope_ActsOnAnyPlayer_AndTheReadScopeOnlyReads()
    {
        Access.RequirePlayer(Caller("ops-1", "settings.admin"), "acc-bran", write: true);
        Access.RequirePlayer(Caller("svc-quests", "settings.*"), "acc-bran", write: true);
        Access.RequirePlayer(Caller("svc-ui", "settings.read"), "acc-bran", write: false);

        Assert.Throws<RpcException>(() => Access.RequirePlayer(Caller("svc-ui", "settings.read"), "acc-bran", write: true));
    }

    [Fact]
    public void DefinitionWrites_NeedTheAdminScope()
    {
        Access.RequireAdmin(Caller("ops-1", "settings.admin"), "CreateSettingDefinition");
        var error = Assert.Throws<RpcException>(() => Access.RequireAdmin(Caller("acc-aria", "settings.read"), "CreateSettingDefinition"));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("'settings.admin'", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAVerifiedCaller_TheServerTrustsItsOperator()
    {
        // Only a server run without the identity interceptor gets here with no principal.
        Access.RequireAdmin(null, "DeleteSettingDefinition");
        Access.RequirePlayer(null, "acc-bran", write: true);
    }
}
