using System.Buffers.Text;
using GameSystem.Events;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.LanguageSystem;

/// <summary>
/// language-system: locales with fallback chains, string tables, CLDR plural rules,
/// placeholder formatting and NPC speech styles. Every change is one store transaction
/// (partitions: <see cref="StoreKeys"/>) holding the change, its index updates, its
/// bookkeeping, the request id that makes it safe to retry and its domain event, so concurrent
/// instances never lose an update and a crash never leaves half of one.
/// </summary>
public sealed partial class LanguageSystemService : ILanguageSystemService
{
    private const int MaxNameLength = 200;
    private static readonly string[] LocaleUpdatePaths = ["display_name", "native_name", "fallback_locale", "rules_language", "direction", "disabled"];

    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<LanguageSystemService> _logger;
    private readonly SpeechStyleEngine _speech = new();

    /// <summary>Creates the service over a state store, publishing its events through <paramref name="outbox"/>.</summary>
    public LanguageSystemService(IStateStore store, EventOutbox outbox, TimeProvider timeProvider, ILogger<LanguageSystemService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _outbox = outbox;
        _time = timeProvider;
        _logger = logger;
    }

    /// <inheritdoc/>
    public async ValueTask<CreateLocaleResponse> CreateLocaleAsync(CreateLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RequestId.Length > 0, "request_id is required: a client-chosen id (a UUID) that makes retries safe.");
        Errors.Require(request.Locale is not null, "locale is required: set at least locale.tag, e.g. 'fr-CA'.");
        var tag = CanonicalTag(request.Locale!.Tag, "locale.tag", allowDefault: true);
        if (tag == LocaleTags.Default)
        {
            throw Errors.AlreadyExists("The root locale 'default' always exists; change it with UpdateLocale.");
        }

        var fallback = request.Locale.FallbackLocale.Length == 0 ? "" : CanonicalTag(request.Locale.FallbackLocale, "locale.fallback_locale", allowDefault: true);
        var rulesLanguage = RulesLanguage(request.Locale.RulesLanguage, "locale.rules_language");
        ValidateNames(request.Locale, "locale");
        Errors.Require(System.Enum.IsDefined(request.Locale.Direction), $"locale.direction {(int)request.Locale.Direction} is not a TextDirection.");
        Errors.Require(fallback != tag, $"locale.fallback_locale cannot be the locale itself ('{tag}').");

