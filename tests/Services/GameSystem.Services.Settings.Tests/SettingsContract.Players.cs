using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Settings.V1;
using Grpc.Core;

namespace GameSystem.Services.Settings.Tests;

public abstract partial class SettingsContract
{
    [Fact(Timeout = 30_000)]
    public async Task GetEffectiveSetting_ResolvesTheOverride_ElseTheGlobalDefault()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        var definition = await DefineAsync(settings, Volume(key));
        var (player, other) = (NewPlayer(), NewPlayer());

        var set = await SetAsync(settings.Client, player, key, Double(0.25));
        var mine = await EffectiveAsync(settings.Client, player, key);
        var theirs = await EffectiveAsync(settings.Client, other, key);
        var global = await EffectiveAsync(settings.Client, "", key);

        Assert.Equal(set, mine);
        Assert.Equal((SettingSource.PlayerOverride, 0.25, definition.Version), (mine.Source, mine.Value.DoubleValue, mine.DefinitionVersion));
        Assert.True(mine.OverrideVersion > 0);
        Assert.Equal((SettingSource.GlobalDefault, 0.8, 0L), (theirs.Source, theirs.Value.DoubleValue, theirs.OverrideVersion));
        Assert.Equal(definition.UpdateTime, theirs.UpdateTime);
        Assert.Equal(theirs, global);
    }

    [Fact(Timeout = 30_000)]
    public async Task GetEffectiveSetting_Errors()
    {
        await using var settings = await StartAsync();

        await FailsAsync(StatusCode.NotFound, () => EffectiveAsync(settings.Client, NewPlayer(), NewKey()), "not defined");
        var player = await FailsAsync(StatusCode.InvalidArgument, () => EffectiveAsync(settings.Client, "players/{x}", NewKey()));
        var key = await FailsAsync(StatusCode.InvalidArgument, () => EffectiveAsync(settings.Client, NewPlayer(), ""));
        Assert.Equal("player_id", Assert.Single(Violations(player)).Field);
        Assert.Equal("key", Assert.Single(Violations(key)).Field);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListEffectiveSettings_PagesInKeyOrderUnderThePrefixes_WithWhereEachComesFrom()
    {
        await using var settings = await StartAsync();
        var player = NewPlayer();
        var audio = Enumerable.Range(0, 6).Select(_ => NewKey("audio")).Order(StringComparer.Ordinal).ToList();
        var graphics = Enumerable.Range(0, 4).Select(_ => NewKey("graphics")).Order(StringComparer.Ordinal).ToList();
        var other = NewKey("server");
        foreach (var key in audio)
        {
            await DefineAsync(settings, Volume(key));
        }

        foreach (var key in graphics)
        {
            await DefineAsync(settings, Quality(key));
        }

        await DefineAsync(settings, TickRate(other));
        var overridden = new HashSet<string> { audio[1], audio[4], graphics[2] };
        foreach (var key in overridden)
        {
            await SetAsync(settings.Client, player, key, key.StartsWith("audio", StringComparison.Ordinal) ? Double(0.1) : Text("high"));
        }

        async Task<List<EffectiveSetting>> AllPagesAsync(ListEffectiveSettingsRequest request)
        {
            var all = new List<EffectiveSetting>();
            do
            {
                var page = await settings.Client.ListEffectiveSettingsAsync(request, cancellationToken: Timeout);
                Assert.True(page.Settings.Count <= request.PageSize);
                all.AddRange(page.Settings);
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            return all;
        }

        var listed = await AllPagesAsync(new ListEffectiveSettingsRequest { PlayerId = player, KeyPrefixes = { "graphics.", "audio.", "audio" }, PageSize = 3 });
        var onlyOverrides = await AllPagesAsync(new ListEffectiveSettingsRequest { PlayerId = player, OverridesOnly = true, PageSize = 2 });
        var global = await AllPagesAsync(new ListEffectiveSettingsRequest { PageSize = 4 });

        Assert.Equal(audio.Concat(graphics), listed.Select(s => s.Key));
        Assert.All(listed, s => Assert.Equal(overridden.Contains(s.Key) ? SettingSource.PlayerOverride : SettingSource.GlobalDefault, s.Source));
        Assert.Equal(overridden.Order(StringComparer.Ordinal), onlyOverrides.Select(s => s.Key));
        Assert.Equal(audio.Concat(graphics).Append(other), global.Select(s => s.Key));
        Assert.All(global, s => Assert.Equal(SettingSource.GlobalDefault, s.Source));
        await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.ListEffectiveSettingsAsync(new ListEffectiveSettingsRequest { OverridesOnly = true }, cancellationToken: Timeout).AsTask(), "overrides_only");
        await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.ListEffectiveSettingsAsync(new ListEffectiveSettingsRequest { PlayerId = player, KeyPrefixes = { "Audio" } }, cancellationToken: Timeout).AsTask(), "key_prefixes[0]");
    }

    public static TheoryData<string, string> ValuesBreakingRules => new()
    {
        { "double-above-max", "breaks max_value" },
        { "double-below-min", "breaks min_value" },
        { "double-infinite", "finite" },
        { "int-for-double", "breaks value_type" },
        { "choice", "breaks allowed_values" },
        { "pattern", "breaks pattern" },
        { "length", "breaks max_length" },
        { "list-items", "breaks max_items" },
        { "list-choice", "breaks allowed_values" },
        { "duration-format", "breaks value_type" },
        { "duration-below-min", "breaks min_value" },
        { "bool-as-string", "breaks value_type" },
        { "vector-nan", "finite" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(ValuesBreakingRules))]
    public async Task SetPlayerSetting_WithAValueBreakingARule_FailsInvalidArgumentNamingTheRule_AndStoresNothing(string @case, string rule)
    {
        await using var settings = await StartAsync();
        var (definition, value) = @case switch
        {
            "double-above-max" => (Volume(NewKey()), Double(1.01)),
            "double-below-min" => (Volume(NewKey()), Double(-1)),
            "double-infinite" => (Volume(NewKey()), Double(double.PositiveInfinity)),
            "int-for-double" => (Volume(NewKey()), new TypedValue { IntValue = 1 }),
            "choice" => (Quality(NewKey("graphics")), Text("ultra")),
            "pattern" => (Nickname(NewKey("profile")), Text("x1")),
            "length" => (Nickname(NewKey("profile")).Apply(d => d.Constraints.Pattern = ""), Text(Faker.Random.String2(13, "abcdefghij"))),
            "list-items" => (Channels(NewKey("chat")), new TypedValue { StringListValue = new StringList { Values = { "global", "guild", "party", "trade" } } }),
            "list-choice" => (Channels(NewKey("chat")), new TypedValue { StringListValue = new StringList { Values = { "guild", "lfg" } } }),
            "duration-format" => (IdleTimeout(NewKey("session")), Text("10 minutes")),
            "duration-below-min" => (IdleTimeout(NewKey("session")), Text("10s")),
            "bool-as-string" => (Flag(NewKey("gameplay")), Text("true")),
            _ => (Spawn(NewKey("world")), new TypedValue { VectorValue = new Vector3 { X = double.NaN } }),
        };
        await DefineAsync(settings, definition);
        var player = NewPlayer();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => SetAsync(settings.Client, player, definition.Key, value), rule, definition.Key);

        var violation = Assert.Single(Violations(error));
        Assert.Equal("value", violation.Field);
        Assert.Contains(rule, violation.Description, StringComparison.Ordinal);
        Assert.Equal(SettingSource.GlobalDefault, (await EffectiveAsync(settings.Client, player, definition.Key)).Source);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetPlayerSetting_OfEveryType_StoresTheValueInCanonicalForm()
    {
        await using var settings = await StartAsync();
        var player = NewPlayer();
        var cases = new (SettingDefinition Definition, TypedValue Value, TypedValue Stored)[]
        {
            (Volume(NewKey()), Double(0.42), Double(0.42)),
            (Quality(NewKey("graphics")), Text("high"), Text("high")),
            (Nickname(NewKey("profile")), Text("aria"), Text("aria")),
            (Channels(NewKey("chat")), new TypedValue { StringListValue = new StringList { Values = { "guild", "party" } } }, new TypedValue { StringListValue = new StringList { Values = { "guild", "party" } } }),
            (IdleTimeout(NewKey("session")), Text("90s"), Text("1m30s")),
            (Flag(NewKey("gameplay")), new TypedValue { BoolValue = true }, new TypedValue { BoolValue = true }),
            (Spawn(NewKey("world")), new TypedValue { VectorValue = new Vector3 { X = -4, Y = 0.5, Z = 9 } }, new TypedValue { VectorValue = new Vector3 { X = -4, Y = 0.5, Z = 9 } }),
        };

        foreach (var (definition, value, stored) in cases)
        {
            await DefineAsync(settings, definition);
            var set = await SetAsync(settings.Client, player, definition.Key, value);
            Assert.Equal(stored, set.Value);
            Assert.Equal(stored, (await EffectiveAsync(settings.Client, player, definition.Key)).Value);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task SetPlayerSetting_UnknownOrNotOverridableOrMissingValue_Fails()
    {
        await using var settings = await StartAsync();
        var fixedKey = NewKey("server");
        await DefineAsync(settings, TickRate(fixedKey));
        var player = NewPlayer();

        await FailsAsync(StatusCode.NotFound, () => SetAsync(settings.Client, player, NewKey(), Double(0.5)), "not defined");
        await FailsAsync(StatusCode.FailedPrecondition, () => SetAsync(settings.Client, player, fixedKey, new TypedValue { IntValue = 60 }), fixedKey, "player_overridable");
        var missing = await FailsAsync(StatusCode.InvalidArgument, () => SetAsync(settings.Client, player, fixedKey, new TypedValue()));
        var noPlayer = await FailsAsync(StatusCode.InvalidArgument, () => SetAsync(settings.Client, "", fixedKey, new TypedValue { IntValue = 60 }));
        Assert.Equal("value", Assert.Single(Violations(missing)).Field);
        Assert.Equal("player_id", Assert.Single(Violations(noPlayer)).Field);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetPlayerSetting_GuardedByExpectedVersion_AndTheSameValueAgainIsANoOp()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();

        await FailsAsync(StatusCode.Aborted, () => SetAsync(settings.Client, player, key, Double(0.5), expectedVersion: 3), "version 0");
        var first = await SetAsync(settings.Client, player, key, Double(0.5), expectedVersion: 0);
        var same = await SetAsync(settings.Client, player, key, Double(0.5));
        await FailsAsync(StatusCode.Aborted, () => SetAsync(settings.Client, player, key, Double(0.6), expectedVersion: 0), $"version {first.OverrideVersion}");
        var second = await SetAsync(settings.Client, player, key, Double(0.6), expectedVersion: first.OverrideVersion);

        Assert.Equal(first, same);
        Assert.True(second.OverrideVersion > first.OverrideVersion);
        Assert.Equal(0.6, (await EffectiveAsync(settings.Client, player, key)).Value.DoubleValue);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetPlayerSetting_RetriedWithItsRequestId_ReturnsTheFirstAnswer_EvenAfterTheVersionMoved()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        var request = new SetPlayerSettingRequest { PlayerId = player, Key = key, Value = Double(0.3), ExpectedVersion = 0, RequestId = Guid.NewGuid().ToString() };

        var first = await settings.Client.SetPlayerSettingAsync(request, cancellationToken: Timeout);
        var retry = await settings.Client.SetPlayerSettingAsync(request, cancellationToken: Timeout);
        await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.SetPlayerSettingAsync(new SetPlayerSettingRequest(request) { Value = Double(0.4) }, cancellationToken: Timeout).AsTask(), "request_id");

        Assert.Equal(first, retry);
        Assert.Equal(first.Setting.OverrideVersion, (await EffectiveAsync(settings.Client, player, key)).OverrideVersion);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetPlayerSetting_ValidateOnly_ChecksButStoresNothing()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();

        var checkedValue = (await settings.Client.SetPlayerSettingAsync(new SetPlayerSettingRequest { PlayerId = player, Key = key, Value = Double(0.1), ValidateOnly = true }, cancellationToken: Timeout)).Setting;
        await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.SetPlayerSettingAsync(new SetPlayerSettingRequest { PlayerId = player, Key = key, Value = Double(7), ValidateOnly = true }, cancellationToken: Timeout).AsTask(), "max_value");

        Assert.Equal(0.1, checkedValue.Value.DoubleValue);
        Assert.Equal(SettingSource.GlobalDefault, (await EffectiveAsync(settings.Client, player, key)).Source);
    }

    [Fact(Timeout = 30_000)]
    public async Task ClearPlayerSetting_RestoresTheDefault_AndClearingNothingSucceeds()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        var set = await SetAsync(settings.Client, player, key, Double(0.2));

        await FailsAsync(StatusCode.Aborted, () => settings.Client.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = player, Key = key, ExpectedVersion = set.OverrideVersion + 5 }, cancellationToken: Timeout).AsTask());
        var cleared = (await settings.Client.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = player, Key = key, ExpectedVersion = set.OverrideVersion }, cancellationToken: Timeout)).Setting;
        var again = (await settings.Client.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = player, Key = key }, cancellationToken: Timeout)).Setting;

        Assert.Equal((SettingSource.GlobalDefault, 0.8), (cleared.Source, cleared.Value.DoubleValue));
        Assert.Equal(cleared, again);
        Assert.Equal(cleared, await EffectiveAsync(settings.Client, player, key));
        await FailsAsync(StatusCode.NotFound, () => settings.Client.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = player, Key = NewKey() }, cancellationToken: Timeout).AsTask());

        // Set again after a clear: the old version is never reused.
        var reset = await SetAsync(settings.Client, player, key, Double(0.2), expectedVersion: 0);
        Assert.True(reset.OverrideVersion > set.OverrideVersion);
    }

    // ---- Batches ----

    [Fact(Timeout = 30_000)]
    public async Task BatchSetPlayerSettings_AppliesEveryChange_AndAnswersInRequestOrder()
    {
        await using var settings = await StartAsync();
        var (volume, quality, timeout, cleared) = (NewKey(), NewKey("graphics"), NewKey("session"), NewKey());
        await DefineAsync(settings, Volume(volume));
        await DefineAsync(settings, Quality(quality));
        await DefineAsync(settings, IdleTimeout(timeout));
        await DefineAsync(settings, Volume(cleared));
        var player = NewPlayer();
        await SetAsync(settings.Client, player, cleared, Double(0.05));

        var response = await settings.Client.BatchSetPlayerSettingsAsync(
            new BatchSetPlayerSettingsRequest
            {
                PlayerId = player,
                Changes =
                {
                    new PlayerSettingChange { Key = quality, Value = Text("low") },
                    new PlayerSettingChange { Key = volume, Value = Double(0.9), ExpectedVersion = 0 },
                    new PlayerSettingChange { Key = timeout, Value = Text("600000ms") },
                    new PlayerSettingChange { Key = cleared },
                },
            },
            cancellationToken: Timeout);

        Assert.Equal([quality, volume, timeout, cleared], response.Settings.Select(s => s.Key));
        Assert.Equal([SettingSource.PlayerOverride, SettingSource.PlayerOverride, SettingSource.PlayerOverride, SettingSource.GlobalDefault], response.Settings.Select(s => s.Source));
        Assert.Equal("10m", response.Settings[2].Value.StringValue);
        Assert.Single(response.Settings.Take(3).Select(s => s.OverrideVersion).Distinct());
        foreach (var setting in response.Settings)
        {
            Assert.Equal(setting, await EffectiveAsync(settings.Client, player, setting.Key));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task BatchSetPlayerSettings_WithOneInvalidEntry_AppliesNothing_AndNamesEveryBadEntry()
    {
        await using var settings = await StartAsync();
        var (volume, quality, nickname) = (NewKey(), NewKey("graphics"), NewKey("profile"));
        await DefineAsync(settings, Volume(volume));
        await DefineAsync(settings, Quality(quality));
        await DefineAsync(settings, Nickname(nickname));
        var player = NewPlayer();
        var before = await SetAsync(settings.Client, player, volume, Double(0.4));

        var error = await FailsAsync(
            StatusCode.InvalidArgument,
            () => settings.Client.BatchSetPlayerSettingsAsync(
                new BatchSetPlayerSettingsRequest
                {
                    PlayerId = player,
                    Changes =
                    {
                        new PlayerSettingChange { Key = volume, Value = Double(0.7) },
                        new PlayerSettingChange { Key = quality, Value = Text("ultra") },
                        new PlayerSettingChange { Key = nickname, Value = Text("ok") },
                    },
                },
                cancellationToken: Timeout).AsTask(),
            "changes[1].value",
            "changes[2].value");

        var violations = Violations(error);
        Assert.Equal(["changes[1].value", "changes[2].value"], violations.Select(v => v.Field));
        Assert.Contains("allowed_values", violations[0].Description, StringComparison.Ordinal);
        Assert.Contains("pattern", violations[1].Description, StringComparison.Ordinal);
        Assert.Equal(before, await EffectiveAsync(settings.Client, player, volume));
        Assert.Equal(SettingSource.GlobalDefault, (await EffectiveAsync(settings.Client, player, quality)).Source);
    }

    [Fact(Timeout = 30_000)]
    public async Task BatchSetPlayerSettings_StructuralAndLookupErrors_ApplyNothing()
    {
        await using var settings = await StartAsync();
        var (volume, fixedKey) = (NewKey(), NewKey("server"));
        await DefineAsync(settings, Volume(volume));
        await DefineAsync(settings, TickRate(fixedKey));
        var player = NewPlayer();
        var current = await SetAsync(settings.Client, player, volume, Double(0.4));
        Task Batch(params PlayerSettingChange[] changes) =>
            settings.Client.BatchSetPlayerSettingsAsync(new BatchSetPlayerSettingsRequest { PlayerId = player, Changes = { changes } }, cancellationToken: Timeout).AsTask();
        var unknown = NewKey();

        var duplicate = await FailsAsync(StatusCode.InvalidArgument, () => Batch(new() { Key = volume, Value = Double(0.1) }, new() { Key = volume, Value = Double(0.2) }));
        await FailsAsync(StatusCode.InvalidArgument, () => Batch());
        await FailsAsync(StatusCode.InvalidArgument, () => Batch([.. Enumerable.Range(0, 101).Select(i => new PlayerSettingChange { Key = $"audio.k{i}", Value = Double(0.1) })]), "1-100");
        await FailsAsync(StatusCode.NotFound, () => Batch(new() { Key = volume, Value = Double(0.1) }, new() { Key = unknown, Value = Double(0.2) }), "changes[1].key", unknown);
        await FailsAsync(StatusCode.FailedPrecondition, () => Batch(new() { Key = volume, Value = Double(0.1) }, new() { Key = fixedKey, Value = new TypedValue { IntValue = 20 } }), fixedKey);
        await FailsAsync(StatusCode.Aborted, () => Batch(new PlayerSettingChange { Key = volume, Value = Double(0.1), ExpectedVersion = current.OverrideVersion + 1 }), volume);

        Assert.Equal("changes[1].key", Assert.Single(Violations(duplicate)).Field);
        Assert.Equal(current, await EffectiveAsync(settings.Client, player, volume));
    }

    [Fact(Timeout = 30_000)]
    public async Task BatchSetPlayerSettings_RetriedWithItsRequestId_ReturnsTheFirstAnswer()
    {
        await using var settings = await StartAsync();
        var (a, b) = (NewKey(), NewKey());
        await DefineAsync(settings, Volume(a));
        await DefineAsync(settings, Volume(b));
        var player = NewPlayer();
        var request = new BatchSetPlayerSettingsRequest
        {
            PlayerId = player,
            RequestId = Guid.NewGuid().ToString(),
            Changes = { new PlayerSettingChange { Key = a, Value = Double(0.1), ExpectedVersion = 0 }, new PlayerSettingChange { Key = b, Value = Double(0.2), ExpectedVersion = 0 } },
        };

        var first = await settings.Client.BatchSetPlayerSettingsAsync(request, cancellationToken: Timeout);
        var retry = await settings.Client.BatchSetPlayerSettingsAsync(request, cancellationToken: Timeout);
        request.RequestId = Guid.NewGuid().ToString();
        await FailsAsync(StatusCode.Aborted, () => settings.Client.BatchSetPlayerSettingsAsync(request, cancellationToken: Timeout).AsTask());

        Assert.Equal(first, retry);
    }

    [Fact(Timeout = 30_000)]
    public async Task BatchSetPlayerSettings_ValidateOnly_StoresNothing()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();

        var response = await settings.Client.BatchSetPlayerSettingsAsync(new BatchSetPlayerSettingsRequest { PlayerId = player, ValidateOnly = true, Changes = { new PlayerSettingChange { Key = key, Value = Double(0.3) } } }, cancellationToken: Timeout);

        Assert.Equal(0.3, Assert.Single(response.Settings).Value.DoubleValue);
        Assert.Equal(SettingSource.GlobalDefault, (await EffectiveAsync(settings.Client, player, key)).Source);
    }

    [Fact(Timeout = 30_000)]
    public async Task ConcurrentBatchesOfOnePlayer_EachApplyWhole()
    {
        await using var settings = await StartAsync();
        var keys = Enumerable.Range(0, 4).Select(_ => NewKey()).ToList();
        foreach (var key in keys)
        {
            await DefineAsync(settings, Volume(key));
        }

        var player = NewPlayer();
        var values = Enumerable.Range(1, 6).Select(i => i / 10.0).ToList();
        await Task.WhenAll(values.Select(v => settings.Client.BatchSetPlayerSettingsAsync(
            new BatchSetPlayerSettingsRequest { PlayerId = player, Changes = { keys.Select(k => new PlayerSettingChange { Key = k, Value = Double(v) }) } },
            cancellationToken: Timeout).AsTask()));

        // Whichever batch applied last, it applied to every key: no mix of two batches.
        var effective = new List<EffectiveSetting>();
        foreach (var key in keys)
        {
            effective.Add(await EffectiveAsync(settings.Client, player, key));
        }

        Assert.Single(effective.Select(e => e.Value.DoubleValue).Distinct());
        Assert.Single(effective.Select(e => e.OverrideVersion).Distinct());
    }

    [Fact(Timeout = 30_000)]
    public async Task ConcurrentCreatesOfOneOverride_AtVersionZero_OnlyOneWins()
    {
        await using var settings = await StartAsync(instances: 2);
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        var player = NewPlayer();

        var attempts = await Task.WhenAll(Enumerable.Range(1, 8).Select(async i =>
        {
            try
            {
                return await SetAsync(settings.Instances[i % 2].Client, player, key, Double(i / 10.0), expectedVersion: 0);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Aborted)
            {
                return null;
            }
        }));

        var winner = Assert.Single(attempts, a => a is not null);
        Assert.Equal(winner, await EffectiveAsync(settings.Client, player, key));
    }

    // ---- Events ----

    [Fact(Timeout = 30_000)]
    public async Task Changes_ReachEventBus_AsSettingChangedEvents_OnePerChangedKey()
    {
        await using var settings = await StartAsync();
        var (a, b) = (NewKey(), NewKey());
        await DefineAsync(settings, Volume(a));
        await DefineAsync(settings, Volume(b));
        var player = NewPlayer();
        await settings.Client.BatchSetPlayerSettingsAsync(
            new BatchSetPlayerSettingsRequest { PlayerId = player, Changes = { new PlayerSettingChange { Key = a, Value = Double(0.1) }, new PlayerSettingChange { Key = b, Value = Double(0.2) } } },
            cancellationToken: Timeout);
        await settings.Client.ClearPlayerSettingAsync(new ClearPlayerSettingRequest { PlayerId = player, Key = a }, cancellationToken: Timeout);

        var events = new List<(string Subject, SettingChanged Change)>();
        await foreach (var item in settings.EventBus.SubscribeAsync(new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.All, TypeFilters = { "settings.setting.changed" } }, cancellationToken: Timeout))
        {
            if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event)
            {
                events.Add((item.Event.Event.Subject, SettingChanged.Parser.ParseFrom(item.Event.Event.Payload)));
                if (events.Count == 5)
                {
                    break;
                }
            }
        }

        var byKey = events.Select(e => (e.Subject, e.Change.Key, e.Change.PlayerId, e.Change.OldValue?.DoubleValue, e.Change.NewValue?.DoubleValue)).ToHashSet();
        Assert.Equal(
            new HashSet<(string, string, string, double?, double?)>
            {
                ($"settings/{a}", a, "", null, 0.8),
                ($"settings/{b}", b, "", null, 0.8),
                ($"players/{player}", a, player, null, 0.1),
                ($"players/{player}", b, player, null, 0.2),
                ($"players/{player}", a, player, 0.1, null),
            },
            byKey);
    }
}
