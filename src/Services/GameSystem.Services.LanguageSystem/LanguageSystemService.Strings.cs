using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.LanguageSystem.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem;

/// <summary>String tables: entries, import and export.</summary>
public sealed partial class LanguageSystemService
{
    private const string AllTables = "-";
    private const int MaxKeyLength = 200;
    private const int MaxDescriptionLength = 2000;
    private const int MaxTags = 32;
    private const int MaxImportEntries = 1000;
    private static readonly string[] EntryUpdatePaths = ["text", "plural", "description", "tags", "max_length"];

    /// <inheritdoc/>
    public async ValueTask<CreateStringEntryResponse> CreateStringEntryAsync(CreateStringEntryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RequestId.Length > 0, "request_id is required: a client-chosen id (a UUID) that makes retries safe.");
        Errors.Require(request.Entry is not null, "entry is required: set entry.locale, entry.key and entry.text or entry.plural.");
        var locale = CanonicalTag(request.Entry!.Locale, "entry.locale", allowDefault: true);
        var entry = NormalizeEntry(request.Entry, locale, "entry");
        var cancellationToken = context.CancellationToken;
        await RequireRegisteredAsync(locale, cancellationToken).ConfigureAwait(false);
        return await _requests.RunAsync("CreateStringEntry", request.RequestId, request, CreateStringEntryResponse.Parser, async () =>
        {
            Stamp(entry, context, created: true);
            var result = await _store.SetAsync(StoreKeys.Entry(locale, entry.Key), entry.ToByteArray(), expectedVersion: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw Errors.AlreadyExists($"Key '{entry.Key}' already exists in the '{locale}' table; use UpdateStringEntry to change it.");
            }

            await TableChangedAsync(locale, "created", 1, entriesCreated: 1, cancellationToken).ConfigureAwait(false);
            entry.Version = result.Version;
            return new CreateStringEntryResponse { Entry = entry };
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetStringEntryResponse> GetStringEntryAsync(GetStringEntryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        ValidateKey(request.Key, "key");
        var entry = await ReadEntryAsync(locale, request.Key, context.CancellationToken).ConfigureAwait(false)
            ?? throw EntryNotFound(locale, request.Key);
        return new GetStringEntryResponse { Entry = entry };
    }

    /// <inheritdoc/>
    public async ValueTask<ListStringEntriesResponse> ListStringEntriesAsync(ListStringEntriesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var all = request.Locale == AllTables;
        var locale = all ? AllTables : CanonicalTag(request.Locale, "locale (or '-' for every table)", allowDefault: true);
        var pageSize = PageTokens.Size(request.PageSize, defaultSize: 100, maxSize: 1000);
        var after = PageTokens.Decode(request.PageToken, "ListStringEntries", 2);
        Errors.Require(KeyPrefixPattern().IsMatch(request.KeyPrefix), $"key_prefix may only hold the characters of keys, [a-z0-9_.-]; got '{request.KeyPrefix}'.");
        var cancellationToken = context.CancellationToken;
        if (!all)
        {
            await RequireRegisteredAsync(locale, cancellationToken).ConfigureAwait(false);
        }

        var prefix = all ? StoreKeys.EntriesPrefix : StoreKeys.TablePrefix(locale) + request.KeyPrefix;
        var updatedAfter = request.UpdatedAfter?.ToDateTimeOffset();
        var entries = (await ReadEntriesAsync(prefix, cancellationToken).ConfigureAwait(false))
            .Where(e => e.Key.StartsWith(request.KeyPrefix, StringComparison.Ordinal)
                && (request.Tag.Length == 0 || e.Tags.Contains(request.Tag))
                && (updatedAfter is null || e.UpdateTime.ToDateTimeOffset() > updatedAfter))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .ThenBy(e => e.Locale, StringComparer.Ordinal)
            .Where(e => after is null || ComparePosition(e, after[0], after[1]) > 0);
        var (page, next) = PageTokens.Take(entries, pageSize, e => PageTokens.Encode(e.Key, e.Locale));
        var response = new ListStringEntriesResponse { NextPageToken = next };
        response.Entries.AddRange(page);
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateStringEntryResponse> UpdateStringEntryAsync(UpdateStringEntryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Entry is not null, "entry is required: set entry.locale, entry.key and the fields to change.");
        var locale = CanonicalTag(request.Entry!.Locale, "entry.locale", allowDefault: true);
        ValidateKey(request.Entry.Key, "entry.key");
        var paths = MaskPaths(request.UpdateMask, EntryUpdatePaths, emptyMeansAll: true);
        Errors.Require(!(paths.Contains("text") && paths.Contains("plural")), "update_mask cannot name both text and plural: an entry has one or the other.");
        if (paths.Count == 0)
        {
            paths = [.. EntryUpdatePaths.Where(p => p is not ("text" or "plural")), request.Entry.ValueCase == StringEntry.ValueOneofCase.Plural ? "plural" : "text"];
        }

        Errors.Require(!paths.Contains("text") || request.Entry.ValueCase == StringEntry.ValueOneofCase.Text, "update_mask names text, so entry.text must be set.");
        Errors.Require(!paths.Contains("plural") || request.Entry.ValueCase == StringEntry.ValueOneofCase.Plural, "update_mask names plural, so entry.plural must be set.");
        var cancellationToken = context.CancellationToken;
        await RequireRegisteredAsync(locale, cancellationToken).ConfigureAwait(false);
        var key = StoreKeys.Entry(locale, request.Entry.Key);
        while (true)
        {
            var stored = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            StringEntry? current = null;
            if (stored is null)
            {
                if (!request.AllowMissing)
                {
                    throw EntryNotFound(locale, request.Entry.Key);
                }

                Errors.CheckVersion($"Entry '{request.Entry.Key}' of '{locale}'", request.ExpectedVersion, 0);
            }
            else
            {
                current = StringEntry.Parser.ParseFrom(stored.Value.Span);
                Errors.CheckVersion($"Entry '{request.Entry.Key}' of '{locale}'", request.ExpectedVersion, stored.Version);
            }

            var merged = Merge(current ?? new StringEntry { Locale = locale, Key = request.Entry.Key }, request.Entry, paths);
            var next = NormalizeEntry(merged, locale, "entry");
            if (current is not null && SameContent(current, next))
            {
                current.Version = stored!.Version;
                return new UpdateStringEntryResponse { Entry = current };
            }

            next.CreateTime = current?.CreateTime;
            Stamp(next, context, created: current is null);
            var result = await _store.SetAsync(key, next.ToByteArray(), stored?.Version ?? 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                continue;
            }

            await TableChangedAsync(locale, current is null ? "created" : "updated", 1, entriesCreated: current is null ? 1 : 0, cancellationToken).ConfigureAwait(false);
            next.Version = result.Version;
            return new UpdateStringEntryResponse { Entry = next, Created = current is null };
        }
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteStringEntryResponse> DeleteStringEntryAsync(DeleteStringEntryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        ValidateKey(request.Key, "key");
        var cancellationToken = context.CancellationToken;
        await DeleteAtVersionAsync(StoreKeys.Entry(locale, request.Key), $"Entry '{request.Key}' of '{locale}'", request.ExpectedVersion, () => EntryNotFound(locale, request.Key), cancellationToken).ConfigureAwait(false);
        await TableChangedAsync(locale, "deleted", 1, entriesCreated: -1, cancellationToken).ConfigureAwait(false);
        return new DeleteStringEntryResponse();
    }

    /// <inheritdoc/>
    public async ValueTask<ImportStringEntriesResponse> ImportStringEntriesAsync(ImportStringEntriesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.RequestId.Length > 0, "request_id is required: a client-chosen id (a UUID) that makes retries safe.");
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        Errors.Require(request.Entries.Count is > 0 and <= MaxImportEntries, $"entries must hold 1-{MaxImportEntries} entries; got {request.Entries.Count}.");
        Errors.Require(System.Enum.IsDefined(request.Mode), $"mode {(int)request.Mode} is not an ImportMode.");

        // Every entry is checked before anything is written: an import is all or nothing.
        var entries = new List<StringEntry>(request.Entries.Count);
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Entries.Count; i++)
        {
            try
            {
                var entry = NormalizeEntry(request.Entries[i], locale, $"entries[{i}]");
                if (!seen.Add(entry.Key))
                {
                    problems.Add($"'{entry.Key}': appears more than once");
                }

                entries.Add(entry);
            }
            catch (RpcException e)
            {
                var key = request.Entries[i].Key;
                problems.Add($"'{(key.Length > 0 ? key : $"entries[{i}]")}': {e.Status.Detail}");
            }
        }

        if (problems.Count > 0)
        {
            throw Errors.InvalidArgument($"Nothing was imported: {problems.Count} entries are invalid. {string.Join(" ", problems.Take(20))}{(problems.Count > 20 ? " …" : "")}");
        }

        var cancellationToken = context.CancellationToken;
        await RequireRegisteredAsync(locale, cancellationToken).ConfigureAwait(false);
        return await _requests.RunAsync("ImportStringEntries", request.RequestId, request, ImportStringEntriesResponse.Parser, async () =>
        {
            var response = new ImportStringEntriesResponse();
            int created = 0, changed = 0;
            foreach (var entry in entries)
            {
                var result = await ImportOneAsync(locale, entry, request.Mode, context, cancellationToken).ConfigureAwait(false);
                created += result.Outcome == ImportOutcome.Created ? 1 : 0;
                changed += result.Outcome is ImportOutcome.Created or ImportOutcome.Updated ? 1 : 0;
                response.Results.Add(result);
            }

            response.TableRevision = changed > 0
                ? await TableChangedAsync(locale, "imported", changed, created, cancellationToken).ConfigureAwait(false)
                : await ReadCounterAsync(StoreKeys.Revision(locale), cancellationToken).ConfigureAwait(false);
            return response;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<ExportStringTableResponse> ExportStringTableAsync(ExportStringTableRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var pageSize = PageTokens.Size(request.PageSize, defaultSize: 500, maxSize: 2000);
        var after = PageTokens.Decode(request.PageToken, "ExportStringTable", 2);
        Errors.Require(KeyPrefixPattern().IsMatch(request.KeyPrefix), $"key_prefix may only hold the characters of keys, [a-z0-9_.-]; got '{request.KeyPrefix}'.");
        var cancellationToken = context.CancellationToken;
        var (registry, _) = await ReadRegistryAsync(cancellationToken).ConfigureAwait(false);
        var searched = registry.Chain(locale).Where(s => s.Searched).Select(s => s.Locale).ToList();

        // The etag covers what decides the content: the searched chain, each table's revision
        // and the filters. A revision is bumped after its write, so an etag never outlives a change.
        var etagSource = new StringBuilder("v1|").Append(request.KeyPrefix).Append('|').Append(request.Tag);
        foreach (var step in searched)
        {
            etagSource.Append('|').Append(step).Append(':').Append(await ReadCounterAsync(StoreKeys.Revision(step), cancellationToken).ConfigureAwait(false));
        }

        var etag = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(etagSource.ToString())))[..32];
        var response = new ExportStringTableResponse { Locale = locale, TableEtag = etag };
        if (after is not null && after[0] != etag)
        {
            throw Errors.Aborted($"The effective string table of '{locale}' changed since the export started (etag {after[0]}, now {etag}); restart the export from the first page.");
        }

        if (request.IfNoneMatch.Length > 0 && request.IfNoneMatch == etag)
        {
            // The point of an etag is to skip reading the tables, so total_size stays unset too.
            response.NotModified = true;
            return response;
        }

        var effective = new SortedDictionary<string, StringEntry>(StringComparer.Ordinal);
        foreach (var step in searched)
        {
            foreach (var entry in await ReadEntriesAsync(StoreKeys.TablePrefix(step) + request.KeyPrefix, cancellationToken).ConfigureAwait(false))
            {
                effective.TryAdd(entry.Key, entry);
            }
        }

        // The tag filter applies to the entry that wins along the chain, not to the ones it hides.
        var matching = effective.Values.Where(e => request.Tag.Length == 0 || e.Tags.Contains(request.Tag)).ToList();
        response.TotalSize = matching.Count;
        var (page, next) = PageTokens.Take(matching.Where(e => after is null || string.CompareOrdinal(e.Key, after[1]) > 0), pageSize, e => PageTokens.Encode(etag, e.Key));
        response.Entries.AddRange(page.Select(Resolved));
        response.NextPageToken = next;
        return response;
    }

    private async ValueTask<ImportResult> ImportOneAsync(string locale, StringEntry entry, ImportMode mode, ServerCallContext context, CancellationToken cancellationToken)
    {
        var key = StoreKeys.Entry(locale, entry.Key);
        while (true)
        {
            var stored = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var current = stored is null ? null : StringEntry.Parser.ParseFrom(stored.Value.Span);
            if (current is not null && mode == ImportMode.KeepExisting)
            {
                return new ImportResult { Key = entry.Key, Outcome = ImportOutcome.Skipped, Version = stored!.Version };
            }

            if (current is not null && SameContent(current, entry))
            {
                return new ImportResult { Key = entry.Key, Outcome = ImportOutcome.Unchanged, Version = stored!.Version };
            }

            var next = entry.Clone();
            next.CreateTime = current?.CreateTime;
            Stamp(next, context, created: current is null);
            var result = await _store.SetAsync(key, next.ToByteArray(), stored?.Version ?? 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return new ImportResult { Key = entry.Key, Outcome = current is null ? ImportOutcome.Created : ImportOutcome.Updated, Version = result.Version };
            }
        }
    }

    /// <summary>
    /// Bookkeeping after a write that changed a table: the entry count (atomic increments, so
    /// concurrent writers never lose one) and then the revision, which moves every export etag
    /// of a chain holding the table. Returns the new revision.
    /// </summary>
    private async ValueTask<long> TableChangedAsync(string locale, string change, int changed, int entriesCreated, CancellationToken cancellationToken)
    {
        if (entriesCreated != 0)
        {
            await _store.IncrementAsync(StoreKeys.Count(locale), entriesCreated, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var revision = await _store.IncrementAsync(StoreKeys.Revision(locale), cancellationToken: cancellationToken).ConfigureAwait(false);
        LogTableChanged(_logger, locale, change, changed, revision);
        return revision;
    }

    private async ValueTask RequireRegisteredAsync(string locale, CancellationToken cancellationToken)
    {
        var (registry, _) = await ReadRegistryAsync(cancellationToken).ConfigureAwait(false);
        if (registry.Find(locale) is null)
        {
            throw LocaleNotFound(locale);
        }
    }

    private async ValueTask<StringEntry?> ReadEntryAsync(string locale, string key, CancellationToken cancellationToken)
    {
        var stored = await _store.GetAsync(StoreKeys.Entry(locale, key), cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        var entry = StringEntry.Parser.ParseFrom(stored.Value.Span);
        entry.Version = stored.Version;
        return entry;
    }

    private ValueTask<List<StringEntry>> ReadEntriesAsync(string prefix, CancellationToken cancellationToken) =>
        ReadAllAsync(prefix, StringEntry.Parser, (e, version) => e.Version = version, cancellationToken);

    /// <summary>Every message under a store prefix, each once (the Redis store lists in SCAN order and may repeat a key).</summary>
    private async ValueTask<List<T>> ReadAllAsync<T>(string prefix, MessageParser<T> parser, Action<T, long> setVersion, CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        var messages = new Dictionary<string, T>(StringComparer.Ordinal);
        string? token = null;
        do
        {
            var page = await _store.ListAsync(prefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                var message = parser.ParseFrom(item.Entry.Value.Span);
                setVersion(message, item.Entry.Version);
                messages[item.Key] = message;
            }

            token = page.NextPageToken;
        }
        while (token is not null);

        return [.. messages.Values];
    }

    /// <summary>
    /// An entry as stored: checked (key, value, limits), with its placeholders computed and
    /// only the fields a client may set. INVALID_ARGUMENT naming <paramref name="field"/> otherwise.
    /// </summary>
    private static StringEntry NormalizeEntry(StringEntry source, string locale, string field)
    {
        ValidateKey(source.Key, field + ".key");
        Errors.Require(source.MaxLength >= 0, $"{field}.max_length must be 0 (no limit) or more; got {source.MaxLength}.");
        Errors.Require(source.Description.Length <= MaxDescriptionLength, $"{field}.description is at most {MaxDescriptionLength} characters; it has {source.Description.Length}.");
        Errors.Require(source.Tags.Count <= MaxTags, $"{field}.tags holds at most {MaxTags} tags; it has {source.Tags.Count}.");
        foreach (var tag in source.Tags)
        {
            Errors.Require(TagPattern().IsMatch(tag), $"{field}.tags: '{tag}' is not a tag (1-64 characters of [A-Za-z0-9_.:-], starting with a letter or digit).");
        }

        var (placeholders, problem) = MessageFormatter.Validate(
            source.ValueCase == StringEntry.ValueOneofCase.Text ? source.Text : null,
            source.ValueCase == StringEntry.ValueOneofCase.Plural ? source.Plural : null,
            source.MaxLength);
        Errors.Require(problem is null, $"{field}: {problem}.");
        var entry = new StringEntry
        {
            Locale = locale,
            Key = source.Key,
            Description = source.Description,
            MaxLength = source.MaxLength,
        };
        entry.Tags.AddRange(source.Tags.Distinct(StringComparer.Ordinal));
        entry.Placeholders.AddRange(placeholders);
        if (source.ValueCase == StringEntry.ValueOneofCase.Plural)
        {
            entry.Plural = source.Plural.Clone();
        }
        else
        {
            entry.Text = source.Text;
        }

        return entry;
    }

    private static StringEntry Merge(StringEntry current, StringEntry changes, HashSet<string> paths)
    {
        var merged = current.Clone();
        if (paths.Contains("text"))
        {
            merged.Text = changes.Text;
        }

        if (paths.Contains("plural"))
        {
            merged.Plural = changes.Plural.Clone();
        }

        if (paths.Contains("description"))
        {
            merged.Description = changes.Description;
        }

        if (paths.Contains("tags"))
        {
            merged.Tags.Clear();
            merged.Tags.AddRange(changes.Tags);
        }

        if (paths.Contains("max_length"))
        {
            merged.MaxLength = changes.MaxLength;
        }

        return merged;
    }

    /// <summary>True when two entries hold the same value and settings (versions, times and authors aside).</summary>
    private static bool SameContent(StringEntry a, StringEntry b)
    {
        static StringEntry Content(StringEntry e)
        {
            var content = e.Clone();
            content.Version = 0;
            content.CreateTime = null;
            content.UpdateTime = null;
            content.UpdatedBy = "";
            return content;
        }

        return Content(a).Equals(Content(b));
    }

    private void Stamp(StringEntry entry, ServerCallContext context, bool created)
    {
        var now = Now();
        entry.UpdateTime = now;
        if (created || entry.CreateTime is null)
        {
            entry.CreateTime = now;
        }

        entry.UpdatedBy = Actor(context);
        entry.Version = 0;
    }

    /// <summary>
    /// Who made a change: the authenticated peer when the transport has one; otherwise the
    /// caller's <c>gs-actor</c> metadata (a label, not a proof, until auth guards the mesh),
    /// else <c>anonymous</c>.
    /// </summary>
    private static string Actor(ServerCallContext context)
    {
        if (context.AuthContext is { IsPeerAuthenticated: true } auth)
        {
            return string.Join(",", auth.PeerIdentity.Select(p => p.Value));
        }

        var actor = context.RequestHeaders?.GetValue("gs-actor");
        return string.IsNullOrWhiteSpace(actor) ? "anonymous" : actor.Trim()[..Math.Min(actor.Trim().Length, 128)];
    }

    private static ResolvedStringEntry Resolved(StringEntry entry)
    {
        var resolved = new ResolvedStringEntry { Key = entry.Key, ResolvedLocale = entry.Locale, Version = entry.Version };
        resolved.Placeholders.AddRange(entry.Placeholders);
        if (entry.ValueCase == StringEntry.ValueOneofCase.Plural)
        {
            resolved.Plural = entry.Plural;
        }
        else
        {
            resolved.Text = entry.Text;
        }

        return resolved;
    }

    private static int ComparePosition(StringEntry entry, string key, string locale)
    {
        var byKey = string.CompareOrdinal(entry.Key, key);
        return byKey != 0 ? byKey : string.CompareOrdinal(entry.Locale, locale);
    }

    private static void ValidateKey(string key, string field) =>
        Errors.Require(key.Length <= MaxKeyLength && KeyPattern().IsMatch(key), $"{field} must match [a-z0-9_]+(\\.[a-z0-9_-]+)*, at most {MaxKeyLength} characters (e.g. 'quest.drowned_abbey.title'); got '{key}'.");

    private static RpcException EntryNotFound(string locale, string key) =>
        Errors.NotFound($"Key '{key}' is not in the '{locale}' table; ListStringEntries shows its keys, and Localize also looks along the fallback chain.");

    [GeneratedRegex(@"^[a-z0-9_]+(\.[a-z0-9_-]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"^[a-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPrefixPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();
}
