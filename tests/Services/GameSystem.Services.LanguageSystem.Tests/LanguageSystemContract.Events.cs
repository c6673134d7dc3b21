using GameSystem.Common.V1;
using GameSystem.LanguageSystem.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>The contract's domain events, read from the store's outbox as the relay reads them.</summary>
public abstract partial class LanguageSystemContract
{
    private static T PayloadOf<T>(DomainEvent domainEvent, MessageParser<T> parser, string type)
        where T : IMessage<T>
    {
        Assert.Equal(type, domainEvent.Type);
        Assert.Equal("language-system", domainEvent.Source);
        var payload = parser.ParseFrom(domainEvent.Payload);
        Assert.Equal(payload.Descriptor.FullName, domainEvent.PayloadType);
        return payload;
    }

    private Timestamp At => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    [Fact(Timeout = 30_000)]
    public async Task LocaleChanges_PublishLocaleChanged_InOrder_WithIdsThatNeverRepeat()
    {
        await using var mesh = await StartAsync();
        var created = await CreateLocaleAsync(mesh, "fr");
        await mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "fr", DisplayName = "French" }, UpdateMask = FieldMask.FromString("display_name") }, cancellationToken: Timeout);
        await mesh.Client.UpdateLocaleAsync(new UpdateLocaleRequest { Locale = new Locale { Tag = "fr", DisplayName = "French" }, UpdateMask = FieldMask.FromString("display_name") }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.AlreadyExists, () => CreateLocaleAsync(mesh, "fr"));
        await mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "fr" }, cancellationToken: Timeout);
        await CreateLocaleAsync(mesh, "fr");

        var events = await mesh.EventsAsync("locales", Timeout);

        // The no-op update and the refused create publish nothing; ids number the registry's changes.
        var payloads = events.Select(e => PayloadOf(e, LocaleChanged.Parser, "language.locale.changed")).ToList();
        Assert.Equal(
            [("fr", ChangeType.Created, 1L), ("fr", ChangeType.Updated, 2L), ("fr", ChangeType.Deleted, 2L), ("fr", ChangeType.Created, 1L)],
            payloads.Select(p => (p.Locale, p.ChangeType, p.Version)));
        Assert.All(events, e => Assert.Equal("locales/fr", e.Subject));
        Assert.All(events, e => Assert.Equal(At, e.OccurredAt));
        Assert.All(payloads, p => Assert.Equal(At, p.OccurredAt));
        Assert.Equal(events.Count, events.Select(e => e.EventId).Distinct().Count());
        Assert.All(events, e => Assert.Matches("^language-system/locales/[0-9]+$", e.EventId));
        Assert.Equal(1, created.Version);
        Assert.Equal(["locales"], await mesh.EventPartitionsAsync(Timeout));
    }

    [Fact(Timeout = 30_000)]
    public async Task StringTableWrites_PublishStringTableChanged_OncePerCall_WithTheTableRevision()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "de");
        await CreateTextAsync(mesh, "de", "menu.start", "Start");
        await mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "de", Key = "menu.start", Text = "Los" }, UpdateMask = FieldMask.FromString("text") }, cancellationToken: Timeout);
        await mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "de", Key = "menu.start", Text = "Los" }, UpdateMask = FieldMask.FromString("text") }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.AlreadyExists, () => CreateTextAsync(mesh, "de", "menu.start", "Noch mal"));
        await ImportAsync(mesh, "de", ("menu.start", "Starten"), ("menu.quit", "Beenden"));
        await ImportAsync(mesh, "de", ("menu.load", "Laden"), ("menu.save", "Speichern"));
        await ImportAsync(mesh, "de", ("menu.load", "Laden"));
        await mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "de", Key = "menu.options", Text = "Optionen" }, AllowMissing = true }, cancellationToken: Timeout);
        await mesh.Client.DeleteStringEntryAsync(new DeleteStringEntryRequest { Locale = "de", Key = "menu.quit" }, cancellationToken: Timeout);

        var events = await mesh.EventsAsync("table:de", Timeout);
        var payloads = events.Select(e => PayloadOf(e, StringTableChanged.Parser, "language.string_table.changed")).ToList();

        // An import that both creates and updates is UPDATED; one that changes nothing publishes nothing.
        Assert.Equal(
            [
                (ChangeType.Created, "menu.start", 1L),
                (ChangeType.Updated, "menu.start", 2L),
                (ChangeType.Updated, "menu.start,menu.quit", 3L),
                (ChangeType.Created, "menu.load,menu.save", 4L),
                (ChangeType.Created, "menu.options", 5L),
                (ChangeType.Deleted, "menu.quit", 6L),
            ],
            payloads.Select(p => (p.ChangeType, string.Join(",", p.Keys), p.TableRevision)));
        Assert.All(payloads, p => Assert.Equal(("de", At), (p.Locale, p.OccurredAt)));
        Assert.All(events, e => Assert.Equal("locales/de/strings", e.Subject));
        Assert.Equal(payloads.Select(p => $"language-system/tables/de/{p.TableRevision}"), events.Select(e => e.EventId));
        Assert.Equal(6, (await mesh.Client.GetLocaleAsync(new GetLocaleRequest { Locale = "de" }, cancellationToken: Timeout)).Locale.TableRevision);
    }

    [Fact(Timeout = 30_000)]
    public async Task SpeechStyleChanges_PublishSpeechStyleChanged_WithTheVersionAfterEach()
    {
        await using var mesh = await StartAsync();
        await CreateStyleAsync(mesh, Dwarf());
        await mesh.Client.UpdateSpeechStyleAsync(new UpdateSpeechStyleRequest { Style = new SpeechStyle { StyleId = "dwarf-northern-gruff", Dialect = "southern" }, UpdateMask = FieldMask.FromString("dialect") }, cancellationToken: Timeout);
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.DeleteSpeechStyleAsync(new DeleteSpeechStyleRequest { StyleId = "dwarf-northern-gruff", ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask());
        await mesh.Client.DeleteSpeechStyleAsync(new DeleteSpeechStyleRequest { StyleId = "dwarf-northern-gruff", ExpectedVersion = 2 }, cancellationToken: Timeout);
        var recreated = await CreateStyleAsync(mesh, Dwarf());

        var events = await mesh.EventsAsync("styles", Timeout);
        var payloads = events.Select(e => PayloadOf(e, SpeechStyleChanged.Parser, "language.speech_style.changed")).ToList();

        Assert.Equal(
            [(ChangeType.Created, 1L), (ChangeType.Updated, 2L), (ChangeType.Deleted, 2L), (ChangeType.Created, 1L)],
            payloads.Select(p => (p.ChangeType, p.Version)));
        Assert.All(payloads, p => Assert.Equal(("dwarf-northern-gruff", At), (p.StyleId, p.OccurredAt)));
        Assert.All(events, e => Assert.Equal("speech-styles/dwarf-northern-gruff", e.Subject));
        Assert.Equal(["language-system/speech-styles/1", "language-system/speech-styles/2", "language-system/speech-styles/3", "language-system/speech-styles/4"], events.Select(e => e.EventId));
        Assert.Equal(1, recreated.Version);
    }

    [Fact(Timeout = 30_000)]
    public async Task ForcedDeleteLocale_PublishesTheDeletionOfItsEntries_ThenOfTheLocale()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "it");
        await ImportAsync(mesh, "it", ("ui.b", "B"), ("ui.a", "A"), ("ui.c", "C"));

        var deleted = await mesh.Client.DeleteLocaleAsync(new DeleteLocaleRequest { Locale = "it", Force = true }, cancellationToken: Timeout);
        var table = (await mesh.EventsAsync("table:it", Timeout)).Select(e => PayloadOf(e, StringTableChanged.Parser, "language.string_table.changed")).ToList();
        var locales = (await mesh.EventsAsync("locales", Timeout)).Select(e => PayloadOf(e, LocaleChanged.Parser, "language.locale.changed")).ToList();

        Assert.Equal(3, deleted.DeletedEntryCount);
        Assert.Equal((ChangeType.Deleted, "ui.a,ui.b,ui.c", 2L), (table[^1].ChangeType, string.Join(",", table[^1].Keys), table[^1].TableRevision));
        Assert.Equal([ChangeType.Created, ChangeType.Deleted], locales.Select(l => l.ChangeType));
    }

    [Fact(Timeout = 30_000)]
    public async Task RefusedWrites_PublishNothing()
    {
        await using var mesh = await StartAsync();
        await CreateLocaleAsync(mesh, "es");
        var before = await mesh.EventPartitionsAsync(Timeout);

        await FailsAsync(StatusCode.InvalidArgument, () => ImportAsync(mesh, "es", ("ui.ok", "Bien"), ("ui.bad", "Hola {nombre")));
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.UpdateStringEntryAsync(new UpdateStringEntryRequest { Entry = new StringEntry { Locale = "es", Key = "ui.none", Text = "x" } }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => CreateTextAsync(mesh, "pt", "ui.ok", "x"));
        await FailsAsync(StatusCode.FailedPrecondition, () => CreateLocaleAsync(mesh, "es-419", fallback: "es-MX"));

        Assert.Equal(before, await mesh.EventPartitionsAsync(Timeout));
        Assert.Single(await mesh.EventsAsync("locales", Timeout));
    }

    private static async Task<ImportStringEntriesResponse> ImportAsync(LanguageSystemHarness mesh, string locale, params (string Key, string Text)[] entries)
    {
        var request = new ImportStringEntriesRequest { RequestId = Guid.NewGuid().ToString(), Locale = locale };
        request.Entries.AddRange(entries.Select(e => new StringEntry { Key = e.Key, Text = e.Text }));
        return await mesh.Client.ImportStringEntriesAsync(request, cancellationToken: Timeout);
    }
}
