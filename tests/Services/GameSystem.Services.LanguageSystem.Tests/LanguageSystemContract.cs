using Bogus;
using GameSystem.Common.V1;
using GameSystem.LanguageSystem.V1;
using GameSystem.State;
using GameSystem.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>The language-system contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class LanguageSystemContract(NatsServerFixture nats)
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261130) };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<LanguageSystemHarness> StartAsync() =>
        await LanguageSystemHarness.StartAsync(nats, await CreateStoreAsync(), _time);

    private static string NewKey(string area = "quest") =>
        $"{area}.{Faker.Lorem.Word().ToLowerInvariant()}_{Faker.Random.AlphaNumeric(6).ToLowerInvariant()}.title";

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, error.StatusCode);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    private static async Task<Locale> CreateLocaleAsync(LanguageSystemHarness mesh, string tag, string fallback = "", bool disabled = false, string rulesLanguage = "") =>
        (await mesh.Client.CreateLocaleAsync(
            new CreateLocaleRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                Locale = new Locale { Tag = tag, DisplayName = Faker.Address.Country(), FallbackLocale = fallback, Disabled = disabled, RulesLanguage = rulesLanguage },
            },
            cancellationToken: Timeout)).Locale;

    private static async Task<StringEntry> CreateTextAsync(LanguageSystemHarness mesh, string locale, string key, string text, params string[] tags)
    {
        var entry = new StringEntry { Locale = locale, Key = key, Text = text };
        entry.Tags.AddRange(tags);
        return (await mesh.Client.CreateStringEntryAsync(new CreateStringEntryRequest { RequestId = Guid.NewGuid().ToString(), Entry = entry }, cancellationToken: Timeout)).Entry;
    }

    private static async Task<StringEntry> CreatePluralAsync(LanguageSystemHarness mesh, string locale, string key, PluralForms forms) =>
        (await mesh.Client.CreateStringEntryAsync(
            new CreateStringEntryRequest { RequestId = Guid.NewGuid().ToString(), Entry = new StringEntry { Locale = locale, Key = key, Plural = forms } },
            cancellationToken: Timeout)).Entry;

    private static async Task<LocalizedString> LocalizeAsync(LanguageSystemHarness mesh, LocalizeRequest request) =>
        (await mesh.Client.LocalizeAsync(request, cancellationToken: Timeout)).Result;

    // ---- Locales ----

    [Fact(Timeout = 20_000)]
    public async Task Default_ExistsInAnEmptyStore_AndListsFirst()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "af");

        var locale = (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "DEFAULT" }, cancellationToken: Timeout)).Locale;
        var list = await mesh.Client.ListLocalesAsync(new ListLocalesRequest(), cancellationToken: Timeout);

        Assert.True(locale.IsDefault);
        Assert.Equal(1, locale.Version);
        Assert.Equal(["default", "af"], list.Locales.Select(l => l.Tag));
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateLocale_CanonicalisesTheTag_AndStartsAtVersionOne()
    {
        await using var mesh = await StartAsync();

        var created = await CreateLocaleAsync(mesh, "zh_hant_tw");
        var read = (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "ZH-hant-tw" }, cancellationToken: Timeout)).Locale;

        Assert.Equal("zh-Hant-TW", created.Tag);
        Assert.Equal(1, read.Version);
        Assert.Equal(TextDirection.LeftToRight, read.Direction);
        Assert.False(read.IsDefault);
        Assert.Equal(created.CreateTime, read.CreateTime);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateLocale_RetriedWithTheSameRequestId_ReturnsTheFirstResult()
    {
        await using var mesh = await StartAsync();
        var request = new CreateLocaleRequest { RequestId = Guid.NewGuid().ToString(), Locale = new Locale { Tag = "fr", DisplayName = "French" } };

        var first = (await mesh.Client.CreateLocaleAsync(request, cancellationToken: Timeout)).Locale;
        var retry = (await mesh.Client.CreateLocaleAsync(request, cancellationToken: Timeout)).Locale;

        Assert.Equal(first, retry);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateLocale_ReusingARequestIdForAnotherLocale_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        var id = Guid.NewGuid().ToString();
        await mesh.Client.CreateLocaleAsync(new CreateLocaleRequest { RequestId = id, Locale = new Locale { Tag = "fr" } }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.CreateLocaleAsync(new CreateLocaleRequest { RequestId = id, Locale = new Locale { Tag = "de" } }, cancellationToken: Timeout).AsTask(), id, "different");
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateLocale_WhenTheTagIsRegistered_FailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr-CA");

        await FailsAsync(StatusCode.AlreadyExists, () => CreateLocaleAsync(mesh, "fr_ca"), "'fr-CA'");
        await FailsAsync(StatusCode.AlreadyExists, () => CreateLocaleAsync(mesh, "default"), "'default'");
    }

    [Theory(Timeout = 20_000)]
    [InlineData("", "locale.tag is required")]
    [InlineData("fr--CA", "locale.tag 'fr--CA' is not a well-formed BCP 47 tag")]
    [InlineData("english", "")]
    public async Task CreateLocale_WithAMalformedTag_FailsInvalidArgumentNamingTheField(string tag, string mention)
    {
        await using var mesh = await StartAsync();

        if (tag == "english")
        {
            // 5-8 letters is a well-formed (if unregistered) language subtag: accepted.
            Assert.Equal("english", (await CreateLocaleAsync(mesh, tag)).Tag);
            return;
        }

        await FailsAsync(StatusCode.InvalidArgument, () => CreateLocaleAsync(mesh, tag), mention);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateLocale_WithAnUnregisteredFallback_FailsPrecondition()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.FailedPrecondition, () => CreateLocaleAsync(mesh, "es-419", fallback: "es-MX"), "'es-MX' is not registered");
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateLocale_WithUnknownRulesLanguage_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.InvalidArgument, () => CreateLocaleAsync(mesh, "tlh", rulesLanguage: "qqq"), "rules_language 'qqq'");
    }

    [Fact(Timeout = 20_000)]
    public async Task GetLocale_OfAnUnregisteredTag_FailsNotFound()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "pt-BR" }, cancellationToken: Timeout).AsTask(), "'pt-BR' is not registered");
    }

    [Fact(Timeout = 20_000)]
    public async Task ListLocales_PagesInTagOrder_AndHidesDisabledUnlessAsked()
    {
        await using var mesh = await StartAsync();
        foreach (var tag in new[] { "it", "de", "fr", "es" })
        {
            await CreateLocaleAsync(mesh, tag);
        }

        await CreateLocaleAsync(mesh, "nl", disabled: true);
        var tags = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListLocalesAsync(new ListLocalesRequest { PageSize = 2, PageToken = token }, cancellationToken: Timeout);
            Assert.True(page.Locales.Count <= 2);
            tags.AddRange(page.Locales.Select(l => l.Tag));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var withDisabled = await mesh.Client.ListLocalesAsync(new ListLocalesRequest { IncludeDisabled = true }, cancellationToken: Timeout);
        Assert.Equal(["default", "de", "es", "fr", "it"], tags);
        Assert.Contains("nl", withDisabled.Locales.Select(l => l.Tag));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListLocalesAsync(new ListLocalesRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask(), "page_size");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListLocalesAsync(new ListLocalesRequest { PageToken = "not a token" }, cancellationToken: Timeout).AsTask(), "page_token");
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateLocale_ChangesMaskedFields_AndBumpsTheVersion()
    {
        await using var mesh = await StartAsync();
        var created = await CreateLocaleAsync(mesh, "fr-CA");

        var updated = (await mesh.Client.UpdateLocaleAsync(
            new UpdateLocaleRequest
            {
                Locale = new Locale { Tag = "fr-CA", DisplayName = "French (Canada)", NativeName = "Français (Canada)" },
                UpdateMask = FieldMask.FromString("display_name"),
                ExpectedVersion = created.Version,
            },
            cancellationToken: Timeout)).Locale;

        Assert.Equal("French (Canada)", updated.DisplayName);
        Assert.Equal("", updated.NativeName);
        Assert.Equal(2, updated.Version);
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateLocale_WithAStaleExpectedVersion_FailsAborted()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de");

        await FailsAsync(
            StatusCode.Aborted,
            () => mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "de", DisplayName = "x" }, UpdateMask = FieldMask.FromString("display_name"), ExpectedVersion = 7 }, cancellationToken: Timeout).AsTask(),
            "version 1", "expected_version 7");
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateLocale_AFallbackThatLoops_FailsPreconditionNamingTheLoop()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateLocaleAsync(mesh, "fr-CA");

        await FailsAsync(
            StatusCode.FailedPrecondition,
            () => mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "fr", FallbackLocale = "fr-CA" }, UpdateMask = FieldMask.FromString("fallback_locale") }, cancellationToken: Timeout).AsTask(),
            "fr -> fr-CA -> fr");
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateLocale_OfDefault_CannotDisableItOrGiveItAFallback()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "default", Disabled = true }, UpdateMask = FieldMask.FromString("disabled") }, cancellationToken: Timeout).AsTask(), "cannot be disabled");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "default", FallbackLocale = "en" }, UpdateMask = FieldMask.FromString("fallback_locale") }, cancellationToken: Timeout).AsTask(), "fallback_locale");
        var renamed = (await mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "default", DisplayName = "Root" }, UpdateMask = FieldMask.FromString("display_name") }, cancellationToken: Timeout)).Locale;
        Assert.Equal(("Root", 2L, true), (renamed.DisplayName, renamed.Version, renamed.IsDefault));
    }

    [Theory(Timeout = 20_000)]
    [InlineData("")]
    [InlineData("tag")]
    public async Task UpdateLocale_WithoutAUsableMask_FailsInvalidArgument(string path)
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de");
        var request = new UpdateLocaleRequest { Locale = new Locale { Tag = "de" }, UpdateMask = new FieldMask() };
        if (path.Length > 0)
        {
            request.UpdateMask.Paths.Add(path);
        }

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateLocaleAsync(request, cancellationToken: Timeout).AsTask(), "update_mask");
    }

    [Fact(Timeout = 20_000)]
    public async Task DeleteLocale_Refuses_DefaultAFallbackTargetAndATableWithEntries()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "es-MX");
        await CreateLocaleAsync(mesh, "es-419", fallback: "es-MX");
        await CreateLocaleAsync(mesh, "de");
        await CreateTextAsync(mesh, "de", "menu.start", "Start");

        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "default" }, cancellationToken: Timeout).AsTask(), "cannot be deleted");
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "es-MX" }, cancellationToken: Timeout).AsTask(), "'es-419'");
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "de" }, cancellationToken: Timeout).AsTask(), "1 string entries", "force");
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "it" }, cancellationToken: Timeout).AsTask(), "'it'");
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "es-419", ExpectedVersion = 3 }, cancellationToken: Timeout).AsTask(), "expected_version 3");
    }

    [Fact(Timeout = 20_000)]
    public async Task DeleteLocale_WithForce_DeletesItsEntries()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de");
        for (var i = 0; i < 3; i++)
        {
            await CreateTextAsync(mesh, "de", NewKey(), Faker.Lorem.Sentence());
        }

        var deleted = await mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "de", Force = true }, cancellationToken: Timeout);
        await CreateLocaleAsync(mesh, "de");
        var recreated = (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "de" }, cancellationToken: Timeout)).Locale;
        var entries = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "de" }, cancellationToken: Timeout);

        Assert.Equal(3, deleted.DeletedEntryCount);
        Assert.Equal(0, recreated.StringCount);
        Assert.Empty(entries.Entries);
    }

    [Fact(Timeout = 20_000)]
    public async Task ResolveFallbackChain_GivesEachStepAndWhy()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "es-MX");
        await CreateLocaleAsync(mesh, "es-419", fallback: "es-MX");
        await CreateLocaleAsync(mesh, "es", disabled: true);

        var steps = (await mesh.Client.ResolveFallbackChainAsync(new ResolveFallbackChainRequest { Locale = "es_419" }, cancellationToken: Timeout)).Steps;

        Assert.Equal(
            [("es-419", FallbackReason.Requested, true), ("es-MX", FallbackReason.Explicit, true), ("es", FallbackReason.Parent, false), ("default", FallbackReason.Default, true)],
            steps.Select(s => (s.Locale, s.Reason, s.Searched)));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ResolveFallbackChainAsync(new ResolveFallbackChainRequest { Locale = "es--419" }, cancellationToken: Timeout).AsTask(), "es--419");
    }

    // ---- Plural rules ----

    [Fact(Timeout = 20_000)]
    public async Task GetPluralRules_ReturnsCldrConditionsAndSamples_OtherLast()
    {
        await using var mesh = await StartAsync();

        var polish = await mesh.Client.GetPluralRulesAsync(new GetPluralRulesRequest { Locale = "pl-PL" }, cancellationToken: Timeout);
        var ordinal = await mesh.Client.GetPluralRulesAsync(new GetPluralRulesRequest { Locale = "default", Ordinal = true }, cancellationToken: Timeout);

        Assert.Equal("pl", polish.RulesLanguage);
        Assert.Equal("48", polish.CldrVersion);
        Assert.Equal([PluralCategory.One, PluralCategory.Few, PluralCategory.Many, PluralCategory.Other], polish.Rules.Select(r => r.Category));
        Assert.Equal("i = 1 and v = 0", polish.Rules[0].Condition);
        Assert.StartsWith("1", polish.Rules[0].IntegerSamples, StringComparison.Ordinal);
        Assert.Equal("", polish.Rules[^1].Condition);
        Assert.Equal("en", ordinal.RulesLanguage);
        Assert.Equal(4, ordinal.Rules.Count);
    }

    [Fact(Timeout = 20_000)]
    public async Task GetPluralRules_FollowTheLocalesRulesLanguage()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "tlh", rulesLanguage: "en");

        var rules = await mesh.Client.GetPluralRulesAsync(new GetPluralRulesRequest { Locale = "tlh" }, cancellationToken: Timeout);
        var unknown = await mesh.Client.GetPluralRulesAsync(new GetPluralRulesRequest { Locale = "qya" }, cancellationToken: Timeout);

        Assert.Equal("en", rules.RulesLanguage);
        Assert.Equal(("und", PluralCategory.Other), (unknown.RulesLanguage, unknown.Rules.Single().Category));
    }

    [Theory(Timeout = 20_000)]
    [InlineData("fr", null, "1.5", PluralCategory.One)]
    [InlineData("en", null, "1.0", PluralCategory.Other)]
    [InlineData("en", 1L, null, PluralCategory.One)]
    [InlineData("ar", 0L, null, PluralCategory.Zero)]
    [InlineData("ru", null, "-21", PluralCategory.One)]
    public async Task SelectPluralCategory_GivesTheCldrCategory(string locale, long? count, string? decimalCount, PluralCategory expected)
    {
        await using var mesh = await StartAsync();
        var request = new SelectPluralCategoryRequest { Locale = locale };
        if (count is { } c)
        {
            request.Count = c;
        }
        else
        {
            request.DecimalCount = decimalCount;
        }

        Assert.Equal(expected, (await mesh.Client.SelectPluralCategoryAsync(request, cancellationToken: Timeout)).Category);
    }

    [Fact(Timeout = 20_000)]
    public async Task SelectPluralCategory_WithoutANumberOrWithABadOne_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.SelectPluralCategoryAsync(new SelectPluralCategoryRequest { Locale = "en" }, cancellationToken: Timeout).AsTask(), "decimal_count");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.SelectPluralCategoryAsync(new SelectPluralCategoryRequest { Locale = "en", DecimalCount = "1e5" }, cancellationToken: Timeout).AsTask(), "'1e5'");
    }

    // ---- String entries ----

    [Fact(Timeout = 20_000)]
    public async Task CreateStringEntry_StoresVersionOne_WithSortedPlaceholders_AndCountsIt()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        var key = NewKey();

        var created = await CreateTextAsync(mesh, "FR", key, "{player} a trouvé {item} {{rare}}", "quest", "ui");
        var read = (await mesh.Client.GetStringEntryAsync(new GetStringEntryRequest { Locale = "fr", Key = key }, cancellationToken: Timeout)).Entry;
        var locale = (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "fr" }, cancellationToken: Timeout)).Locale;

        Assert.Equal(("fr", 1L), (created.Locale, created.Version));
        Assert.Equal(["item", "player"], read.Placeholders);
        Assert.Equal(created, read);
        Assert.Equal("anonymous", read.UpdatedBy);
        Assert.Equal((1, 1L), (locale.StringCount, locale.TableRevision));
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateStringEntry_Retried_ReturnsTheFirstEntry_AndADuplicateKeyFailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de");
        var key = NewKey();
        var request = new CreateStringEntryRequest { RequestId = Guid.NewGuid().ToString(), Entry = new StringEntry { Locale = "de", Key = key, Text = "Hallo" } };

        var first = (await mesh.Client.CreateStringEntryAsync(request, cancellationToken: Timeout)).Entry;
        var retry = (await mesh.Client.CreateStringEntryAsync(request, cancellationToken: Timeout)).Entry;

        Assert.Equal(first, retry);
        await FailsAsync(StatusCode.AlreadyExists, () => CreateTextAsync(mesh, "de", key, "Servus"), key, "UpdateStringEntry");
        Assert.Equal(1, (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "de" }, cancellationToken: Timeout)).Locale.StringCount);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("Bad.Key", "ok", 0, "entry.key")]
    [InlineData("ui.ok", "Hello {name", 0, "not closed")]
    [InlineData("ui.ok", "Hello {first name}", 0, "not a name")]
    [InlineData("ui.ok", "Hello }", 0, "unmatched")]
    [InlineData("ui.ok", "Far too long", 5, "max_length 5")]
    public async Task CreateStringEntry_WithMalformedInput_FailsInvalidArgument(string key, string text, int maxLength, string mention)
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");

        await FailsAsync(
            StatusCode.InvalidArgument,
            () => mesh.Client.CreateStringEntryAsync(new CreateStringEntryRequest { RequestId = "r", Entry = new StringEntry { Locale = "en", Key = key, Text = text, MaxLength = maxLength } }, cancellationToken: Timeout).AsTask(),
            mention);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateStringEntry_APluralWithoutOther_OrInAnUnregisteredLocale_Fails()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.InvalidArgument, () => CreatePluralAsync(mesh, "default", "ui.items", new PluralForms { One = "one item" }), "plural.other is required");
        await FailsAsync(StatusCode.NotFound, () => CreateTextAsync(mesh, "sv", "ui.items", "x"), "'sv' is not registered");
    }

    [Fact(Timeout = 20_000)]
    public async Task GetStringEntry_OfAMissingKey_FailsNotFound_WithoutFallingBack()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateTextAsync(mesh, "default", "menu.quit", "Quit");

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetStringEntryAsync(new GetStringEntryRequest { Locale = "fr", Key = "menu.quit" }, cancellationToken: Timeout).AsTask(), "'menu.quit'", "'fr'");
    }

    [Fact(Timeout = 20_000)]
    public async Task ListStringEntries_FiltersByPrefixTagAndTime_AndPagesInKeyOrder()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");
        var keys = Enumerable.Range(0, 7).Select(_ => NewKey("quest")).ToList();
        foreach (var key in keys)
        {
            await CreateTextAsync(mesh, "en", key, Faker.Lorem.Sentence(), "quest");
        }

        await CreateTextAsync(mesh, "en", "ui.title", "Title", "ui");
        _time.Advance(TimeSpan.FromMinutes(5));
        var checkpoint = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(1));
        await CreateTextAsync(mesh, "en", "ui.late", "Late", "ui");

        var listed = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "en", KeyPrefix = "quest.", PageSize = 3, PageToken = token }, cancellationToken: Timeout);
            listed.AddRange(page.Entries.Select(e => e.Key));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var tagged = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "en", Tag = "ui" }, cancellationToken: Timeout);
        var recent = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "en", UpdatedAfter = checkpoint }, cancellationToken: Timeout);
        Assert.Equal(keys.Order(StringComparer.Ordinal), listed);
        Assert.Equal(["ui.late", "ui.title"], tagged.Entries.Select(e => e.Key));
        Assert.Equal(["ui.late"], recent.Entries.Select(e => e.Key));
    }

    [Fact(Timeout = 20_000)]
    public async Task ListStringEntries_OfEveryTable_OrdersByKeyThenLocale()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateLocaleAsync(mesh, "de");
        foreach (var (locale, text) in new[] { ("fr", "Bonjour"), ("default", "Hello"), ("de", "Hallo") })
        {
            await CreateTextAsync(mesh, locale, "greeting.hello", text);
        }

        await CreateTextAsync(mesh, "de", "greeting.bye", "Tschüss");

        var all = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "-", KeyPrefix = "greeting.hello" }, cancellationToken: Timeout);

        Assert.Equal(["de", "default", "fr"], all.Entries.Select(e => e.Locale));
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "it" }, cancellationToken: Timeout).AsTask(), "'it'");
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateStringEntry_ChangesMaskedFields_UnderItsVersion()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");
        var key = NewKey();
        var created = await CreateTextAsync(mesh, "en", key, "Old text", "quest");

        var updated = await mesh.Client.UpdateStringEntryAsync(
            new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "en", Key = key, Plural = new PluralForms { One = "{count} wolf", Other = "{count} wolves" } }, UpdateMask = FieldMask.FromString("plural"), ExpectedVersion = created.Version },
            cancellationToken: Timeout);
        var unchanged = await mesh.Client.UpdateStringEntryAsync(
            new UpdateStringEntryRequest { Entry = updated.Entry, UpdateMask = FieldMask.FromString("plural") },
            cancellationToken: Timeout);

        Assert.False(updated.Created);
        Assert.Equal((2L, StringEntry.ValueOneofCase.Plural), (updated.Entry.Version, updated.Entry.ValueCase));
        Assert.Equal(["quest"], updated.Entry.Tags);
        Assert.Equal(["count"], updated.Entry.Placeholders);
        Assert.Equal(2L, unchanged.Entry.Version);
        await FailsAsync(
            StatusCode.Aborted,
            () => mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "en", Key = key, Text = "x" }, UpdateMask = FieldMask.FromString("text"), ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(),
            "version 2", "expected_version 1");
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateStringEntry_OfAMissingKey_FailsNotFound_OrCreatesWithAllowMissing()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");
        var entry = new StringEntry { Locale = "en", Key = "menu.new", Text = "New game", Description = "Main menu" };

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = entry }, cancellationToken: Timeout).AsTask(), "'menu.new'");
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = entry, AllowMissing = true, ExpectedVersion = 4 }, cancellationToken: Timeout).AsTask(), "expected_version 4");
        var created = await mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = entry, AllowMissing = true }, cancellationToken: Timeout);

        Assert.True(created.Created);
        Assert.Equal((1L, "Main menu"), (created.Entry.Version, created.Entry.Description));
        Assert.Equal(1, (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "en" }, cancellationToken: Timeout)).Locale.StringCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateStringEntry_WithAMaskThatDoesNotMatchTheValue_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");
        await CreateTextAsync(mesh, "en", "ui.a", "A");

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "en", Key = "ui.a", Text = "B" }, UpdateMask = FieldMask.FromString("plural") }, cancellationToken: Timeout).AsTask(), "entry.plural must be set");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "en", Key = "ui.a", Text = "B" }, UpdateMask = FieldMask.FromString("key") }, cancellationToken: Timeout).AsTask(), "'key'");
    }

    [Fact(Timeout = 20_000)]
    public async Task DeleteStringEntry_RemovesIt_SoLookupsFallBack()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateTextAsync(mesh, "default", "menu.quit", "Quit");
        var french = await CreateTextAsync(mesh, "fr", "menu.quit", "Quitter");

        await FailsAsync(StatusCode.Aborted, () => mesh.Client.DeleteStringEntryAsync(new DeleteStringEntryRequest { Locale = "fr", Key = "menu.quit", ExpectedVersion = 9 }, cancellationToken: Timeout).AsTask(), "expected_version 9");
        await mesh.Client.DeleteStringEntryAsync(new DeleteStringEntryRequest { Locale = "fr", Key = "menu.quit", ExpectedVersion = french.Version }, cancellationToken: Timeout);
        var result = await LocalizeAsync(mesh, new LocalizeRequest { Key = "menu.quit", Locale = "fr" });
        var locale = (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "fr" }, cancellationToken: Timeout)).Locale;

        Assert.Equal(("Quit", "default", true), (result.Text, result.ResolvedLocale, result.FellBack));
        Assert.Equal((0, 2L), (locale.StringCount, locale.TableRevision));
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.DeleteStringEntryAsync(new DeleteStringEntryRequest { Locale = "fr", Key = "menu.quit" }, cancellationToken: Timeout).AsTask(), "'menu.quit'");
    }

    [Fact(Timeout = 20_000)]
    public async Task ImportStringEntries_CreatesUpdatesAndSkips_ReportingEachInOrder()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "es");
        await CreateTextAsync(mesh, "es", "ui.same", "Igual");
        await CreateTextAsync(mesh, "es", "ui.changed", "Antes");
        var request = new ImportStringEntriesRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            Locale = "es",
            Entries =
            {
                new StringEntry { Key = "ui.new", Text = "Nuevo" },
                new StringEntry { Key = "ui.same", Text = "Igual" },
                new StringEntry { Key = "ui.changed", Text = "Después" },
            },
        };

        var imported = await mesh.Client.ImportStringEntriesAsync(request, cancellationToken: Timeout);
        var retried = await mesh.Client.ImportStringEntriesAsync(request, cancellationToken: Timeout);
        request.RequestId = Guid.NewGuid().ToString();
        request.Mode = ImportMode.KeepExisting;
        var kept = await mesh.Client.ImportStringEntriesAsync(request, cancellationToken: Timeout);

        Assert.Equal([("ui.new", ImportOutcome.Created, 1L), ("ui.same", ImportOutcome.Unchanged, 1L), ("ui.changed", ImportOutcome.Updated, 2L)], imported.Results.Select(r => (r.Key, r.Outcome, r.Version)));
        Assert.Equal(3, imported.TableRevision);
        Assert.Equal(imported, retried);
        Assert.All(kept.Results, r => Assert.Equal(ImportOutcome.Skipped, r.Outcome));
        Assert.Equal(3, kept.TableRevision);
        Assert.Equal(3, (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "es" }, cancellationToken: Timeout)).Locale.StringCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task ImportStringEntries_WithAnyInvalidEntry_WritesNothing_AndNamesTheBadKeys()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "es");
        var request = new ImportStringEntriesRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            Locale = "es",
            Entries =
            {
                new StringEntry { Key = "ui.good", Text = "Bien" },
                new StringEntry { Key = "ui.broken", Text = "Hola {nombre" },
                new StringEntry { Key = "ui.good", Text = "Otra vez" },
            },
        };

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ImportStringEntriesAsync(request, cancellationToken: Timeout).AsTask(), "'ui.broken'", "'ui.good': appears more than once", "Nothing was imported");
        var listed = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "es" }, cancellationToken: Timeout);

        Assert.Empty(listed.Entries);
    }

    [Fact(Timeout = 20_000)]
    public async Task ImportStringEntries_OverTheLimit_OrIntoAnUnregisteredLocale_Fails()
    {
        await using var mesh = await StartAsync();
        var tooMany = new ImportStringEntriesRequest { RequestId = "r", Locale = "default" };
        tooMany.Entries.AddRange(Enumerable.Range(0, 1001).Select(i => new StringEntry { Key = $"bulk.k{i}", Text = "x" }));

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ImportStringEntriesAsync(tooMany, cancellationToken: Timeout).AsTask(), "1-1000", "1001");
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.ImportStringEntriesAsync(new ImportStringEntriesRequest { RequestId = "r", Locale = "sv", Entries = { new StringEntry { Key = "a", Text = "b" } } }, cancellationToken: Timeout).AsTask(), "'sv'");
    }

    [Fact(Timeout = 20_000)]
    public async Task ExportStringTable_ResolvesEveryKeyAlongTheChain_WithAnEtag()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateLocaleAsync(mesh, "fr-CA");
        await CreateTextAsync(mesh, "default", "menu.quit", "Quit");
        await CreateTextAsync(mesh, "default", "menu.start", "Start");
        await CreateTextAsync(mesh, "fr", "menu.start", "Commencer");
        await CreateTextAsync(mesh, "fr-CA", "menu.options", "Options (CA)");

        var export = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "fr_ca" }, cancellationToken: Timeout);
        var again = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "fr-CA", IfNoneMatch = export.TableEtag }, cancellationToken: Timeout);
        await CreateTextAsync(mesh, "fr", "menu.quit", "Quitter");
        var changed = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "fr-CA", IfNoneMatch = export.TableEtag }, cancellationToken: Timeout);

        Assert.Equal("fr-CA", export.Locale);
        Assert.Equal([("menu.options", "fr-CA"), ("menu.quit", "default"), ("menu.start", "fr")], export.Entries.Select(e => (e.Key, e.ResolvedLocale)));
        Assert.Equal(3, export.TotalSize);
        Assert.True(again.NotModified);
        Assert.Empty(again.Entries);
        Assert.False(changed.NotModified);
        Assert.NotEqual(export.TableEtag, changed.TableEtag);
        Assert.Equal("fr", changed.Entries.Single(e => e.Key == "menu.quit").ResolvedLocale);
    }

    [Fact(Timeout = 20_000)]
    public async Task ExportStringTable_Pages_AndAbortsWhenTheTableChangesBetweenPages()
    {
        await using var mesh = await StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await CreateTextAsync(mesh, "default", $"npc.bark_{i}", Faker.Lorem.Sentence(), i % 2 == 0 ? "npc-bark" : "ui");
        }

        var first = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "en", PageSize = 2 }, cancellationToken: Timeout);
        var second = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "en", PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Timeout);
        var barks = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "en", Tag = "npc-bark" }, cancellationToken: Timeout);
        await CreateTextAsync(mesh, "default", "npc.bark_9", "Hm.");

        Assert.Equal(["npc.bark_0", "npc.bark_1"], first.Entries.Select(e => e.Key));
        Assert.Equal(["npc.bark_2", "npc.bark_3"], second.Entries.Select(e => e.Key));
        Assert.Equal(5, first.TotalSize);
        Assert.Equal(3, barks.TotalSize);
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "en", PageSize = 2, PageToken = second.NextPageToken }, cancellationToken: Timeout).AsTask(), "restart the export");
    }

    // ---- Localize ----

    [Fact(Timeout = 20_000)]
    public async Task Localize_WhenKeyOnlyInFr_FallsBackFromFrCa()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateLocaleAsync(mesh, "fr-CA");
        var entry = await CreateTextAsync(mesh, "fr", "quest.accept.title", "Accepter la quête de {giver}");

        var result = await LocalizeAsync(mesh, new LocalizeRequest { Key = "quest.accept.title", Locale = "fr_CA", Args = { ["giver"] = new TypedValue { StringValue = "Gaston" } } });

        Assert.Equal("Accepter la quête de Gaston", result.Text);
        Assert.Equal(("fr-CA", "fr", true, entry.Version), (result.RequestedLocale, result.ResolvedLocale, result.FellBack, result.EntryVersion));
    }

    [Fact(Timeout = 20_000)]
    public async Task Localize_SkipsADisabledLocaleInTheChain()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de", disabled: true);
        await CreateTextAsync(mesh, "de", "menu.quit", "Beenden");
        await CreateTextAsync(mesh, "default", "menu.quit", "Quit");

        Assert.Equal("default", (await LocalizeAsync(mesh, new LocalizeRequest { Key = "menu.quit", Locale = "de-AT" })).ResolvedLocale);
    }

    [Fact(Timeout = 20_000)]
    public async Task Localize_SelectsThePluralFormWithTheResolvedLocalesRules()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "pl");
        await CreatePluralAsync(mesh, "pl", "inventory.arrows", new PluralForms { One = "{count} strzała", Few = "{count} strzały", Many = "{count} strzał", Other = "{count} strzały", ExplicitZero = "Brak strzał" });

        var few = await LocalizeAsync(mesh, new LocalizeRequest { Key = "inventory.arrows", Locale = "pl-PL", Count = 22 });
        var many = await LocalizeAsync(mesh, new LocalizeRequest { Key = "inventory.arrows", Locale = "pl", Count = 25 });
        var zero = await LocalizeAsync(mesh, new LocalizeRequest { Key = "inventory.arrows", Locale = "pl", Count = 0 });
        var fraction = await LocalizeAsync(mesh, new LocalizeRequest { Key = "inventory.arrows", Locale = "pl", DecimalCount = "2.50" });

        Assert.Equal(("22 strzały", PluralCategory.Few, PluralCategory.Few), (few.Text, few.PluralCategory, few.FormUsed));
        Assert.Equal(("25 strzał", PluralCategory.Many), (many.Text, many.PluralCategory));
        Assert.Equal(("Brak strzał", true, PluralCategory.Unspecified), (zero.Text, zero.ExplicitZeroUsed, zero.FormUsed));
        Assert.Equal(("2,50 strzały", PluralCategory.Other), (fraction.Text, fraction.PluralCategory));
    }

    [Fact(Timeout = 20_000)]
    public async Task Localize_AMissingKey_FailsNotFoundNamingTheChain_OrReturnsTheKeyWhenAsked()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");

        await FailsAsync(StatusCode.NotFound, () => LocalizeAsync(mesh, new LocalizeRequest { Key = "ui.nothing", Locale = "fr-CA" }), "fr-CA -> fr -> default", "'ui.nothing'");
        var fallback = await LocalizeAsync(mesh, new LocalizeRequest { Key = "ui.nothing", Locale = "fr-CA", FallbackToKey = true });

        Assert.Equal(("ui.nothing", true, ""), (fallback.Text, fallback.KeyMissing, fallback.ResolvedLocale));
    }

    [Fact(Timeout = 20_000)]
    public async Task Localize_APluralWithoutCount_OrAMissingArgument_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        await CreatePluralAsync(mesh, "default", "ui.coins", new PluralForms { One = "{count} coin", Other = "{count} coins" });
        await CreateTextAsync(mesh, "default", "ui.greet", "Hello {name}");

        await FailsAsync(StatusCode.InvalidArgument, () => LocalizeAsync(mesh, new LocalizeRequest { Key = "ui.coins", Locale = "en" }), "count");
        await FailsAsync(StatusCode.InvalidArgument, () => LocalizeAsync(mesh, new LocalizeRequest { Key = "ui.greet", Locale = "en" }), "{name}");
        var kept = await LocalizeAsync(mesh, new LocalizeRequest { Key = "ui.greet", Locale = "en", MissingArgumentPolicy = MissingArgumentPolicy.Keep });
        Assert.Equal(("Hello {name}", "name"), (kept.Text, kept.MissingArguments.Single()));
    }

    [Fact(Timeout = 20_000)]
    public async Task Localize_WithASpeechStyle_RestylesTheTextButNotTheArguments()
    {
        await using var mesh = await StartAsync();
        await CreateTextAsync(mesh, "default", "npc.greet", "Are you ready, {name}? You are late.");
        await mesh.Client.CreateSpeechStyleAsync(new CreateSpeechStyleRequest { RequestId = "s1", Style = new SpeechStyle { StyleId = "old-knight", Locale = "en", Register = SpeechRegister.Archaic } }, cancellationToken: Timeout);

        var result = await LocalizeAsync(mesh, new LocalizeRequest { Key = "npc.greet", Locale = "en-GB", SpeechStyleId = "old-knight", Args = { ["name"] = new TypedValue { StringValue = "you are" } } });

        Assert.Equal("Art thou ready, you are? Thou art late.", result.Text);
    }

    [Fact(Timeout = 20_000)]
    public async Task BatchLocalize_AnswersEachItemOnItsOwn_InOrder()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de");
        await CreateTextAsync(mesh, "de", "menu.start", "Start");
        await CreateTextAsync(mesh, "default", "menu.quit", "Quit");

        var response = await mesh.Client.BatchLocalizeAsync(
            new BatchLocalizeRequest
            {
                Locale = "de",
                Items =
                {
                    new LocalizeItem { Key = "menu.start" },
                    new LocalizeItem { Key = "menu.quit" },
                    new LocalizeItem { Key = "menu.missing" },
                    new LocalizeItem { Key = "menu.start", Locale = "bad--tag" },
                    new LocalizeItem { Key = "menu.quit", SpeechStyleId = "no-such-style" },
                },
            },
            cancellationToken: Timeout);

        Assert.Equal("Start", response.Results[0].Localized.Text);
        Assert.Equal(("Quit", "default"), (response.Results[1].Localized.Text, response.Results[1].Localized.ResolvedLocale));
        Assert.Equal((int)StatusCode.NotFound, response.Results[2].Error.Code);
        Assert.Equal((int)StatusCode.InvalidArgument, response.Results[3].Error.Code);
        Assert.Contains("items[3].locale", response.Results[3].Error.Message, StringComparison.Ordinal);
        Assert.Equal((int)StatusCode.NotFound, response.Results[4].Error.Code);
    }

    [Fact(Timeout = 20_000)]
    public async Task BatchLocalize_WithTooManyItemsOrABadLocale_FailsAsAWhole()
    {
        await using var mesh = await StartAsync();
        var tooMany = new BatchLocalizeRequest { Locale = "en" };
        tooMany.Items.AddRange(Enumerable.Range(0, 501).Select(i => new LocalizeItem { Key = "k" }));

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.BatchLocalizeAsync(tooMany, cancellationToken: Timeout).AsTask(), "1-500");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.BatchLocalizeAsync(new BatchLocalizeRequest { Locale = "e", Items = { new LocalizeItem { Key = "k" } } }, cancellationToken: Timeout).AsTask(), "locale 'e'");
    }

    [Fact(Timeout = 20_000)]
    public async Task FormatText_FormatsAdHocTemplates_WithTheLocalesNumberFormat()
    {
        await using var mesh = await StartAsync();

        var text = await mesh.Client.FormatTextAsync(new FormatTextRequest { Locale = "de", Text = "{who} zahlt {price} Gold", Args = { ["who"] = new TypedValue { StringValue = "Ida" }, ["price"] = new TypedValue { DoubleValue = 1234.5 } } }, cancellationToken: Timeout);
        var plural = await mesh.Client.FormatTextAsync(new FormatTextRequest { Locale = "en", Plural = new PluralForms { One = "{count}st", Two = "{count}nd", Few = "{count}rd", Other = "{count}th", Ordinal = true }, Count = 23 }, cancellationToken: Timeout);
        var empty = await mesh.Client.FormatTextAsync(new FormatTextRequest { Locale = "en", Text = "[{a}]", MissingArgumentPolicy = MissingArgumentPolicy.Empty }, cancellationToken: Timeout);

        Assert.Equal("Ida zahlt 1.234,5 Gold", text.Text);
        Assert.Equal(PluralCategory.Unspecified, text.PluralCategory);
        Assert.Equal(("23rd", PluralCategory.Few), (plural.Text, plural.PluralCategory));
        Assert.Equal(("[]", "a"), (empty.Text, empty.MissingArguments.Single()));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.FormatTextAsync(new FormatTextRequest { Locale = "en" }, cancellationToken: Timeout).AsTask(), "template is required");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.FormatTextAsync(new FormatTextRequest { Locale = "en", Text = "{a" }, cancellationToken: Timeout).AsTask(), "not closed");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.FormatTextAsync(new FormatTextRequest { Locale = "en", Text = "{b}", Args = { ["b"] = new TypedValue { BytesValue = Google.Protobuf.ByteString.CopyFromUtf8("x") } } }, cancellationToken: Timeout).AsTask(), "'b'");
    }

    // ---- Speech styles ----

    private static SpeechStyle Dwarf() => new()
    {
        StyleId = "dwarf-northern-gruff",
        DisplayName = "Northern dwarf",
        Locale = "en",
        Dialect = "northern-dwarven",
        Register = SpeechRegister.Informal,
        DefaultIntensity = 1.0,
        PromptGuidance = "Short gruff sentences; calls everyone \"lad\".",
        ExampleLines = { "Aye, the mine's deep, lad." },
        Rules =
        {
            new SpeechRule { RuleId = "my-to-me", Substitution = new WordSubstitution { Match = "my", Replacement = "me" } },
            new SpeechRule { RuleId = "ing-to-in", MinIntensity = 0.5, Pattern = new PatternReplacement { Pattern = @"(\w+)ing\b", Replacement = "$1in'" } },
            new SpeechRule { RuleId = "lad", Interjection = new Interjection { Phrases = { ", lad" }, Position = InterjectionPosition.UtteranceEnd, Probability = 1 } },
        },
    };

    private static async Task<SpeechStyle> CreateStyleAsync(LanguageSystemHarness mesh, SpeechStyle style) =>
        (await mesh.Client.CreateSpeechStyleAsync(new CreateSpeechStyleRequest { RequestId = Guid.NewGuid().ToString(), Style = style }, cancellationToken: Timeout)).Style;

    [Fact(Timeout = 20_000)]
    public async Task CreateSpeechStyle_ThenGet_ReturnsItAtVersionOne_AndADuplicateIdFails()
    {
        await using var mesh = await StartAsync();

        var created = await CreateStyleAsync(mesh, Dwarf());
        var read = (await mesh.Client.GetSpeechStyleAsync(new GetSpeechStyleRequest { StyleId = "dwarf-northern-gruff" }, cancellationToken: Timeout)).Style;

        Assert.Equal(1, created.Version);
        Assert.Equal(created, read);
        await FailsAsync(StatusCode.AlreadyExists, () => CreateStyleAsync(mesh, Dwarf()), "'dwarf-northern-gruff'");
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetSpeechStyleAsync(new GetSpeechStyleRequest { StyleId = "elf" }, cancellationToken: Timeout).AsTask(), "'elf'");
    }

    [Theory(Timeout = 20_000)]
    [InlineData("Bad_Id", "style.style_id")]
    [InlineData("regex", "not a valid .NET regular expression")]
    [InlineData("intensity", "default_intensity")]
    [InlineData("locale", "style.locale is required")]
    public async Task CreateSpeechStyle_WithInvalidInput_FailsInvalidArgument(string problem, string mention)
    {
        await using var mesh = await StartAsync();
        var style = Dwarf();
        switch (problem)
        {
            case "regex":
                style.Rules[1].Pattern.Pattern = "(unclosed";
                break;
            case "intensity":
                style.DefaultIntensity = 1.5;
                break;
            case "locale":
                style.Locale = "";
                break;
            default:
                style.StyleId = problem;
                break;
        }

        await FailsAsync(StatusCode.InvalidArgument, () => CreateStyleAsync(mesh, style), mention);
    }

    [Fact(Timeout = 20_000)]
    public async Task ListSpeechStyles_FiltersAndPagesByStyleId()
    {
        await using var mesh = await StartAsync();
        foreach (var id in new[] { "c-style", "a-style", "b-style" })
        {
            var style = Dwarf();
            style.StyleId = id;
            style.Register = id == "b-style" ? SpeechRegister.Archaic : SpeechRegister.Informal;
            await CreateStyleAsync(mesh, style);
        }

        var first = await mesh.Client.ListSpeechStylesAsync(new ListSpeechStylesRequest { PageSize = 2 }, cancellationToken: Timeout);
        var second = await mesh.Client.ListSpeechStylesAsync(new ListSpeechStylesRequest { PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Timeout);
        var archaic = await mesh.Client.ListSpeechStylesAsync(new ListSpeechStylesRequest { Register = SpeechRegister.Archaic, Locale = "EN", Dialect = "northern-dwarven" }, cancellationToken: Timeout);

        Assert.Equal(["a-style", "b-style"], first.Styles.Select(s => s.StyleId));
        Assert.Equal(["c-style"], second.Styles.Select(s => s.StyleId));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal(["b-style"], archaic.Styles.Select(s => s.StyleId));
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateSpeechStyle_ReplacesMaskedFields_UnderItsVersion()
    {
        await using var mesh = await StartAsync();
        var created = await CreateStyleAsync(mesh, Dwarf());
        var change = new SpeechStyle { StyleId = created.StyleId, Register = SpeechRegister.Formal };

        var updated = (await mesh.Client.UpdateSpeechStyleAsync(new UpdateSpeechStyleRequest { Style = change, UpdateMask = FieldMask.FromString("register,rules,default_intensity"), ExpectedVersion = 1 }, cancellationToken: Timeout)).Style;

        Assert.Equal((2L, SpeechRegister.Formal, 0, false), (updated.Version, updated.Register, updated.Rules.Count, updated.HasDefaultIntensity));
        Assert.Equal(created.DisplayName, updated.DisplayName);
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.UpdateSpeechStyleAsync(new UpdateSpeechStyleRequest { Style = change, UpdateMask = FieldMask.FromString("register"), ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask(), "expected_version 1");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateSpeechStyleAsync(new UpdateSpeechStyleRequest { Style = change, UpdateMask = new FieldMask() }, cancellationToken: Timeout).AsTask(), "update_mask");
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.UpdateSpeechStyleAsync(new UpdateSpeechStyleRequest { Style = new SpeechStyle { StyleId = "nobody" }, UpdateMask = FieldMask.FromString("register") }, cancellationToken: Timeout).AsTask(), "'nobody'");
    }

    [Fact(Timeout = 20_000)]
    public async Task DeleteSpeechStyle_IsGuardedByItsVersion()
    {
        await using var mesh = await StartAsync();
        await CreateStyleAsync(mesh, Dwarf());

        await FailsAsync(StatusCode.Aborted, () => mesh.Client.DeleteSpeechStyleAsync(new DeleteSpeechStyleRequest { StyleId = "dwarf-northern-gruff", ExpectedVersion = 2 }, cancellationToken: Timeout).AsTask(), "expected_version 2");
        await mesh.Client.DeleteSpeechStyleAsync(new DeleteSpeechStyleRequest { StyleId = "dwarf-northern-gruff", ExpectedVersion = 1 }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetSpeechStyleAsync(new GetSpeechStyleRequest { StyleId = "dwarf-northern-gruff" }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task ApplySpeechStyle_RewritesDeterministically_ReportingTheRulesItUsed()
    {
        await using var mesh = await StartAsync();
        var style = await CreateStyleAsync(mesh, Dwarf());
        var request = new ApplySpeechStyleRequest { StyleId = style.StyleId, Text = "I am going to fetch my <b>hammer</b> for {player}." };

        var first = await mesh.Client.ApplySpeechStyleAsync(request, cancellationToken: Timeout);
        var again = await mesh.Client.ApplySpeechStyleAsync(request, cancellationToken: Timeout);
        request.Intensity = 0.2;
        var mild = await mesh.Client.ApplySpeechStyleAsync(request, cancellationToken: Timeout);

        Assert.Equal("I'm gonna fetch me <b>hammer</b> for {player}, lad.", first.Text);
        Assert.Equal(first, again);
        Assert.Equal(["builtin:register", "my-to-me", "lad"], first.AppliedRules.Select(r => r.RuleId));
        Assert.Equal((style.Version, 1.0), (first.StyleVersion, first.Intensity));
        Assert.DoesNotContain("lad", mild.Text, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task ApplySpeechStyle_ToTextOfAnotherLanguage_IsSkipped()
    {
        await using var mesh = await StartAsync();
        await CreateStyleAsync(mesh, Dwarf());

        var result = await mesh.Client.ApplySpeechStyleAsync(new ApplySpeechStyleRequest { StyleId = "dwarf-northern-gruff", Text = "Je vais chercher mon marteau.", Locale = "fr-FR" }, cancellationToken: Timeout);

        Assert.True(result.Skipped);
        Assert.Equal("Je vais chercher mon marteau.", result.Text);
        Assert.Contains("fr-FR -> fr -> default", result.SkipReason, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task ApplySpeechStyle_WithBadInput_Fails()
    {
        await using var mesh = await StartAsync();
        await CreateStyleAsync(mesh, Dwarf());

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ApplySpeechStyleAsync(new ApplySpeechStyleRequest { StyleId = "dwarf-northern-gruff", Text = "" }, cancellationToken: Timeout).AsTask(), "text");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ApplySpeechStyleAsync(new ApplySpeechStyleRequest { StyleId = "dwarf-northern-gruff", Text = new string('a', 10_001) }, cancellationToken: Timeout).AsTask(), "text must be 1-10000");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ApplySpeechStyleAsync(new ApplySpeechStyleRequest { StyleId = "dwarf-northern-gruff", Text = "x", Intensity = 2 }, cancellationToken: Timeout).AsTask(), "intensity");
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.ApplySpeechStyleAsync(new ApplySpeechStyleRequest { StyleId = "nobody", Text = "x" }, cancellationToken: Timeout).AsTask(), "'nobody'");
    }

    // ---- Concurrency ----

    [Fact(Timeout = 20_000)]
    public async Task ConcurrentWriters_NeverLoseAnEntryCountOrARevision()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "it");

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => CreateTextAsync(mesh, "it", $"load.k{i}", "testo")));
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => mesh.Client.DeleteStringEntryAsync(new DeleteStringEntryRequest { Locale = "it", Key = $"load.k{i}" }, cancellationToken: Timeout).AsTask()));
        var locale = (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "it" }, cancellationToken: Timeout)).Locale;

        Assert.Equal((10, 30L), (locale.StringCount, locale.TableRevision));
    }

    [Fact(Timeout = 20_000)]
    public async Task ConcurrentLocaleCreations_AllLand_InTheOneRegistry()
    {
        await using var mesh = await StartAsync();
        var tags = new[] { "da", "fi", "nb", "sv", "is", "et", "lv", "lt" };

        await Task.WhenAll(tags.Select(tag => CreateLocaleAsync(mesh, tag)));
        var listed = await mesh.Client.ListLocalesAsync(new ListLocalesRequest(), cancellationToken: Timeout);

        Assert.Equal(["default", .. tags.Order(StringComparer.Ordinal)], listed.Locales.Select(l => l.Tag));
    }
}
