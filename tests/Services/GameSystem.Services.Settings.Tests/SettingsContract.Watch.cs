using GameSystem.Settings.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Settings.Tests;

public abstract partial class SettingsContract
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);

    [Fact(Timeout = 60_000)]
    public async Task WatchSettings_OnInstanceB_SeesTheChangesMadeOnInstanceA()
    {
        await using var settings = await StartAsync(instances: 2);
        var (a, b) = (settings.Instances[0].Client, settings.Instances[1].Client);
        var (volume, quality) = (NewKey(), NewKey("graphics"));
        await DefineAsync(settings, Volume(volume));
        await DefineAsync(settings, Quality(quality));
        var (player, stranger) = (NewPlayer(), NewPlayer());
        var (watch, snapshot) = await WatchStream.OpenAsync(b, new WatchSettingsRequest { PlayerId = player }, Timeout);
        await using var _ = watch;
        Assert.Equal(new[] { volume, quality }.Order(StringComparer.Ordinal), snapshot.Select(s => s.Key));

        var set = await SetAsync(a, player, volume, Double(0.3));
        var seen = await watch.NextAsync();
        Assert.Equal((SettingChangeType.Updated, set), (seen.ChangeType, seen.Setting));

        // Another player's change is not this watch's business; the player's own override hides a default change.
        await SetAsync(a, stranger, quality, Text("low"));
        await a.UpdateSettingDefinitionAsync(
            new UpdateSettingDefinitionRequest { Definition = new SettingDefinition { Key = volume, DefaultValue = Double(0.6) }, UpdateMask = new FieldMask { Paths = { "default_value" } }, ExpectedVersion = 1 },
            cancellationToken: Timeout);
        var quality2 = await a.UpdateSettingDefinitionAsync(
            new UpdateSettingDefinitionRequest { Definition = new SettingDefinition { Key = quality, DefaultValue = Text("high") }, UpdateMask = new FieldMask { Paths = { "default_value" } }, ExpectedVersion = 1 },
            cancellationToken: Timeout);
        var next = await watch.NextAsync();
        Assert.Equal((quality, SettingSource.GlobalDefault, "high", quality2.Definition.Version), (next.Setting.Key, next.Setting.Source, next.Setting.Value.StringValue, next.Setting.DefinitionVersion));

        var cleared = (await a.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = player, Key = volume }, cancellationToken: Timeout)).Setting;
        var back = await watch.NextAsync();
        Assert.Equal((SettingSource.GlobalDefault, 0.6), (back.Setting.Source, back.Setting.Value.DoubleValue));
        Assert.Equal(cleared, back.Setting);
        Assert.Null(await watch.NextWithinAsync(Quiet));
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchSettings_IsDrivenByTheEventsOnEventBus_NotByTheStore()
    {
        // No relay runs (any instance's relay drains the shared outbox): changes reach the store, their events not event-bus.
        await using var settings = await StartAsync(instances: 2, startRelays: false);
        var (writer, watcher) = (settings.Instances[0], settings.Instances[1]);
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        var (watch, _) = await WatchStream.OpenAsync(watcher.Client, new WatchSettingsRequest { PlayerId = player, KeyPrefixes = { "audio." } }, Timeout);
        await using var _w = watch;

        var set = await SetAsync(writer.Client, player, key, Double(0.45));
        Assert.Equal(set, await EffectiveAsync(watcher.Client, player, key));
        Assert.Null(await watch.NextWithinAsync(Quiet));

        // Once the events flow, the watch catches up.
        await writer.StartRelayAsync();
        var seen = await watch.NextAsync();
        Assert.Equal(set, seen.Setting);
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchSettings_ForGlobalDefaults_SeesDefaultChangesAndDeletions_UnderItsPrefixes()
    {
        await using var settings = await StartAsync(instances: 2);
        var (audio, graphics) = (NewKey("audio"), NewKey("graphics"));
        await DefineAsync(settings, Volume(audio));
        await DefineAsync(settings, Quality(graphics));
        var (watch, snapshot) = await WatchStream.OpenAsync(settings.Instances[1].Client, new WatchSettingsRequest { KeyPrefixes = { "audio." } }, Timeout);
        await using var _ = watch;
        Assert.Equal([audio], snapshot.Select(s => s.Key));

        var a = settings.Instances[0].Client;
        await SetAsync(a, NewPlayer(), audio, Double(0.1));
        await a.UpdateSettingDefinitionAsync(
            new UpdateSettingDefinitionRequest { Definition = new SettingDefinition { Key = graphics, DefaultValue = Text("low") }, UpdateMask = new FieldMask { Paths = { "default_value" } }, ExpectedVersion = 1 },
            cancellationToken: Timeout);
        var created = await DefineAsync(settings, Volume(NewKey("audio")));
        var added = await watch.NextAsync();
        Assert.Equal((SettingChangeType.Updated, created.Key, SettingSource.GlobalDefault), (added.ChangeType, added.Setting.Key, added.Setting.Source));

        await a.DeleteSettingDefinitionAsync(new DeleteSettingDefinitionRequest { Key = audio }, cancellationToken: Timeout);
        var deleted = await watch.NextAsync();
        Assert.Equal((SettingChangeType.Deleted, audio), (deleted.ChangeType, deleted.Setting.Key));
        Assert.Null(deleted.Setting.Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchSettings_ResetOverrides_AreStreamedToThePlayersWatch()
    {
        await using var settings = await StartAsync(instances: 2);
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        await SetAsync(settings.Client, player, key, Double(0.95));
        var (watch, snapshot) = await WatchStream.OpenAsync(settings.Instances[1].Client, new WatchSettingsRequest { PlayerId = player }, Timeout);
        await using var _ = watch;
        Assert.Equal(SettingSource.PlayerOverride, Assert.Single(snapshot).Source);

        await settings.Client.UpdateSettingDefinitionAsync(
            new UpdateSettingDefinitionRequest
            {
                Definition = new SettingDefinition { Key = key, Constraints = new SettingConstraints { MinValue = 0, MaxValue = 0.9 } },
                UpdateMask = new FieldMask { Paths = { "constraints" } },
                ExpectedVersion = 1,
                ResetInvalidOverrides = true,
            },
            cancellationToken: Timeout);

        var seen = await watch.NextAsync();
        Assert.Equal((SettingSource.GlobalDefault, 0.8, 2L), (seen.Setting.Source, seen.Setting.Value.DoubleValue, seen.Setting.DefinitionVersion));
        Assert.Null(await watch.NextWithinAsync(Quiet));
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchSettings_WithoutSendInitial_SendsOnlyChanges()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        await using var watch = WatchStream.OpenBare(settings.Client, new WatchSettingsRequest { PlayerId = player }, Timeout);

        // Nothing tells the client when the watch is live, so change until a change arrives.
        WatchSettingsResponse? seen = null;
        var written = new List<EffectiveSetting>();
        for (var i = 1; seen is null && i < 20; i++)
        {
            written.Add(await SetAsync(settings.Client, player, key, Double(i / 100.0)));
            seen = await watch.NextWithinAsync(TimeSpan.FromMilliseconds(500));
        }

        Assert.NotNull(seen);
        Assert.False(seen.InitialSnapshotComplete);
        Assert.Contains(seen.Setting, written);
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchSettings_WithMalformedArguments_FailsInvalidArgument()
    {
        await using var settings = await StartAsync();

        async Task WatchAsync(WatchSettingsRequest request)
        {
            await foreach (var _ in settings.Client.WatchSettingsAsync(request, cancellationToken: Timeout))
            {
            }
        }

        var prefix = await FailsAsync(StatusCode.InvalidArgument, () => WatchAsync(new WatchSettingsRequest { KeyPrefixes = { "AUDIO" } }));
        var player = await FailsAsync(StatusCode.InvalidArgument, () => WatchAsync(new WatchSettingsRequest { PlayerId = "a b" }));
        Assert.Equal("key_prefixes[0]", Assert.Single(Violations(prefix)).Field);
        Assert.Equal("player_id", Assert.Single(Violations(player)).Field);
        Assert.Equal(0, settings.Instances[0].Service.WatcherCount);
    }
}
