using GameSystem.Services.Testing;
using GameSystem.Settings.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Settings.Tests;

/// <summary>Who may call what, behind the runtime's identity interceptor, with tokens the real auth issued.</summary>
public abstract partial class SettingsContract
{
    private static CreateSettingDefinitionRequest NewDefinitionRequest() => new() { Definition = Volume(NewKey()), RequestId = Guid.NewGuid().ToString() };

    private static async Task WatchToTheEndAsync(SettingsServiceClient client, string playerId)
    {
        await foreach (var _ in client.WatchSettingsAsync(new WatchSettingsRequest { PlayerId = playerId, SendInitial = true }, cancellationToken: Timeout))
        {
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Calls_WithoutAToken_AreUnauthenticated()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var anonymous = settings.Instances[0].ClientAs(TestCaller.Anonymous);

        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.CreateSettingDefinitionAsync(NewDefinitionRequest(), cancellationToken: Timeout).AsTask(), "CreateSettingDefinition", "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = key }, cancellationToken: Timeout).AsTask(), "GetSettingDefinition", "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => EffectiveAsync(anonymous, "", key), "GetEffectiveSetting");
        await FailsAsync(StatusCode.Unauthenticated, () => SetAsync(anonymous, NewPlayer(), key, Double(0.5)), "SetPlayerSetting");
        await FailsAsync(StatusCode.Unauthenticated, () => WatchToTheEndAsync(anonymous, ""), "WatchSettings");
    }

    [Fact(Timeout = 30_000)]
    public async Task DefinitionWrites_WithAPlayersToken_ArePermissionDenied_NamingTheScopeAndTheCaller()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        var defined = await DefineAsync(settings, Volume(key));
        var player = await settings.Identity.PlayerAsync(Timeout);
        var client = settings.Instances[0].ClientAs(player);

