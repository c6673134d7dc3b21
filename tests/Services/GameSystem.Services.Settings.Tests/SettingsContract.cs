using Bogus;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Settings.V1;
using GameSystem.State;
using GameSystem.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Settings.Tests;

/// <summary>The settings contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class SettingsContract(NatsServerFixture nats)
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261202) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<SettingsHarness> StartAsync(int instances = 1, bool startRelays = true) =>
        await SettingsHarness.StartAsync(nats, await CreateStoreAsync(), await CreateStoreAsync(), instances, startRelays);

    private static string NewKey(string area = "audio") =>
        $"{area}.{Faker.Lorem.Word().ToLowerInvariant()}_{Faker.Random.AlphaNumeric(6).ToLowerInvariant()}";

    private static string NewPlayer() => "acc-" + Faker.Random.AlphaNumeric(12);

    private static SettingDefinition Volume(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.Double,
        DefaultValue = new TypedValue { DoubleValue = 0.8 },
        Constraints = new SettingConstraints { MinValue = 0, MaxValue = 1 },
        PlayerOverridable = true,
        Category = "audio",
        Description = Faker.Lorem.Sentence(),
    };

    private static SettingDefinition Quality(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.String,
        DefaultValue = new TypedValue { StringValue = "medium" },
        Constraints = new SettingConstraints { AllowedValues = { "low", "medium", "high" } },
        PlayerOverridable = true,
        Category = "graphics",
    };

    private static SettingDefinition TickRate(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.Int,
        DefaultValue = new TypedValue { IntValue = 30 },
        Constraints = new SettingConstraints { MinValue = 10, MaxValue = 128 },
        PlayerOverridable = false,
        Category = "server",
    };

    private static SettingDefinition Nickname(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.String,
        DefaultValue = new TypedValue { StringValue = "hero" },
        Constraints = new SettingConstraints { Pattern = "[a-z]{3,12}", MaxLength = 12 },
        PlayerOverridable = true,
    };

    private static SettingDefinition Channels(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.StringList,
        DefaultValue = new TypedValue { StringListValue = new StringList { Values = { "global" } } },
        Constraints = new SettingConstraints { AllowedValues = { "global", "guild", "party", "trade" }, MaxItems = 3 },
        PlayerOverridable = true,
        Category = "chat",
    };

    private static SettingDefinition IdleTimeout(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.Duration,
        DefaultValue = new TypedValue { StringValue = "5m" },
        Constraints = new SettingConstraints { MinValue = 30, MaxValue = 3600 },
        PlayerOverridable = true,
    };

    private static SettingDefinition Flag(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.Bool,
        DefaultValue = new TypedValue { BoolValue = false },
        PlayerOverridable = true,
    };

    private static SettingDefinition Spawn(string key) => new()
    {
        Key = key,
        ValueType = SettingValueType.Vector,
        DefaultValue = new TypedValue { VectorValue = new Vector3 { X = 1, Y = 2, Z = 3 } },
        PlayerOverridable = true,
    };

    private static async Task<SettingDefinition> DefineAsync(SettingsHarness settings, SettingDefinition definition) =>
        (await settings.Client.CreateSettingDefinitionAsync(new CreateSettingDefinitionRequest { Definition = definition, RequestId = Guid.NewGuid().ToString() }, cancellationToken: Timeout)).Definition;

    private static async Task<EffectiveSetting> SetAsync(SettingsServiceClient client, string player, string key, TypedValue value, long? expectedVersion = null)
    {
        var request = new SetPlayerSettingRequest { PlayerId = player, Key = key, Value = value };
        if (expectedVersion is { } version)
        {
            request.ExpectedVersion = version;
        }

        return (await client.SetPlayerSettingAsync(request, cancellationToken: Timeout)).Setting;
    }

    private static async Task<EffectiveSetting> EffectiveAsync(SettingsServiceClient client, string player, string key) =>
        (await client.GetEffectiveSettingAsync(new GetEffectiveSettingRequest { PlayerId = player, Key = key }, cancellationToken: Timeout)).Setting;

    private static TypedValue Double(double value) => new() { DoubleValue = value };

    private static TypedValue Text(string value) => new() { StringValue = value };

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode, $"expected {code}, got {error.StatusCode}: {error.Status.Detail}");
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The field violations of an INVALID_ARGUMENT's google.rpc.BadRequest.</summary>
    private static List<Google.Rpc.BadRequest.Types.FieldViolation> Violations(RpcException error)
    {
        var badRequest = Assert.Single(error.GetRpcStatus().Details).Unpack<Google.Rpc.BadRequest>();
        return [.. badRequest.FieldViolations];
    }

    // ---- Definitions ----

    [Fact(Timeout = 30_000)]
    public async Task CreateSettingDefinition_StoresVersionOne_AndGetReturnsIt()
    {
        await using var settings = await StartAsync();
        var key = NewKey();

        var created = await DefineAsync(settings, Volume(key));
        var read = (await settings.Client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = key }, cancellationToken: Timeout)).Definition;

        Assert.Equal(1, created.Version);
        Assert.NotNull(created.UpdateTime);
        Assert.Equal(created, read);
        Assert.Equal(0.8, read.DefaultValue.DoubleValue);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateSettingDefinition_RetriedWithTheSameRequestId_ReturnsTheFirstResult()
    {
        await using var settings = await StartAsync();
        var request = new CreateSettingDefinitionRequest { Definition = Quality(NewKey("graphics")), RequestId = Guid.NewGuid().ToString() };

        var first = (await settings.Client.CreateSettingDefinitionAsync(request, cancellationToken: Timeout)).Definition;
        var retry = (await settings.Client.CreateSettingDefinitionAsync(request, cancellationToken: Timeout)).Definition;

        Assert.Equal(first, retry);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateSettingDefinition_ReusingARequestIdForAnotherSetting_FailsInvalidArgument()
    {
        await using var settings = await StartAsync();
        var id = Guid.NewGuid().ToString();
        await settings.Client.CreateSettingDefinitionAsync(new CreateSettingDefinitionRequest { Definition = Volume(NewKey()), RequestId = id }, cancellationToken: Timeout);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.CreateSettingDefinitionAsync(new CreateSettingDefinitionRequest { Definition = Volume(NewKey()), RequestId = id }, cancellationToken: Timeout).AsTask(), id, "different");
        Assert.Equal("request_id", Assert.Single(Violations(error)).Field);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateSettingDefinition_WhenTheKeyIsDefined_FailsAlreadyExists()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));

        await FailsAsync(StatusCode.AlreadyExists, () => DefineAsync(settings, Quality(key)), key);
    }

    public static TheoryData<string, string> DefaultsBreakingTheirRules => new()
    {
        { "int-above-max", "breaks max_value" },
        { "double-below-min", "breaks min_value" },
        { "string-not-allowed", "breaks allowed_values" },
        { "string-pattern", "breaks pattern" },
        { "string-too-long", "breaks max_length" },
        { "list-too-many", "breaks max_items" },
        { "list-element-not-allowed", "breaks allowed_values" },
        { "duration-malformed", "breaks value_type" },
        { "duration-above-max", "breaks max_value" },
        { "wrong-kind", "breaks value_type" },
        { "double-nan", "finite" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(DefaultsBreakingTheirRules))]
    public async Task CreateSettingDefinition_WhoseDefaultBreaksItsOwnRule_FailsInvalidArgumentNamingTheRule(string @case, string rule)
    {
        await using var settings = await StartAsync();
        var definition = @case switch
        {
            "int-above-max" => TickRate(NewKey("server")).Apply(d => d.DefaultValue = new TypedValue { IntValue = 129 }),
            "double-below-min" => Volume(NewKey()).Apply(d => d.DefaultValue = Double(-0.1)),
            "string-not-allowed" => Quality(NewKey("graphics")).Apply(d => d.DefaultValue = Text("ultra")),
            "string-pattern" => Nickname(NewKey("profile")).Apply(d => d.DefaultValue = Text("Hero1")),
            "string-too-long" => Nickname(NewKey("profile")).Apply(d => d.Constraints.Pattern = "").Apply(d => d.DefaultValue = Text(new string('a', 13))),
            "list-too-many" => Channels(NewKey("chat")).Apply(d => d.DefaultValue = new TypedValue { StringListValue = new StringList { Values = { "global", "guild", "party", "trade" } } }),
            "list-element-not-allowed" => Channels(NewKey("chat")).Apply(d => d.DefaultValue = new TypedValue { StringListValue = new StringList { Values = { "global", "whisper" } } }),
            "duration-malformed" => IdleTimeout(NewKey("session")).Apply(d => d.DefaultValue = Text("five minutes")),
            "duration-above-max" => IdleTimeout(NewKey("session")).Apply(d => d.DefaultValue = Text("2h")),
            "wrong-kind" => Volume(NewKey()).Apply(d => d.DefaultValue = new TypedValue { IntValue = 1 }),
            _ => Volume(NewKey()).Apply(d => d.DefaultValue = Double(double.NaN)),
        };

        var error = await FailsAsync(StatusCode.InvalidArgument, () => DefineAsync(settings, definition), rule);

        var violation = Assert.Single(Violations(error));
        Assert.Equal("definition.default_value", violation.Field);
        Assert.Contains(rule, violation.Description, StringComparison.Ordinal);
        await FailsAsync(StatusCode.NotFound, () => settings.Client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = definition.Key }, cancellationToken: Timeout).AsTask());
    }

    public static TheoryData<string, string> MalformedDefinitions => new()
    {
        { "key", "definition.key" },
        { "type", "definition.value_type" },
        { "default", "definition.default_value" },
        { "range-on-string", "definition.constraints.min_value" },
        { "pattern-on-int", "definition.constraints.pattern" },
        { "min-above-max", "definition.constraints.min_value" },
        { "bad-regex", "definition.constraints.pattern" },
        { "backreference", "definition.constraints.pattern" },
        { "choice-breaking-pattern", "definition.constraints.allowed_values[1]" },
        { "duplicate-choice", "definition.constraints.allowed_values" },
        { "max-items-on-string", "definition.constraints.max_items" },
        { "category", "definition.category" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(MalformedDefinitions))]
    public async Task CreateSettingDefinition_Malformed_FailsInvalidArgumentNamingTheField(string @case, string field)
    {
        await using var settings = await StartAsync();
        var definition = @case switch
        {
            "key" => Volume("Audio.Master Volume"),
            "type" => Volume(NewKey()).Apply(d => d.ValueType = SettingValueType.Unspecified),
            "default" => Volume(NewKey()).Apply(d => d.DefaultValue = null),
            "range-on-string" => Quality(NewKey("graphics")).Apply(d => d.Constraints.MinValue = 1),
            "pattern-on-int" => TickRate(NewKey("server")).Apply(d => d.Constraints.Pattern = "[0-9]+"),
            "min-above-max" => Volume(NewKey()).Apply(d => d.Constraints.MinValue = 2),
            "bad-regex" => Nickname(NewKey("profile")).Apply(d => d.Constraints.Pattern = "[a-z"),
            "backreference" => Nickname(NewKey("profile")).Apply(d => d.Constraints.Pattern = @"(a)\1"),
            "choice-breaking-pattern" => Quality(NewKey("graphics")).Apply(d => d.Constraints.Pattern = "[a-z]{3,6}").Apply(d => d.Constraints.AllowedValues[1] = "mediumish"),
            "duplicate-choice" => Quality(NewKey("graphics")).Apply(d => d.Constraints.AllowedValues.Add("low")),
            "max-items-on-string" => Quality(NewKey("graphics")).Apply(d => d.Constraints.MaxItems = 2),
            _ => Volume(NewKey()).Apply(d => d.Category = "Audio Settings"),
        };

        var error = await FailsAsync(StatusCode.InvalidArgument, () => DefineAsync(settings, definition));

        Assert.Contains(field, Violations(error).Select(v => v.Field));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateSettingDefinition_WithoutRequestIdOrDefinition_FailsInvalidArgument()
    {
        await using var settings = await StartAsync();

        var noId = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.CreateSettingDefinitionAsync(new CreateSettingDefinitionRequest { Definition = Volume(NewKey()) }, cancellationToken: Timeout).AsTask());
        var noDefinition = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.CreateSettingDefinitionAsync(new CreateSettingDefinitionRequest { RequestId = Guid.NewGuid().ToString() }, cancellationToken: Timeout).AsTask());

        Assert.Equal("request_id", Assert.Single(Violations(noId)).Field);
        Assert.Equal("definition", Assert.Single(Violations(noDefinition)).Field);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateSettingDefinition_OfADuration_StoresItsCanonicalForm()
    {
        await using var settings = await StartAsync();

        var created = await DefineAsync(settings, IdleTimeout(NewKey("session")).Apply(d => d.DefaultValue = Text("1m30s")));
        var later = await DefineAsync(settings, IdleTimeout(NewKey("session")).Apply(d => d.DefaultValue = Text("0.5h")));

        Assert.Equal("1m30s", created.DefaultValue.StringValue);
        Assert.Equal("30m", later.DefaultValue.StringValue);
    }

    [Fact(Timeout = 30_000)]
    public async Task GetSettingDefinition_OfAnUnknownOrMalformedKey_FailsNotFoundOrInvalidArgument()
    {
        await using var settings = await StartAsync();

        await FailsAsync(StatusCode.NotFound, () => settings.Client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = NewKey() }, cancellationToken: Timeout).AsTask(), "not defined");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = "../etc" }, cancellationToken: Timeout).AsTask());
        Assert.Equal("key", Assert.Single(Violations(error)).Field);
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateSettingDefinition_ChangesTheNamedFields_AndMovesTheVersion()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        var created = await DefineAsync(settings, Volume(key));
        var description = Faker.Lorem.Sentence();

        var updated = (await settings.Client.UpdateSettingDefinitionAsync(
            new UpdateSettingDefinitionRequest
            {
                Definition = new SettingDefinition { Key = key, DefaultValue = Double(0.5), Description = description, Category = "ignored_not_in_mask" },
                UpdateMask = new FieldMask { Paths = { "default_value", "description" } },
                ExpectedVersion = created.Version,
            },
            cancellationToken: Timeout)).Definition;

        Assert.Equal(2, updated.Version);
        Assert.Equal(0.5, updated.DefaultValue.DoubleValue);
        Assert.Equal(description, updated.Description);
        Assert.Equal("audio", updated.Category);
        Assert.Equal(0.5, (await EffectiveAsync(settings.Client, NewPlayer(), key)).Value.DoubleValue);
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateSettingDefinition_Errors_NameWhatIsWrong()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));
        UpdateSettingDefinitionRequest Request(string path, long version, SettingDefinition? definition = null) => new()
        {
            Definition = definition ?? new SettingDefinition { Key = key, DefaultValue = Double(0.3) },
            UpdateMask = new FieldMask { Paths = { path } },
            ExpectedVersion = version,
        };

        await FailsAsync(StatusCode.Aborted, () => settings.Client.UpdateSettingDefinitionAsync(Request("default_value", 7), cancellationToken: Timeout).AsTask(), "version 1");
        await FailsAsync(StatusCode.NotFound, () => settings.Client.UpdateSettingDefinitionAsync(Request("default_value", 1, new SettingDefinition { Key = NewKey() }), cancellationToken: Timeout).AsTask());
        var immutable = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.UpdateSettingDefinitionAsync(Request("key", 1), cancellationToken: Timeout).AsTask(), "immutable");
        var noVersion = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.UpdateSettingDefinitionAsync(Request("default_value", 0), cancellationToken: Timeout).AsTask());
        var breaking = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.UpdateSettingDefinitionAsync(Request("default_value", 1, new SettingDefinition { Key = key, DefaultValue = Double(1.5) }), cancellationToken: Timeout).AsTask(), "breaks max_value");

        Assert.Equal("update_mask", Assert.Single(Violations(immutable)).Field);
        Assert.Equal("expected_version", Assert.Single(Violations(noVersion)).Field);
        Assert.Equal("definition.default_value", Assert.Single(Violations(breaking)).Field);
        Assert.Equal(1, (await settings.Client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = key }, cancellationToken: Timeout)).Definition.Version);
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateSettingDefinition_TighteningRulesAStoredOverrideBreaks_FailsPrecondition_UnlessResetIsAsked()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        var created = await DefineAsync(settings, Volume(key));
        var (loud, quiet) = (NewPlayer(), NewPlayer());
        await SetAsync(settings.Client, loud, key, Double(0.95));
        await SetAsync(settings.Client, quiet, key, Double(0.2));
        var tighter = new UpdateSettingDefinitionRequest
        {
            Definition = new SettingDefinition { Key = key, Constraints = new SettingConstraints { MinValue = 0, MaxValue = 0.9 } },
            UpdateMask = new FieldMask { Paths = { "constraints" } },
            ExpectedVersion = created.Version,
        };

        await FailsAsync(StatusCode.FailedPrecondition, () => settings.Client.UpdateSettingDefinitionAsync(tighter, cancellationToken: Timeout).AsTask(), "1 stored override", loud, "reset_invalid_overrides");
        Assert.Equal(0.95, (await EffectiveAsync(settings.Client, loud, key)).Value.DoubleValue);

        tighter.ResetInvalidOverrides = true;
        var reset = await settings.Client.UpdateSettingDefinitionAsync(tighter, cancellationToken: Timeout);

        Assert.Equal(1, reset.ResetOverrideCount);
        var loudNow = await EffectiveAsync(settings.Client, loud, key);
        Assert.Equal((SettingSource.GlobalDefault, 0.8), (loudNow.Source, loudNow.Value.DoubleValue));
        Assert.Equal((SettingSource.PlayerOverride, 0.2), ((await EffectiveAsync(settings.Client, quiet, key)).Source, (await EffectiveAsync(settings.Client, quiet, key)).Value.DoubleValue));
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateSettingDefinition_MakingItNotOverridable_HidesOverrides()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        var created = await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        await SetAsync(settings.Client, player, key, Double(0.1));

        await settings.Client.UpdateSettingDefinitionAsync(
            new UpdateSettingDefinitionRequest { Definition = new SettingDefinition { Key = key }, UpdateMask = new FieldMask { Paths = { "player_overridable" } }, ExpectedVersion = created.Version },
            cancellationToken: Timeout);

        Assert.Equal(SettingSource.GlobalDefault, (await EffectiveAsync(settings.Client, player, key)).Source);
        await FailsAsync(StatusCode.FailedPrecondition, () => SetAsync(settings.Client, player, key, Double(0.2)), "player_overridable");
    }

    [Fact(Timeout = 30_000)]
    public async Task DeleteSettingDefinition_RemovesItAndEveryOverride_AndARecreatedKeyStartsClean()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        var created = await DefineAsync(settings, Volume(key));
        var player = NewPlayer();
        await SetAsync(settings.Client, player, key, Double(0.3));

        var deleted = await settings.Client.DeleteSettingDefinitionAsync(new DeleteSettingDefinitionRequest { Key = key, ExpectedVersion = created.Version }, cancellationToken: Timeout);
        var again = await settings.Client.DeleteSettingDefinitionAsync(new DeleteSettingDefinitionRequest { Key = key }, cancellationToken: Timeout);

        Assert.True(deleted.Deleted);
        Assert.False(again.Deleted);
        await FailsAsync(StatusCode.NotFound, () => EffectiveAsync(settings.Client, player, key));
        await FailsAsync(StatusCode.NotFound, () => settings.Client.DeleteSettingDefinitionAsync(new DeleteSettingDefinitionRequest { Key = key, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask());

        var recreated = await DefineAsync(settings, Volume(key));
        var effective = await EffectiveAsync(settings.Client, player, key);
        Assert.Equal(1, recreated.Version);
        Assert.Equal((SettingSource.GlobalDefault, 0L), (effective.Source, effective.OverrideVersion));
        Assert.Empty((await settings.Client.ListEffectiveSettingsAsync(new ListEffectiveSettingsRequest { PlayerId = player, OverridesOnly = true }, cancellationToken: Timeout)).Settings);
    }

    [Fact(Timeout = 30_000)]
    public async Task DeleteSettingDefinition_AtAnotherVersion_FailsAborted()
    {
        await using var settings = await StartAsync();
        var key = NewKey();
        await DefineAsync(settings, Volume(key));

        await FailsAsync(StatusCode.Aborted, () => settings.Client.DeleteSettingDefinitionAsync(new DeleteSettingDefinitionRequest { Key = key, ExpectedVersion = 2 }, cancellationToken: Timeout).AsTask(), "version 1");
        Assert.Equal(key, (await settings.Client.GetSettingDefinitionAsync(new GetSettingDefinitionRequest { Key = key }, cancellationToken: Timeout)).Definition.Key);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListSettingDefinitions_PagesInKeyOrder_WithEachFilter()
    {
        await using var settings = await StartAsync();
        var audio = Enumerable.Range(0, 7).Select(_ => NewKey("audio")).ToList();
        var graphics = Enumerable.Range(0, 4).Select(_ => NewKey("graphics")).ToList();
        var server = Enumerable.Range(0, 3).Select(_ => NewKey("server")).ToList();
        foreach (var key in Faker.Random.Shuffle(audio.Concat(graphics).Concat(server)).ToList())
        {
            await DefineAsync(settings, key.StartsWith("audio", StringComparison.Ordinal) ? Volume(key) : key.StartsWith("graphics", StringComparison.Ordinal) ? Quality(key) : TickRate(key));
        }

        async Task<List<string>> AllPagesAsync(ListSettingDefinitionsRequest request)
        {
            var keys = new List<string>();
            do
            {
                var page = await settings.Client.ListSettingDefinitionsAsync(request, cancellationToken: Timeout);
                Assert.True(page.Definitions.Count <= request.PageSize);
                keys.AddRange(page.Definitions.Select(d => d.Key));
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);
            return keys;
        }

        List<string> Sorted(IEnumerable<string> keys) => [.. keys.Order(StringComparer.Ordinal)];
        Assert.Equal(Sorted(audio.Concat(graphics).Concat(server)), await AllPagesAsync(new ListSettingDefinitionsRequest { PageSize = 3 }));
        Assert.Equal(Sorted(audio), await AllPagesAsync(new ListSettingDefinitionsRequest { PageSize = 2, KeyPrefix = "audio." }));
        Assert.Equal(Sorted(graphics), await AllPagesAsync(new ListSettingDefinitionsRequest { PageSize = 3, Category = "graphics" }));
        Assert.Equal(Sorted(audio.Concat(graphics)), await AllPagesAsync(new ListSettingDefinitionsRequest { PageSize = 5, PlayerOverridableOnly = true }));
        Assert.Empty(await AllPagesAsync(new ListSettingDefinitionsRequest { PageSize = 5, Category = "server", PlayerOverridableOnly = true }));

        var first = await settings.Client.ListSettingDefinitionsAsync(new ListSettingDefinitionsRequest { PageSize = 2 }, cancellationToken: Timeout);
        var misuse = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.ListSettingDefinitionsAsync(new ListSettingDefinitionsRequest { PageSize = 2, Category = "audio", PageToken = first.NextPageToken }, cancellationToken: Timeout).AsTask());
        var size = await FailsAsync(StatusCode.InvalidArgument, () => settings.Client.ListSettingDefinitionsAsync(new ListSettingDefinitionsRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask());
        Assert.Equal("page_token", Assert.Single(Violations(misuse)).Field);
        Assert.Equal("page_size", Assert.Single(Violations(size)).Field);
    }
}

/// <summary>Adjusts a message in an expression.</summary>
internal static class MessageExtensions
{
    public static T Apply<T>(this T message, Action<T> change)
    {
        change(message);
        return message;
    }
}
