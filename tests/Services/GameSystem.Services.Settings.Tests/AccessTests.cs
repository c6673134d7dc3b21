using GameSystem.Mesh;
using GameSystem.Services.Settings.Internal;
using Grpc.Core;

namespace GameSystem.Services.Settings.Tests;

/// <summary>
/// The rules alone, with principals made by hand; served calls get theirs only from the identity
/// interceptor (SettingsContract.Identity runs them behind it with auth's tokens).
/// </summary>
public sealed class AccessTests
{
    private static MeshPrincipal Caller(string subject, params string[] scopes) =>
        new(subject, null, null, ["player"], [.. scopes], "jti-1", DateTimeOffset.UtcNow.AddMinutes(5));

    [Fact]
    public void APlayer_ReadsAndWritesOnlyTheirOwnSettings()
    {
        var aria = Caller("acc-aria");

        Access.RequirePlayer(aria, "acc-aria", write: true, "SetPlayerSetting");
        Access.RequirePlayer(aria, "", write: false, "GetEffectiveSetting");
        var write = Assert.Throws<RpcException>(() => Access.RequirePlayer(aria, "acc-bran", write: true, "SetPlayerSetting"));
        var read = Assert.Throws<RpcException>(() => Access.RequirePlayer(aria, "acc-bran", write: false, "GetEffectiveSetting"));
        var global = Assert.Throws<RpcException>(() => Access.RequirePlayer(aria, "", write: true, "SetPlayerSetting"));

        Assert.All([write, read, global], e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.All([write, read, global], e => Assert.Contains("'acc-aria'", e.Status.Detail, StringComparison.Ordinal));
        Assert.Contains("settings.admin", write.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("settings.read", read.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void TheAdminScope_ActsOnAnyPlayer_AndTheReadScopeOnlyReads()
    {
        Access.RequirePlayer(Caller("ops-1", "settings.admin"), "acc-bran", write: true, "SetPlayerSetting");
        Access.RequirePlayer(Caller("svc-quests", "settings.*"), "acc-bran", write: true, "SetPlayerSetting");
        Access.RequirePlayer(Caller("svc-ui", "settings.read"), "acc-bran", write: false, "WatchSettings");

        Assert.Throws<RpcException>(() => Access.RequirePlayer(Caller("svc-ui", "settings.read"), "acc-bran", write: true, "SetPlayerSetting"));
    }

    [Fact]
    public void DefinitionWrites_NeedTheAdminScope()
    {
        Access.RequireAdmin(Caller("ops-1", "settings.admin"), "CreateSettingDefinition");
        var error = Assert.Throws<RpcException>(() => Access.RequireAdmin(Caller("acc-aria", "settings.read"), "CreateSettingDefinition"));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("CreateSettingDefinition needs scope 'settings.admin'; the caller 'acc-aria' does not hold it.", error.Status.Detail);
    }

    [Theory]
    [InlineData("acc-bran", true, "ClearPlayerSetting needs player 'acc-bran's own access token, or one with scope 'settings.admin'")]
    [InlineData("acc-bran", false, "GetEffectiveSetting needs player 'acc-bran's own access token, or one with scope 'settings.read' or 'settings.admin'")]
    [InlineData("", false, "ListEffectiveSettings needs an access token,")]
    public void WithoutAVerifiedCaller_PlayerSettings_AreUnauthenticated_SayingWhichToken(string playerId, bool write, string message)
    {
        var rpc = message[..message.IndexOf(' ', StringComparison.Ordinal)];

        var error = Assert.Throws<RpcException>(() => Access.RequirePlayer(null, playerId, write, rpc));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.StartsWith(message, error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("authorization: Bearer", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAVerifiedCaller_DefinitionWrites_AreUnauthenticated()
    {
        var error = Assert.Throws<RpcException>(() => Access.RequireAdmin(null, "DeleteSettingDefinition"));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.StartsWith("DeleteSettingDefinition needs an access token with scope 'settings.admin'", error.Status.Detail, StringComparison.Ordinal);
    }
}
