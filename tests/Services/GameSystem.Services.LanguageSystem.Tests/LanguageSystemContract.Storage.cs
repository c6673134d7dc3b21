using Bogus;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>What the store layout promises: whole transactions, exact counts, index-ordered listings, one answer per request id.</summary>
public abstract partial class LanguageSystemContract
{
    /// <summary>Distinct realistic keys, reproducible from <paramref name="seed"/>.</summary>
    private static List<string> SeededKeys(int seed, int count, params string[] areas)
    {
        var faker = new Faker { Random = new Randomizer(seed) };
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var attempt = 0; keys.Count < count && attempt < count * 20; attempt++)
        {
            keys.Add($"{faker.PickRandom(areas)}.{faker.Lorem.Word().ToLowerInvariant()}_{faker.Random.Number(0, 9999)}.{faker.PickRandom("title", "body", "hint", "label")}");
        }

        Assert.Equal(count, keys.Count);
        return [.. keys];
    }

    private static ImportStringEntriesRequest Import(string locale, IEnumerable<(string Key, string Text)> entries, ImportMode mode = ImportMode.Overwrite)
    {
        var request = new ImportStringEntriesRequest { RequestId = Guid.NewGuid().ToString(), Locale = locale, Mode = mode };
        request.Entries.AddRange(entries.Select(e => new StringEntry { Key = e.Key, Text = e.Text }));
        return request;
    }

    private static async Task<List<StringEntry>> ListAllAsync(LanguageSystemHarness mesh, ListStringEntriesRequest request)
    {
        var entries = new List<StringEntry>();
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await mesh.Client.ListStringEntriesAsync(request, cancellationToken: Timeout);
            Assert.True(page.Entries.Count <= (request.PageSize == 0 ? 100 : request.PageSize));
            entries.AddRange(page.Entries);
            if (page.NextPageToken.Length == 0)
            {
                return entries;
            }

            request = request.Clone();
            request.PageToken = page.NextPageToken;
        }

        throw new InvalidOperationException("The listing did not end within 1000 pages.");
    }

    private static async Task<Locale> GetLocaleAsync(LanguageSystemHarness mesh, string tag) =>
        (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = tag }, cancellationToken: Timeout)).Locale;

    // ---- Imports are all or nothing ----

    [Fact(Timeout = 60_000)]
    public async Task ConcurrentOverlappingImports_EachApplyWhole_NeverAMix()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        var keys = SeededKeys(7101, 400, "quest", "ui", "npc");
        var first = Import("fr", keys.Select(k => (k, "A " + k)));
        var second = Import("fr", keys.Select(k => (k, "B " + k)));

        var results = await Task.WhenAll(mesh.Client.ImportStringEntriesAsync(first, cancellationToken: Timeout).AsTask(), mesh.Client.ImportStringEntriesAsync(second, cancellationToken: Timeout).AsTask());
        var entries = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "fr", PageSize = 1000 });
        var locale = await GetLocaleAsync(mesh, "fr");

        // Whichever applied second saw every entry of the first: all updated, and its texts are the table.
        var later = results[0].Results.All(r => r.Outcome == ImportOutcome.Updated) ? 0 : 1;
        Assert.All(results[1 - later].Results, r => Assert.Equal((ImportOutcome.Created, 1L), (r.Outcome, r.Version)));
        Assert.All(results[later].Results, r => Assert.Equal((ImportOutcome.Updated, 2L), (r.Outcome, r.Version)));
        Assert.Equal(2, results[later].TableRevision);
        var winner = later == 0 ? "A " : "B ";
        Assert.All(entries, e => Assert.Equal(winner + e.Key, e.Text));
        Assert.Equal((400, 400, 2L), (entries.Count, locale.StringCount, locale.TableRevision));
    }

    [Fact(Timeout = 30_000)]
    public async Task Import_RefusedForAnyReason_WritesNothing_NoEntryCountRevisionOrEvent()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "es");
        var keys = SeededKeys(7102, 50, "ui");
        var good = Import("es", keys.Select(k => (k, "Hola")));
        var invalid = Import("es", keys.Select((k, i) => (k, i == 49 ? "Hola {nombre" : "Hola")));
        var reused = Import("es", keys.Select(k => (k, "Adiós")));
        reused.RequestId = good.RequestId;
        await mesh.Client.ImportStringEntriesAsync(good, cancellationToken: Timeout);
        var before = await GetLocaleAsync(mesh, "es");

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ImportStringEntriesAsync(invalid, cancellationToken: Timeout).AsTask(), "Nothing was imported", $"'{keys[49]}'");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ImportStringEntriesAsync(reused, cancellationToken: Timeout).AsTask(), good.RequestId, "different");
        var after = await GetLocaleAsync(mesh, "es");
        var entries = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "es", PageSize = 1000 });

        Assert.Equal((50, 1L), (before.StringCount, before.TableRevision));
        Assert.Equal((before.StringCount, before.TableRevision), (after.StringCount, after.TableRevision));
        Assert.All(entries, e => Assert.Equal(("Hola", 1L), (e.Text, e.Version)));
        Assert.Single(await mesh.EventsAsync("table:es", Timeout));
    }

    [Fact(Timeout = 60_000)]
    public async Task Import_OfAThousandEntries_IsOneTransaction_WithIndexCountAndRevision()
    {
        await using var mesh = await StartAsync();
        var keys = SeededKeys(7103, 1000, "quest", "ui", "npc", "item");

        var imported = await mesh.Client.ImportStringEntriesAsync(Import("default", keys.Select(k => (k, new Faker { Random = new Randomizer(k.Length) }.Lorem.Sentence()))), cancellationToken: Timeout);
        var locale = await GetLocaleAsync(mesh, "default");
        var events = await mesh.EventsAsync("table:default", Timeout);

        Assert.Equal(1000, imported.Results.Count(r => r.Outcome == ImportOutcome.Created));
        Assert.Equal((1000, 1L, 1L), (locale.StringCount, locale.TableRevision, imported.TableRevision));
        Assert.Equal(1000, StringTableChanged.Parser.ParseFrom(Assert.Single(events).Payload).Keys.Count);
    }

    // ---- Counts never drift ----

    [Fact(Timeout = 60_000)]
    public async Task ConcurrentCreatesAndDeletes_KeepTheCountAndRevisionExact()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "pl");
        var faker = new Faker { Random = new Randomizer(7104) };
        var keys = SeededKeys(7104, 90, "quest", "npc");
        await Task.WhenAll(keys.Take(60).Select(k => CreateTextAsync(mesh, "pl", k, faker.Lorem.Sentence())));

        // Deletes of existing keys race creates of new ones on the same table.
        var deletes = keys.Take(30).Select(k => mesh.Client.DeleteStringEntryAsync(new DeleteStringEntryRequest { Locale = "pl", Key = k }, cancellationToken: Timeout).AsTask());
        var creates = keys.Skip(60).Select(k => (Task)CreateTextAsync(mesh, "pl", k, "tekst"));
        await Task.WhenAll(deletes.Concat(creates));
        var locale = await GetLocaleAsync(mesh, "pl");
        var listed = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "pl", PageSize = 17 });

        Assert.Equal((60, 120L), (locale.StringCount, locale.TableRevision));
        Assert.Equal(keys.Skip(30).Order(StringComparer.Ordinal), listed.Select(e => e.Key));
    }

    // ---- Listings page ordered indexes ----

    [Fact(Timeout = 60_000)]
    public async Task ListStringEntries_OverManyEntries_PagesInKeyOrder_WithAPrefix()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "en");
        var keys = SeededKeys(7105, 1300, "quest", "ui", "npc", "quests");
        await mesh.Client.ImportStringEntriesAsync(Import("en", keys.Take(1000).Select(k => (k, "x"))), cancellationToken: Timeout);
        await mesh.Client.ImportStringEntriesAsync(Import("en", keys.Skip(1000).Select(k => (k, "y"))), cancellationToken: Timeout);

        var all = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "en", PageSize = 250 });
        var quests = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "en", PageSize = 77, KeyPrefix = "quest." });
        var first = await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "en", PageSize = 1000 }, cancellationToken: Timeout);

        Assert.Equal(keys.Order(StringComparer.Ordinal), all.Select(e => e.Key));
        Assert.Equal(keys.Where(k => k.StartsWith("quest.", StringComparison.Ordinal)).Order(StringComparer.Ordinal), quests.Select(e => e.Key));
        Assert.Equal(1000, first.Entries.Count);
        Assert.NotEmpty(first.NextPageToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListStringEntries_OfEveryTable_PagesByKeyThenLocale_AcrossTables()
    {
        await using var mesh = await StartAsync();
        var tables = new[] { "fr", "de", "pt-BR" };
        foreach (var tag in tables)
        {
            await CreateLocaleAsync(mesh, tag);
        }

        var keys = SeededKeys(7106, 60, "ui", "quest");
        var faker = new Faker { Random = new Randomizer(7106) };
        var expected = new List<(string Key, string Locale)>();
        foreach (var tag in tables.Append("default"))
        {
            var subset = keys.Where(_ => faker.Random.Bool(0.6f)).ToList();
            await mesh.Client.ImportStringEntriesAsync(Import(tag, subset.Select(k => (k, tag + " " + k))), cancellationToken: Timeout);
            expected.AddRange(subset.Select(k => (k, tag)));
        }

        var listed = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "-", PageSize = 7 });
        var ui = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "-", PageSize = 5, KeyPrefix = "ui." });

        var ordered = expected.OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Locale, StringComparer.Ordinal).ToList();
        Assert.Equal(ordered, listed.Select(e => (e.Key, e.Locale)));
        Assert.Equal(ordered.Where(e => e.Key.StartsWith("ui.", StringComparison.Ordinal)), ui.Select(e => (e.Key, e.Locale)));
        Assert.All(listed, e => Assert.Equal(e.Locale + " " + e.Key, e.Text));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListStringEntries_WithASparseTagFilter_FindsEveryMatchAcrossShortPages()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "nl");
        var keys = SeededKeys(7107, 600, "ui", "quest");
        var request = Import("nl", keys.Select(k => (k, "tekst")));
        var tagged = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Entries.Count; i += 37)
        {
            request.Entries[i].Tags.Add("rare");
            tagged.Add(request.Entries[i].Key);
        }

        await mesh.Client.ImportStringEntriesAsync(request, cancellationToken: Timeout);

        var listed = await ListAllAsync(mesh, new ListStringEntriesRequest { Locale = "nl", PageSize = 4, Tag = "rare" });

        Assert.Equal(tagged.Order(StringComparer.Ordinal), listed.Select(e => e.Key));
    }

    [Fact(Timeout = 60_000)]
    public async Task ExportStringTable_OverManyEntries_MergesTheChainInKeyOrder()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fr");
        await CreateLocaleAsync(mesh, "fr-CA");
        var keys = SeededKeys(7108, 700, "quest", "ui", "npc");
        var faker = new Faker { Random = new Randomizer(7108) };
        var effective = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var tag in new[] { "fr-CA", "fr", "default" })
        {
            var subset = keys.Where(_ => faker.Random.Bool(0.5f)).ToList();
            await mesh.Client.ImportStringEntriesAsync(Import(tag, subset.Select(k => (k, tag))), cancellationToken: Timeout);
            subset.ForEach(k => effective.TryAdd(k, tag));
        }

        var exported = new List<ResolvedStringEntry>();
        var request = new ExportStringTableRequest { Locale = "fr-CA", PageSize = 90 };
        var totals = new List<int>();
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await mesh.Client.ExportStringTableAsync(request, cancellationToken: Timeout);
            exported.AddRange(page.Entries);
            totals.Add(page.TotalSize);
            if (page.NextPageToken.Length == 0)
            {
                break;
            }

            request.PageToken = page.NextPageToken;
        }

        var quests = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "fr-CA", PageSize = 2000, KeyPrefix = "quest." }, cancellationToken: Timeout);

        Assert.Equal(effective.Select(e => (e.Key, e.Value)), exported.Select(e => (e.Key, e.ResolvedLocale)));
        Assert.All(exported, e => Assert.Equal(e.ResolvedLocale, e.Text));
        Assert.All(totals, t => Assert.Equal(effective.Count, t));
        Assert.Equal(effective.Count(e => e.Key.StartsWith("quest.", StringComparison.Ordinal)), quests.TotalSize);
        Assert.Equal(quests.TotalSize, quests.Entries.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListLocales_OverManyLocales_PagesInTagOrder_DefaultFirst()
    {
        await using var mesh = await StartAsync();
        var faker = new Faker { Random = new Randomizer(7109) };
        var tags = new[] { "af", "ar", "bg", "ca", "cs", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "he", "hi", "hr", "hu", "id", "is", "it", "ja", "ko", "lt", "lv", "nb", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sr", "sv", "th", "tr", "uk", "vi", "zh" };
        var disabled = tags.Where(_ => faker.Random.Bool(0.25f)).ToHashSet(StringComparer.Ordinal);
        await Task.WhenAll(faker.Random.Shuffle(tags).Select(tag => CreateLocaleAsync(mesh, tag, disabled: disabled.Contains(tag))));

        async Task<List<string>> ListAsync(bool includeDisabled)
        {
            var listed = new List<string>();
            var token = "";
            for (var pages = 0; pages < 100; pages++)
            {
                var page = await mesh.Client.ListLocalesAsync(new ListLocalesRequest { PageSize = 7, PageToken = token, IncludeDisabled = includeDisabled }, cancellationToken: Timeout);
                Assert.True(page.Locales.Count <= 7);
                listed.AddRange(page.Locales.Select(l => l.Tag));
                token = page.NextPageToken;
                if (token.Length == 0)
                {
                    break;
                }
            }

            return listed;
        }

        Assert.Equal(["default", .. tags.Where(t => !disabled.Contains(t))], await ListAsync(includeDisabled: false));
        Assert.Equal(["default", .. tags], await ListAsync(includeDisabled: true));
        Assert.NotEmpty(disabled);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListSpeechStyles_OverManyStyles_PagesInIdOrder_WithFilters()
    {
        await using var mesh = await StartAsync();
        var faker = new Faker { Random = new Randomizer(7110) };
        var styles = Enumerable.Range(0, 45).Select(i =>
        {
            var style = Dwarf();
            style.StyleId = $"{faker.Hacker.Noun().ToLowerInvariant().Replace(' ', '-')}-{i:D2}";
            style.Register = faker.PickRandom(SpeechRegister.Formal, SpeechRegister.Informal, SpeechRegister.Archaic);
            return style;
        }).ToList();
        await Task.WhenAll(styles.Select(s => CreateStyleAsync(mesh, s)));

        var listed = new List<SpeechStyle>();
        var archaic = new List<SpeechStyle>();
        foreach (var (register, into) in new[] { (SpeechRegister.Unspecified, listed), (SpeechRegister.Archaic, archaic) })
        {
            var token = "";
            for (var pages = 0; pages < 100; pages++)
            {
                var page = await mesh.Client.ListSpeechStylesAsync(new ListSpeechStylesRequest { PageSize = 10, PageToken = token, Register = register }, cancellationToken: Timeout);
                into.AddRange(page.Styles);
                token = page.NextPageToken;
                if (token.Length == 0)
                {
                    break;
                }
            }
        }

        Assert.Equal(styles.Select(s => s.StyleId).Order(StringComparer.Ordinal), listed.Select(s => s.StyleId));
        Assert.Equal(styles.Where(s => s.Register == SpeechRegister.Archaic).Select(s => s.StyleId).Order(StringComparer.Ordinal), archaic.Select(s => s.StyleId));
    }

    // ---- A request id answers once ----

    [Fact(Timeout = 60_000)]
    public async Task ConcurrentRetriesOfOneRequest_AllGetTheFirstAnswer_AndWriteOnce()
    {
        await using var mesh = await StartAsync();
        var locale = new CreateLocaleRequest { RequestId = Guid.NewGuid().ToString(), Locale = new Locale { Tag = "sv", DisplayName = "Swedish" } };
        var entry = new CreateStringEntryRequest { RequestId = Guid.NewGuid().ToString(), Entry = new StringEntry { Locale = "sv", Key = "menu.start", Text = "Starta" } };
        var import = Import("sv", SeededKeys(7111, 200, "ui").Select(k => (k, "text")));
        var style = new CreateSpeechStyleRequest { RequestId = Guid.NewGuid().ToString(), Style = Dwarf() };

        var locales = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => mesh.Client.CreateLocaleAsync(locale, cancellationToken: Timeout).AsTask()));
        var entries = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => mesh.Client.CreateStringEntryAsync(entry, cancellationToken: Timeout).AsTask()));
        var imports = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => mesh.Client.ImportStringEntriesAsync(import, cancellationToken: Timeout).AsTask()));
        var styles = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => mesh.Client.CreateSpeechStyleAsync(style, cancellationToken: Timeout).AsTask()));
        var sv = await GetLocaleAsync(mesh, "sv");

        Assert.All(locales, r => Assert.Equal(locales[0], r));
        Assert.All(entries, r => Assert.Equal(entries[0], r));
        Assert.All(imports, r => Assert.Equal(imports[0], r));
        Assert.All(styles, r => Assert.Equal(styles[0], r));
        Assert.All(imports[0].Results, r => Assert.Equal(ImportOutcome.Created, r.Outcome));
        Assert.Equal((201, 2L), (sv.StringCount, sv.TableRevision));
        Assert.Single(await mesh.EventsAsync("locales", Timeout));
        Assert.Equal(2, (await mesh.EventsAsync("table:sv", Timeout)).Count);
        Assert.Single(await mesh.EventsAsync("styles", Timeout));
    }

    // ---- Deleting a locale across its two partitions ----

    [Fact(Timeout = 30_000)]
    public async Task InterruptedDeleteLocale_RefusesWritesToTheLocale_UntilDeleteLocaleFinishesIt()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "da");
        await CreateLocaleAsync(mesh, "da-GL");
        await CreateTextAsync(mesh, "da", "menu.start", "Start");

        // As if DeleteLocale stopped after its first step (the locale marked deleting).
        var stored = (await mesh.Store.GetAsync(StoreKeys.Locale("da"), Timeout))!;
        var marked = LocaleRecord.Parser.ParseFrom(stored.Value.Span);
        marked.Deleting = true;
        Assert.True((await mesh.Store.SetAsync(StoreKeys.Locale("da"), marked.ToByteArray(), stored.Version, cancellationToken: Timeout)).Succeeded);

        await FailsAsync(StatusCode.FailedPrecondition, () => CreateTextAsync(mesh, "da", "menu.quit", "Afslut"), "'da' is being deleted", "DeleteLocale");
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.ImportStringEntriesAsync(Import("da", [("menu.quit", "Afslut")]), cancellationToken: Timeout).AsTask(), "being deleted");
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "da", DisplayName = "x" }, UpdateMask = FieldMask.FromString("display_name") }, cancellationToken: Timeout).AsTask(), "being deleted");
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "da-GL", FallbackLocale = "da" }, UpdateMask = FieldMask.FromString("fallback_locale") }, cancellationToken: Timeout).AsTask(), "'da' is being deleted");
        await FailsAsync(StatusCode.AlreadyExists, () => CreateLocaleAsync(mesh, "da"), "DeleteLocale");
        Assert.Equal("Start", (await LocalizeAsync(mesh, new LocalizeRequest { Key = "menu.start", Locale = "da" })).Text);

        var deleted = await mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "da", Force = true }, cancellationToken: Timeout);
        var recreated = await CreateLocaleAsync(mesh, "da");

        Assert.Equal(1, deleted.DeletedEntryCount);
        Assert.Equal((0, 2L), (recreated.StringCount, recreated.TableRevision));
        Assert.Empty((await mesh.Client.ListStringEntriesAsync(new ListStringEntriesRequest { Locale = "da" }, cancellationToken: Timeout)).Entries);
        Assert.Equal("Afslut", (await CreateTextAsync(mesh, "da", "menu.quit", "Afslut")).Text);
    }

    [Fact(Timeout = 30_000)]
    public async Task RecreatedLocale_StartsEmpty_AndItsTableRevisionMovesOn_SoOldEtagsNeverMatch()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "fi");
        await CreateTextAsync(mesh, "fi", "menu.start", "Aloita");
        var before = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "fi" }, cancellationToken: Timeout);

        await mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "fi", Force = true }, cancellationToken: Timeout);
        var recreated = await CreateLocaleAsync(mesh, "fi");
        var after = await mesh.Client.ExportStringTableAsync(new ExportStringTableRequest { Locale = "fi", IfNoneMatch = before.TableEtag }, cancellationToken: Timeout);
        var entry = await CreateTextAsync(mesh, "fi", "menu.start", "Aloita");

        Assert.Equal((0, 2L), (recreated.StringCount, recreated.TableRevision));
        Assert.False(after.NotModified);
        Assert.Empty(after.Entries);
        Assert.Equal((1L, 3L), (entry.Version, (await GetLocaleAsync(mesh, "fi")).TableRevision));
    }
}