        var cancellationToken = context.CancellationToken;
        var claim = new RequestClaim(StoreKeys.LocaleRequest("CreateLocale", request.RequestId), "CreateLocale", request.RequestId, request);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.RegistryRevision, StoreKeys.Locale(tag), StoreKeys.Table(tag)], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], CreateLocaleResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (read[2] is { } existing)
            {
                throw Errors.AlreadyExists(LocaleRecord.Parser.ParseFrom(existing.Value.Span).Deleting
                    ? $"Locale '{tag}' is still registered while a DeleteLocale of it is unfinished; call DeleteLocale again to finish, then create it."
                    : $"Locale '{tag}' is already registered; use GetLocale to read it or UpdateLocale to change it.");
            }

            var registry = new LocaleRegistry();
            registry.Add(tag, null);
            if (fallback.Length > 0)
            {
                await LoadChainsAsync(registry, [fallback], (tag, fallback), cancellationToken).ConfigureAwait(false);
                CheckFallback(registry, tag, fallback, "locale.fallback_locale");
            }

            var stamp = Now();
            var transaction = RegistryChange(read[1], out var revision);
            var record = new LocaleRecord
            {
                Locale = new Locale
                {
                    Tag = tag,
                    DisplayName = request.Locale.DisplayName,
                    NativeName = request.Locale.NativeName,
                    FallbackLocale = fallback,
                    RulesLanguage = rulesLanguage,
                    Direction = request.Locale.Direction == TextDirection.Unspecified ? TextDirection.LeftToRight : request.Locale.Direction,
                    Disabled = request.Locale.Disabled,
                    Version = 1,
                    CreateTime = stamp,
                    UpdateTime = stamp,
                },
                Incarnation = revision,
            };
            transaction
                .Set(StoreKeys.Locale(tag), record.ToByteArray(), expectedVersion: 0)
                .IndexAdd(StoreKeys.AllTags, tag);
            if (!record.Locale.Disabled)
            {
                transaction.IndexAdd(StoreKeys.EnabledTags, tag);
            }

            if (fallback.Length > 0)
            {
                transaction.IndexAdd(StoreKeys.Fallbacks, StoreKeys.FallbackMember(fallback, tag));
            }

            var response = new CreateLocaleResponse { Locale = View(record, TableOf(read[3])) };
            claim.Record(transaction, response);
            _outbox.Publish(transaction, ChangeEvents.LocaleChanged(tag, ChangeType.Created, 1, revision, stamp));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogLocaleChanged(_logger, tag, "created", 1);
                return response;
            }
        }

        throw Errors.Contended("The locale registry");
    }

    /// <inheritdoc/>
    public async ValueTask<GetLocaleResponse> GetLocaleAsync(GetLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var cancellationToken = context.CancellationToken;
        var read = await _store.GetManyAsync([StoreKeys.Locale(tag), StoreKeys.Table(tag)], cancellationToken).ConfigureAwait(false);
        var record = read[0] is { } stored ? LocaleRecord.Parser.ParseFrom(stored.Value.Span)
            : tag == LocaleTags.Default ? await EnsureDefaultAsync(cancellationToken).ConfigureAwait(false)
            : throw LocaleNotFound(tag);
        return new GetLocaleResponse { Locale = View(record, TableOf(read[1])) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListLocalesResponse> ListLocalesAsync(ListLocalesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var pageSize = PageTokens.Size(request.PageSize, defaultSize: 100, maxSize: 500);
        var after = PageTokens.Decode(request.PageToken, "ListLocales", 1)?[0];
        var cancellationToken = context.CancellationToken;

        // 'default' is not in the indexes: it always exists and always lists first.
        var tags = new List<string>(pageSize);
        if (after is null)
        {
            tags.Add(LocaleTags.Default);
        }

        var index = request.IncludeDisabled ? StoreKeys.AllTags : StoreKeys.EnabledTags;
        var wanted = pageSize - tags.Count;
        var page = await _store.QueryIndexAsync(
            index,
            new StateIndexQuery { From = after is null or LocaleTags.Default ? null : IndexMerge.Successor(after), PageSize = wanted + 1 },
            cancellationToken).ConfigureAwait(false);
        tags.AddRange(page.Members.Take(wanted));
        var more = page.Members.Count > wanted;

        var read = await _store.GetManyAsync([.. tags.Select(StoreKeys.Locale), .. tags.Select(StoreKeys.Table)], cancellationToken).ConfigureAwait(false);
        var response = new ListLocalesResponse { NextPageToken = more ? PageTokens.Encode(tags[^1]) : "" };
        for (var i = 0; i < tags.Count; i++)
        {
            var record = read[i] is { } stored ? LocaleRecord.Parser.ParseFrom(stored.Value.Span)
                : tags[i] == LocaleTags.Default ? await EnsureDefaultAsync(cancellationToken).ConfigureAwait(false)
                : null;
            if (record is not null)
            {
                response.Locales.Add(View(record, TableOf(read[tags.Count + i])));
            }
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateLocaleResponse> UpdateLocaleAsync(UpdateLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Locale is not null, "locale is required: set locale.tag and the fields named in update_mask.");
        var tag = CanonicalTag(request.Locale!.Tag, "locale.tag", allowDefault: true);
        var paths = MaskPaths(request.UpdateMask, LocaleUpdatePaths, emptyMeansAll: false);
        var changes = request.Locale;
        var fallback = paths.Contains("fallback_locale") && changes.FallbackLocale.Length > 0 ? CanonicalTag(changes.FallbackLocale, "locale.fallback_locale", allowDefault: true) : "";
        var rulesLanguage = paths.Contains("rules_language") ? RulesLanguage(changes.RulesLanguage, "locale.rules_language") : "";
        ValidateNames(changes, "locale");
        Errors.Require(System.Enum.IsDefined(changes.Direction), $"locale.direction {(int)changes.Direction} is not a TextDirection.");
        if (tag == LocaleTags.Default)
        {
            Errors.Require(!(paths.Contains("disabled") && changes.Disabled), "The root locale 'default' cannot be disabled: it ends every fallback chain.");
            Errors.Require(fallback.Length == 0, "The root locale 'default' cannot have a fallback_locale: it ends every fallback chain.");
        }

        Errors.Require(fallback != tag, $"locale.fallback_locale cannot be the locale itself ('{tag}').");
        var cancellationToken = context.CancellationToken;
        if (tag == LocaleTags.Default)
        {
            await EnsureDefaultAsync(cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.RegistryRevision, StoreKeys.Locale(tag), StoreKeys.Table(tag)], cancellationToken).ConfigureAwait(false);
            var stored = read[1] ?? throw LocaleNotFound(tag);
            var record = LocaleRecord.Parser.ParseFrom(stored.Value.Span);
            if (record.Deleting)
            {
                throw LocaleDeleting(tag);
            }

            var current = record.Locale;
            Errors.CheckVersion($"Locale '{tag}'", request.ExpectedVersion, current.Version);
            var next = current.Clone();
            if (paths.Contains("display_name"))
            {
                next.DisplayName = changes.DisplayName;
            }

            if (paths.Contains("native_name"))
            {
                next.NativeName = changes.NativeName;
            }

            if (paths.Contains("fallback_locale") && fallback != current.FallbackLocale)
            {
                if (fallback.Length > 0)
                {
                    var registry = new LocaleRegistry();
                    registry.Add(tag, record);
                    await LoadChainsAsync(registry, [fallback], (tag, fallback), cancellationToken).ConfigureAwait(false);
                    CheckFallback(registry, tag, fallback, "locale.fallback_locale");
                }

                next.FallbackLocale = fallback;
            }

            if (paths.Contains("rules_language"))
            {
                next.RulesLanguage = rulesLanguage;
            }

            if (paths.Contains("direction"))
            {
                next.Direction = changes.Direction == TextDirection.Unspecified ? TextDirection.LeftToRight : changes.Direction;
            }

            if (paths.Contains("disabled"))
            {
                next.Disabled = changes.Disabled;
            }

            if (next.Equals(current))
            {
                return new UpdateLocaleResponse { Locale = View(record, TableOf(read[2])) };
            }

            next.Version = current.Version + 1;
            next.UpdateTime = Now();
            var updated = new LocaleRecord(record) { Locale = next };
            var transaction = RegistryChange(read[0], out var revision).Set(StoreKeys.Locale(tag), updated.ToByteArray(), stored.Version);
            if (next.Disabled != current.Disabled)
            {
                _ = next.Disabled ? transaction.IndexRemove(StoreKeys.EnabledTags, tag) : transaction.IndexAdd(StoreKeys.EnabledTags, tag);
            }

            if (next.FallbackLocale != current.FallbackLocale)
            {
                if (current.FallbackLocale.Length > 0)
                {
                    transaction.IndexRemove(StoreKeys.Fallbacks, StoreKeys.FallbackMember(current.FallbackLocale, tag));
                }

                if (next.FallbackLocale.Length > 0)
                {
                    transaction.IndexAdd(StoreKeys.Fallbacks, StoreKeys.FallbackMember(next.FallbackLocale, tag));
                }
            }

            _outbox.Publish(transaction, ChangeEvents.LocaleChanged(tag, ChangeType.Updated, next.Version, revision, next.UpdateTime));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogLocaleChanged(_logger, tag, "updated", next.Version);
                return new UpdateLocaleResponse { Locale = View(updated, TableOf(read[2])) };
            }
        }

        throw Errors.Contended("The locale registry");
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Four steps, each one transaction, so that an interruption leaves a state the next call
    /// completes (<see cref="StoreKeys"/>): mark the locale deleting, close its table, delete
    /// its entries (with <c>force</c>), remove the locale.
    /// </remarks>
    public async ValueTask<DeleteLocaleResponse> DeleteLocaleAsync(DeleteLocaleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        if (tag == LocaleTags.Default)
        {
            throw Errors.FailedPrecondition("The root locale 'default' cannot be deleted: it ends every fallback chain.");
        }

        var cancellationToken = context.CancellationToken;
        var record = await MarkDeletingAsync(tag, request.ExpectedVersion, request.Force, cancellationToken).ConfigureAwait(false);
        if (await CloseTableAsync(tag, record.Incarnation, request.Force, cancellationToken).ConfigureAwait(false) is { } entries)
        {
            // Entries arrived after the first check: nothing is deleted, the locale takes writes again.
            await SetDeletingAsync(tag, deleting: false, cancellationToken).ConfigureAwait(false);
            throw StillHasEntries(tag, entries);
        }

        var deleted = request.Force ? await PurgeTableAsync(tag, cancellationToken).ConfigureAwait(false) : 0;
        await RemoveLocaleAsync(tag, cancellationToken).ConfigureAwait(false);
        return new DeleteLocaleResponse { DeletedEntryCount = deleted };
    }

    /// <inheritdoc/>
    public async ValueTask<ResolveFallbackChainResponse> ResolveFallbackChainAsync(ResolveFallbackChainRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var tag = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var registry = await ReadChainsAsync([tag], context.CancellationToken).ConfigureAwait(false);
        var response = new ResolveFallbackChainResponse();
        response.Steps.AddRange(registry.Chain(tag));
        return response;
    }

    /// <summary>
    /// DeleteLocale's first step: after its checks (version, dependents, entries unless forced),
    /// marks the locale deleting, so it gains no dependents and its table no entries meanwhile.
    /// A locale already marked (an interrupted deletion) is taken as it is.
    /// </summary>
    private async ValueTask<LocaleRecord> MarkDeletingAsync(string tag, long expectedVersion, bool force, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.RegistryRevision, StoreKeys.Locale(tag), StoreKeys.Table(tag)], cancellationToken).ConfigureAwait(false);
            var stored = read[1] ?? throw LocaleNotFound(tag);
            var record = LocaleRecord.Parser.ParseFrom(stored.Value.Span);
            Errors.CheckVersion($"Locale '{tag}'", expectedVersion, record.Locale.Version);
            if (record.Deleting)
            {
                return record;
            }

            var dependents = await _store.QueryIndexAsync(StoreKeys.Fallbacks, new StateIndexQuery { Prefix = StoreKeys.FallbackMember(tag, ""), PageSize = 20 }, cancellationToken).ConfigureAwait(false);
            if (dependents.Members.Count > 0)
            {
                var names = string.Join(", ", dependents.Members.Select(m => $"'{m[(tag.Length + 1)..]}'"));
                throw Errors.FailedPrecondition($"Locale '{tag}' is the fallback_locale of {names}{(dependents.NextPageToken is null ? "" : " …")}; change their fallback_locale first.");
            }

            var table = TableOf(read[2]);
            if (!force && table.EntryCount > 0)
            {
                throw StillHasEntries(tag, table.EntryCount);
            }

            var marked = new LocaleRecord(record) { Deleting = true };
            var transaction = RegistryChange(read[0], out _).Set(StoreKeys.Locale(tag), marked.ToByteArray(), stored.Version);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return marked;
            }
        }

        throw Errors.Contended("The locale registry");
    }

    /// <summary>Marks or unmarks a registered locale as being deleted.</summary>
    private async ValueTask SetDeletingAsync(string tag, bool deleting, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.RegistryRevision, StoreKeys.Locale(tag)], cancellationToken).ConfigureAwait(false);
            if (read[1] is not { } stored)
            {
                return;
            }

            var record = LocaleRecord.Parser.ParseFrom(stored.Value.Span);
            if (record.Deleting == deleting)
            {
                return;
            }

            var transaction = RegistryChange(read[0], out _).Set(StoreKeys.Locale(tag), new LocaleRecord(record) { Deleting = deleting }.ToByteArray(), stored.Version);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return;
            }
        }

        throw Errors.Contended("The locale registry");
    }

    /// <summary>
    /// Closes the table to writes for <paramref name="incarnation"/>; returns null when closed,
    /// or (changing nothing) its entry count when it has entries and <paramref name="force"/> is not set.
    /// </summary>
    private async ValueTask<long?> CloseTableAsync(string tag, long incarnation, bool force, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var stored = await _store.GetAsync(StoreKeys.Table(tag), cancellationToken).ConfigureAwait(false);
            var table = TableOf(stored);
            if (table.Closed && table.Incarnation == incarnation)
            {
                return null;
            }

            if (!force && table.EntryCount > 0)
            {
                return table.EntryCount;
            }

            var closed = new TableRecord(table) { Incarnation = incarnation, Closed = true };
            var result = await _store.SetAsync(StoreKeys.Table(tag), closed.ToByteArray(), stored?.Version ?? 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return null;
            }
        }

        throw Errors.Contended($"The '{tag}' table");
    }

    /// <summary>
    /// Deletes every entry of a closed table, <see cref="StateKeys.MaxPageSize"/> per transaction
    /// with its count, revision and <c>StringTableChanged</c>; returns how many it deleted.
    /// </summary>
    private async ValueTask<int> PurgeTableAsync(string tag, CancellationToken cancellationToken)
    {
        var deleted = 0;
        for (var conflicts = 0; conflicts < Errors.MaxAttempts;)
        {
            var keys = await _store.QueryIndexAsync(StoreKeys.Keys(tag), new StateIndexQuery { PageSize = StateKeys.MaxPageSize }, cancellationToken).ConfigureAwait(false);
            if (keys.Members.Count == 0)
            {
                return deleted;
            }

            var stored = await _store.GetAsync(StoreKeys.Table(tag), cancellationToken).ConfigureAwait(false);
            var table = TableOf(stored);
            var next = new TableRecord(table) { Revision = table.Revision + 1, EntryCount = Math.Max(0, table.EntryCount - keys.Members.Count) };
            var transaction = new StateTransaction().Set(StoreKeys.Table(tag), next.ToByteArray(), stored?.Version ?? 0);
            foreach (var key in keys.Members)
            {
                transaction.Delete(StoreKeys.Entry(tag, key)).IndexRemove(StoreKeys.Keys(tag), key);
            }

            _outbox.Publish(transaction, ChangeEvents.StringTableChanged(tag, keys.Members, ChangeType.Deleted, next.Revision, Now()));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                deleted += keys.Members.Count;
                LogTableChanged(_logger, tag, "deleted", keys.Members.Count, next.Revision);
            }
            else
            {
                conflicts++;
            }
        }

        throw Errors.Contended($"The '{tag}' table");
    }

    /// <summary>DeleteLocale's last step: removes the locale from the registry and its indexes, with its <c>LocaleChanged</c>.</summary>
    private async ValueTask RemoveLocaleAsync(string tag, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.RegistryRevision, StoreKeys.Locale(tag)], cancellationToken).ConfigureAwait(false);
            if (read[1] is not { } stored)
            {
                return; // a concurrent DeleteLocale finished it
            }

            var locale = LocaleRecord.Parser.ParseFrom(stored.Value.Span).Locale;
            var transaction = RegistryChange(read[0], out var revision)
                .Delete(StoreKeys.Locale(tag), stored.Version)
                .IndexRemove(StoreKeys.AllTags, tag)
                .IndexRemove(StoreKeys.EnabledTags, tag);
            if (locale.FallbackLocale.Length > 0)
            {
                transaction.IndexRemove(StoreKeys.Fallbacks, StoreKeys.FallbackMember(locale.FallbackLocale, tag));
            }

            _outbox.Publish(transaction, ChangeEvents.LocaleChanged(tag, ChangeType.Deleted, locale.Version, revision, Now()));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogLocaleChanged(_logger, tag, "deleted", locale.Version);
                return;
            }
        }

        throw Errors.Contended("The locale registry");
    }

    /// <summary>
    /// A transaction of the registry: requires the registry revision read (so every check made
    /// on what was read still holds when it applies) and moves it on to <paramref name="revision"/>.
    /// </summary>
    private static StateTransaction RegistryChange(StateEntry? revisionRead, out long revision)
    {
        revision = RevisionAfter(revisionRead);
        return new StateTransaction().Require(StoreKeys.RegistryRevision, revisionRead?.Version ?? 0).Increment(StoreKeys.RegistryRevision);
    }

    /// <summary>The value a counter read as <paramref name="counter"/> has after one increment.</summary>
    private static long RevisionAfter(StateEntry? counter)
    {
        if (counter is null)
        {
            return 1;
        }

        return Utf8Parser.TryParse(counter.Value.Span, out long value, out _)
            ? value + 1
            : throw new InvalidOperationException("A revision counter does not hold an integer.");
    }

    /// <summary><c>default</c>'s record, written with its initial settings on first use so its create time stays put.</summary>
    private async ValueTask<LocaleRecord> EnsureDefaultAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            if (await _store.GetAsync(StoreKeys.Locale(LocaleTags.Default), cancellationToken).ConfigureAwait(false) is { } stored)
            {
                return LocaleRecord.Parser.ParseFrom(stored.Value.Span);
            }

            var initial = new LocaleRecord { Locale = LocaleRegistry.InitialDefault(Now()) };
            var created = await _store.SetAsync(StoreKeys.Locale(LocaleTags.Default), initial.ToByteArray(), expectedVersion: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (created.Succeeded)
            {
                return initial;
            }
        }

        throw Errors.Contended("The locale registry");
    }

    /// <summary>A registry with the chains of <paramref name="tags"/> loaded.</summary>
    private async ValueTask<LocaleRegistry> ReadChainsAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        var registry = new LocaleRegistry();
        await LoadChainsAsync(registry, tags, null, cancellationToken).ConfigureAwait(false);
        return registry;
    }

    /// <summary>
    /// Reads the locales the chains of <paramref name="tags"/> walk through (under
    /// <paramref name="proposed"/>, for a cycle check), a round trip per divergence from the
    /// parents read ahead: usually one.
    /// </summary>
    private async ValueTask LoadChainsAsync(LocaleRegistry registry, IReadOnlyCollection<string> tags, (string Tag, string Fallback)? proposed, CancellationToken cancellationToken)
    {
        // Every round reads a step not read before, and a chain never repeats a step.
        for (var round = 0; round < 1000; round++)
        {
            var missing = tags.SelectMany(t => registry.Missing(t, proposed)).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count == 0)
            {
                return;
            }

            var read = await _store.GetManyAsync([.. missing.Select(StoreKeys.Locale)], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < missing.Count; i++)
            {
                registry.Add(missing[i], read[i] is { } stored ? LocaleRecord.Parser.ParseFrom(stored.Value.Span) : null);
            }
        }

        throw new InvalidOperationException("A fallback chain did not end after 1000 reads.");
    }

    /// <summary>A registry holding exactly <paramref name="tag"/> and <c>default</c>: what the rules of one locale need.</summary>
    private async ValueTask<LocaleRegistry> ReadLocaleAsync(string tag, CancellationToken cancellationToken)
    {
        var registry = new LocaleRegistry();
        string[] tags = tag == LocaleTags.Default ? [tag] : [tag, LocaleTags.Default];
        var read = await _store.GetManyAsync([.. tags.Select(StoreKeys.Locale)], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < tags.Length; i++)
        {
            registry.Add(tags[i], read[i] is { } stored ? LocaleRecord.Parser.ParseFrom(stored.Value.Span) : null);
        }

        return registry;
    }

    /// <summary>A locale as the API shows it: with its table's entry count and revision.</summary>
    private static Locale View(LocaleRecord record, TableRecord table)
    {
        var view = record.Locale.Clone();
        view.IsDefault = view.Tag == LocaleTags.Default;
        view.StringCount = (int)Math.Clamp(table.EntryCount, 0, int.MaxValue);
        view.TableRevision = table.Revision;
        return view;
    }

    private static TableRecord TableOf(StateEntry? stored) => stored is null ? new TableRecord() : TableRecord.Parser.ParseFrom(stored.Value.Span);

    private static void CheckFallback(LocaleRegistry registry, string tag, string fallback, string field)
    {
        if (registry.Record(fallback) is null && fallback != LocaleTags.Default)
        {
            throw Errors.FailedPrecondition($"{field} '{fallback}' is not registered; register it with CreateLocale first.");
        }

        if (registry.Record(fallback) is { Deleting: true })
        {
            throw Errors.FailedPrecondition($"{field} '{fallback}' is being deleted (DeleteLocale is unfinished); choose another fallback_locale.");
        }

        if (registry.CycleIf(tag, fallback) is { } cycle)
        {
            throw Errors.FailedPrecondition($"{field} '{fallback}' would make the fallback chain loop: {cycle}.");
        }
    }

    /// <summary>
    /// The paths of an update_mask, each one of <paramref name="allowed"/>; INVALID_ARGUMENT
    /// otherwise, and for an empty mask unless <paramref name="emptyMeansAll"/>.
    /// </summary>
    private static HashSet<string> MaskPaths(FieldMask? mask, string[] allowed, bool emptyMeansAll)
    {
        var list = string.Join(", ", allowed);
        Errors.Require(emptyMeansAll || mask is { Paths.Count: > 0 }, $"update_mask is required: name the fields to change ({list}).");
        var paths = (mask?.Paths ?? []).ToHashSet(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            Errors.Require(allowed.Contains(path), $"update_mask path '{path}' cannot be updated; allowed paths are {list}{(emptyMeansAll ? " (empty for all)" : "")}.");
        }

        return paths;
    }

    private static void ValidateNames(Locale locale, string field)
    {
        Errors.Require(locale.DisplayName.Length <= MaxNameLength, $"{field}.display_name is at most {MaxNameLength} characters; it has {locale.DisplayName.Length}.");
        Errors.Require(locale.NativeName.Length <= MaxNameLength, $"{field}.native_name is at most {MaxNameLength} characters; it has {locale.NativeName.Length}.");
    }

    /// <summary>A request's locale tag in canonical form; INVALID_ARGUMENT naming the field when malformed.</summary>
    private static string CanonicalTag(string input, string field, bool allowDefault)
    {
        Errors.Require(input.Length > 0, $"{field} is required: a BCP 47 tag such as 'fr-CA'{(allowDefault ? " or 'default'" : "")}.");
        var tag = LocaleTags.Canonicalize(input, out var problem);
        Errors.Require(tag is not null, $"{field} '{input}' is not a well-formed BCP 47 tag: {problem}. Examples: 'en', 'fr-CA', 'zh-Hant-TW'.");
        Errors.Require(allowDefault || tag != LocaleTags.Default, $"{field} cannot be 'default' here.");
        return tag!;
    }

    private static string RulesLanguage(string input, string field)
    {
        if (input.Length == 0)
        {
            return "";
        }

        var tag = CanonicalTag(input, field, allowDefault: false);
        Errors.Require(CldrPluralRules.Embedded.Knows(tag), $"{field} '{tag}' has no CLDR plural rules; use a CLDR language such as 'en', 'fr' or 'pt-PT', or leave it empty for the tag's own language.");
        return tag;
    }

    private static RpcException LocaleNotFound(string tag) =>
        Errors.NotFound($"Locale '{tag}' is not registered; ListLocales shows the registered locales and CreateLocale registers one.");

    private static RpcException LocaleDeleting(string tag) =>
        Errors.FailedPrecondition($"Locale '{tag}' is being deleted and takes no changes: a DeleteLocale of it is in progress or was interrupted (call DeleteLocale again to finish it).");

    private static RpcException StillHasEntries(string tag, long count) =>
        Errors.FailedPrecondition($"Locale '{tag}' still has {count} string entries; delete them first or set force to delete them with the locale.");

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Locale {Locale} {Change}, version {Version}")]
    private static partial void LogLocaleChanged(ILogger logger, string locale, string change, long version);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "String table {Locale}: {Change} {Count} entries, table revision {Revision}")]
    private static partial void LogTableChanged(ILogger logger, string locale, string change, int count, long revision);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Speech style {StyleId} {Change}, version {Version}")]
    private static partial void LogStyleChanged(ILogger logger, string styleId, string change, long version);
}