        await FailsAsync(StatusCode.PermissionDenied, () => client.CreateSettingDefinitionAsync(NewDefinitionRequest(), cancellationToken: Timeout).AsTask(), "'settings.admin'", player.Subject);
        await FailsAsync(
            StatusCode.PermissionDenied,
            () => client.UpdateSettingDefinitionAsync(new UpdateSettingDefinitionRequest { Definition = new SettingDefinition { Key = key, DefaultValue = Double(0.1) }, UpdateMask = new FieldMask { Paths = { "default_value" } }, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(),
            "'settings.admin'",
            player.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => client.DeleteSettingDefinitionAsync(new DeleteSettingDefinitionRequest { Key = key }, cancellationToken: Timeout).AsTask(), "'settings.admin'", player.Subject);

        // The player still reads the definitions and the global defaults, which its settings screen shows.
        Assert.Equal(defined, (await client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = key }, cancellationToken: Timeout)).Definition);
        var global = await EffectiveAsync(client, "", key);
        Assert.Equal((SettingSource.GlobalDefault, 0.8), (global.Source, global.Value.DoubleValue));
    }

    [Fact(Timeout = 30_000)]
    public async Task APlayer_ReadsChangesAndWatchesItsOwnSettings_ButNoOtherPlayersSettings()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var aria = await settings.Identity.PlayerAsync(Timeout);
        var bran = await settings.Identity.PlayerAsync(Timeout);
        var brans = await SetAsync(settings.Client, bran.Subject, key, Double(0.2));
        var client = settings.Instances[0].ClientAs(aria);

        var own = await SetAsync(client, aria.Subject, key, Double(0.7));
        Assert.Equal(own, await EffectiveAsync(client, aria.Subject, key));
        var (watch, snapshot) = await WatchStream.OpenAsync(client, new WatchSettingsRequest { PlayerId = aria.Subject }, Timeout);
        await using var _ = watch;
        Assert.Equal(new[] { own }, snapshot);

        await FailsAsync(StatusCode.PermissionDenied, () => EffectiveAsync(client, bran.Subject, key), aria.Subject, bran.Subject, "'settings.read'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.ListEffectiveSettingsAsync(new ListEffectiveSettingsRequest { PlayerId = bran.Subject }, cancellationToken: Timeout).AsTask(), aria.Subject, "'settings.read'");
        await FailsAsync(StatusCode.PermissionDenied, () => WatchToTheEndAsync(client, bran.Subject), aria.Subject, "'settings.read'");
        await FailsAsync(StatusCode.PermissionDenied, () => SetAsync(client, bran.Subject, key, Double(0.9)), aria.Subject, bran.Subject, "'settings.admin'");
        await FailsAsync(
            StatusCode.PermissionDenied,
            () => client.BatchSetPlayerSettingsAsync(new BatchSetPlayerSettingsRequest { PlayerId = bran.Subject, RequestId = Guid.NewGuid().ToString(), Changes = { new PlayerSettingChange { Key = key, Value = Double(0.9) } } }, cancellationToken: Timeout).AsTask(),
            aria.Subject,
            "'settings.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = bran.Subject, Key = key }, cancellationToken: Timeout).AsTask(), aria.Subject, "'settings.admin'");
        Assert.Equal(brans, await EffectiveAsync(settings.Client, bran.Subject, key));
        Assert.Null(await watch.NextWithinAsync(Quiet));
    }

    [Fact(Timeout = 30_000)]
    public async Task TheReadScope_ReadsAndWatchesAnyPlayer_ButChangesNothing()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var reader = await settings.Identity.OperatorAsync("settings.read", Timeout);
        var player = await settings.Identity.PlayerAsync(Timeout);
        var set = await SetAsync(settings.Instances[0].ClientAs(player), player.Subject, key, Double(0.3));
        var client = settings.Instances[0].ClientAs(reader);

        Assert.Equal(set, await EffectiveAsync(client, player.Subject, key));
        var (watch, snapshot) = await WatchStream.OpenAsync(client, new WatchSettingsRequest { PlayerId = player.Subject }, Timeout);
        await using var _ = watch;
        Assert.Equal(new[] { set }, snapshot);
        await FailsAsync(StatusCode.PermissionDenied, () => SetAsync(client, player.Subject, key, Double(0.4)), reader.Subject, "'settings.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.CreateSettingDefinitionAsync(NewDefinitionRequest(), cancellationToken: Timeout).AsTask(), reader.Subject, "'settings.admin'");
    }

    [Fact(Timeout = 30_000)]
    public async Task AServiceAccount_AndAWildcardOperator_ActOnAnyPlayer()
    {
        await using var settings = await StartAsync();
        var service = await settings.Identity.ServiceAsync("quest-system", Timeout);
        var wildcard = await settings.Identity.OperatorAsync("settings.*", Timeout);
        var player = await settings.Identity.PlayerAsync(Timeout);
        var key = NewKey();

        var defined = (await settings.Instances[0].ClientAs(wildcard).CreateSettingDefinitionAsync(new CreateSettingDefinitionRequest { Definition = Volume(key), RequestId = Guid.NewGuid().ToString() }, cancellationToken: Timeout)).Definition;
        var byService = await SetAsync(settings.Instances[0].ClientAs(service), player.Subject, key, Double(0.6));

        Assert.True(service.Principal!.IsService);
        Assert.Equal(1, defined.Version);
        Assert.Equal(byService, await EffectiveAsync(settings.Instances[0].ClientAs(player), player.Subject, key));
    }

    [Fact(Timeout = 30_000)]
    public async Task WithoutTheIdentityInterceptor_EveryMethodFailsClosed_WhateverTokenIsSent()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));

        // Served as a host with identity off serves it: the operator's token reaches the handler unverified.
        var unverified = (await settings.AddInstanceAsync(verifyCallers: false)).Client;

        await FailsAsync(StatusCode.Unauthenticated, () => unverified.CreateSettingDefinitionAsync(NewDefinitionRequest(), cancellationToken: Timeout).AsTask(), "CreateSettingDefinition needs an access token with scope 'settings.admin'", "no verified caller");
        await FailsAsync(StatusCode.Unauthenticated, () => unverified.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = key }, cancellationToken: Timeout).AsTask(), "GetSettingDefinition needs an access token");
        await FailsAsync(StatusCode.Unauthenticated, () => EffectiveAsync(unverified, "", key), "GetEffectiveSetting needs an access token");
        await FailsAsync(StatusCode.Unauthenticated, () => SetAsync(unverified, settings.Operator.Subject, key, Double(0.5)), $"SetPlayerSetting needs player '{settings.Operator.Subject}'s own access token");
        await FailsAsync(StatusCode.Unauthenticated, () => WatchToTheEndAsync(unverified, ""), "WatchSettings needs an access token");
    }
}
