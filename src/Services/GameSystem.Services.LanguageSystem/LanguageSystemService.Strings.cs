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

    /// <summary>
    /// The largest import request: its entries, their bookkeeping, its answer and its event then
    /// stay well inside the one transaction the store allows (<see cref="StateKeys.MaxTransactionBytes"/>).
    /// </summary>
    private const int MaxImportBytes = StateKeys.MaxTransactionBytes / 2;
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
        var claim = new RequestClaim(StoreKeys.TableRequest(locale, "CreateStringEntry", request.RequestId), "CreateStringEntry", request.RequestId, request);
        var key = StoreKeys.Entry(locale, entry.Key);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.Locale(locale), StoreKeys.Table(locale), key], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], CreateStringEntryResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (Writable(locale, read[1], read[2]) is not { } table)
            {
                continue;
            }

            if (read[3] is not null)
            {
                throw Errors.AlreadyExists($"Key '{entry.Key}' already exists in the '{locale}' table; use UpdateStringEntry to change it.");
            }

            var created = entry.Clone();
            Stamp(created, context, previous: null);
            var transaction = table.Change(entriesAdded: 1, out var revision)
                .Set(key, new EntryRecord { Entry = created }.ToByteArray(), expectedVersion: 0)
                .IndexAdd(StoreKeys.Keys(locale), created.Key);
            var response = new CreateStringEntryResponse { Entry = created };
            claim.Record(transaction, response);
            _outbox.Publish(transaction, ChangeEvents.StringTableChanged(locale, [created.Key], ChangeType.Created, revision, created.UpdateTime));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogTableChanged(_logger, locale, "created", 1, revision);
                return response;
            }
        }

        throw Errors.Contended($"The '{locale}' table");
    }

    /// <inheritdoc/>
    public async ValueTask<GetStringEntryResponse> GetStringEntryAsync(GetStringEntryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        ValidateKey(request.Key, "key");
        var stored = await _store.GetAsync(StoreKeys.Entry(locale, request.Key), context.CancellationToken).ConfigureAwait(false);
        return new GetStringEntryResponse { Entry = EntryOf(stored) ?? throw EntryNotFound(locale, request.Key) };
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
        List<string> tables;
        if (all)
        {
            tables = await RegisteredTagsAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (locale != LocaleTags.Default && await _store.GetAsync(StoreKeys.Locale(locale), cancellationToken).ConfigureAwait(false) is null)
            {
                throw LocaleNotFound(locale);
            }

            tables = [locale];
        }

        // Every table's key index in one ordered walk: by key, then by locale (the tables' order).
        (string, int)? position = after is null ? null : (after[0], tables.Count(t => string.CompareOrdinal(t, after[1]) <= 0) - 1);
        var merge = new IndexMerge(_store, [.. tables.Select(StoreKeys.Keys)], request.KeyPrefix, position, pageSize + 1, distinct: false);
        var updatedAfter = request.UpdatedAfter?.ToDateTimeOffset();
        var filtered = request.Tag.Length > 0 || updatedAfter is not null;
        var page = await IndexPages.ReadAsync(
            merge,
            pageSize,
            filtered,
            (chunk, ct) => ReadEntriesAsync([.. chunk.Select(c => StoreKeys.Entry(tables[c.Source], c.Member))], ct),
            e => (request.Tag.Length == 0 || e.Tags.Contains(request.Tag)) && (updatedAfter is null || e.UpdateTime.ToDateTimeOffset() > updatedAfter),
            cancellationToken).ConfigureAwait(false);
        var response = new ListStringEntriesResponse
        {
            NextPageToken = page.ResumeAfter is { } last ? PageTokens.Encode(last.Member, tables[last.Source]) : "",
        };
        response.Entries.AddRange(page.Items);
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
        var key = StoreKeys.Entry(locale, request.Entry.Key);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.Locale(locale), StoreKeys.Table(locale), key], cancellationToken).ConfigureAwait(false);
            if (Writable(locale, read[0], read[1]) is not { } table)
            {
                continue;
            }

            var current = EntryOf(read[2]);
            if (current is null && !request.AllowMissing)
            {
                throw EntryNotFound(locale, request.Entry.Key);
            }

            Errors.CheckVersion($"Entry '{request.Entry.Key}' of '{locale}'", request.ExpectedVersion, current?.Version ?? 0);
            var next = NormalizeEntry(Merge(current ?? new StringEntry { Locale = locale, Key = request.Entry.Key }, request.Entry, paths), locale, "entry");
            if (current is not null && SameContent(current, next))
            {
                return new UpdateStringEntryResponse { Entry = current };
            }

            Stamp(next, context, current);
            var transaction = table.Change(entriesAdded: current is null ? 1 : 0, out var revision)
                .Set(key, new EntryRecord { Entry = next }.ToByteArray(), read[2]?.Version ?? 0);
            if (current is null)
            {
                transaction.IndexAdd(StoreKeys.Keys(locale), next.Key);
            }

            _outbox.Publish(transaction, ChangeEvents.StringTableChanged(locale, [next.Key], current is null ? ChangeType.Created : ChangeType.Updated, revision, next.UpdateTime));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogTableChanged(_logger, locale, current is null ? "created" : "updated", 1, revision);
                return new UpdateStringEntryResponse { Entry = next, Created = current is null };
            }
        }

        throw Errors.Contended($"The '{locale}' table");
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteStringEntryResponse> DeleteStringEntryAsync(DeleteStringEntryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        ValidateKey(request.Key, "key");
        var cancellationToken = context.CancellationToken;
        var key = StoreKeys.Entry(locale, request.Key);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.Locale(locale), StoreKeys.Table(locale), key], cancellationToken).ConfigureAwait(false);
            var current = EntryOf(read[2]) ?? throw EntryNotFound(locale, request.Key);
            Errors.CheckVersion($"Entry '{request.Key}' of '{locale}'", request.ExpectedVersion, current.Version);
            if (Writable(locale, read[0], read[1]) is not { } table)
            {
                continue;
            }

            var transaction = table.Change(entriesAdded: -1, out var revision)
                .Delete(key, read[2]!.Version)
                .IndexRemove(StoreKeys.Keys(locale), request.Key);
            _outbox.Publish(transaction, ChangeEvents.StringTableChanged(locale, [request.Key], ChangeType.Deleted, revision, Now()));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogTableChanged(_logger, locale, "deleted", 1, revision);
                return new DeleteStringEntryResponse();
            }
        }

        throw Errors.Contended($"The '{locale}' table");
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
        Errors.Require(request.CalculateSize() <= MaxImportBytes, $"entries carry {request.CalculateSize()} bytes; an import is at most {MaxImportBytes} bytes (one store transaction): split it into several imports.");

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
        var claim = new RequestClaim(StoreKeys.TableRequest(locale, "ImportStringEntries", request.RequestId), "ImportStringEntries", request.RequestId, request);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.Locale(locale), StoreKeys.Table(locale), .. entries.Select(e => StoreKeys.Entry(locale, e.Key))], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], ImportStringEntriesResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (Writable(locale, read[1], read[2]) is not { } table)
            {
                continue;
            }

            // One transaction for the whole import: each changed entry (checked at the version
            // read), the key index, the count and revision, the request id and the event.
            var response = new ImportStringEntriesResponse();
            var writes = new List<(string Key, StringEntry Entry, long Version, bool Created)>();
            for (var i = 0; i < entries.Count; i++)
            {
                var stored = read[i + 3];
                var current = EntryOf(stored);
                if (current is not null && (request.Mode == ImportMode.KeepExisting || SameContent(current, entries[i])))
                {
                    var outcome = request.Mode == ImportMode.KeepExisting ? ImportOutcome.Skipped : ImportOutcome.Unchanged;
                    response.Results.Add(new ImportResult { Key = current.Key, Outcome = outcome, Version = current.Version });
                    continue;
                }

                var next = entries[i].Clone();
                Stamp(next, context, current);
                writes.Add((StoreKeys.Entry(locale, next.Key), next, stored?.Version ?? 0, current is null));
                response.Results.Add(new ImportResult { Key = next.Key, Outcome = current is null ? ImportOutcome.Created : ImportOutcome.Updated, Version = next.Version });
            }

            StateTransaction transaction;
            if (writes.Count == 0)
            {
                // Nothing to change, but the answer is still the request id's, at the revision read.
                response.TableRevision = table.Record.Revision;
                transaction = new StateTransaction().Require(StoreKeys.Table(locale), table.Version);
            }
            else
            {
                var created = writes.Count(w => w.Created);
                transaction = table.Change(created, out var revision);
                response.TableRevision = revision;
                foreach (var (key, entry, version, isNew) in writes)
                {
                    transaction.Set(key, new EntryRecord { Entry = entry }.ToByteArray(), version);
                    if (isNew)
                    {
                        transaction.IndexAdd(StoreKeys.Keys(locale), entry.Key);
                    }
                }

                var change = created == writes.Count ? ChangeType.Created : ChangeType.Updated;
                _outbox.Publish(transaction, ChangeEvents.StringTableChanged(locale, writes.Select(w => w.Entry.Key), change, revision, Now()));
            }

            claim.Record(transaction, response);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                if (writes.Count > 0)
                {
                    LogTableChanged(_logger, locale, "imported", writes.Count, response.TableRevision);
                }

                return response;
            }
        }

        throw Errors.Contended($"The '{locale}' table");
    }

    /// <inheritdoc/>
    public async ValueTask<ExportStringTableResponse> ExportStringTableAsync(ExportStringTableRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var locale = CanonicalTag(request.Locale, "locale", allowDefault: true);
        var pageSize = PageTokens.Size(request.PageSize, defaultSize: 500, maxSize: 2000);
        var after = PageTokens.Decode(request.PageToken, "ExportStringTable", 3);
        Errors.Require(KeyPrefixPattern().IsMatch(request.KeyPrefix), $"key_prefix may only hold the characters of keys, [a-z0-9_.-]; got '{request.KeyPrefix}'.");
        var cancellationToken = context.CancellationToken;
        var registry = await ReadChainsAsync([locale], cancellationToken).ConfigureAwait(false);
        var searched = registry.SearchedChain(locale);
        var tables = await _store.GetManyAsync([.. searched.Select(StoreKeys.Table)], cancellationToken).ConfigureAwait(false);

        // The etag covers what decides the content: the searched chain, each table's revision
        // and the filters. Every change to a table moves its revision in the same transaction.
        var etagSource = new StringBuilder("v2|").Append(request.KeyPrefix).Append('|').Append(request.Tag);
        for (var i = 0; i < searched.Count; i++)
        {
            etagSource.Append('|').Append(searched[i]).Append(':').Append(TableOf(tables[i]).Revision);
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

        // The etag pins the content between pages, so the size counted for the first page holds for the rest.
        if (after is null)
        {
            response.TotalSize = (int)Math.Min(int.MaxValue, await CountEffectiveAsync(searched, request.KeyPrefix, request.Tag, cancellationToken).ConfigureAwait(false));
        }
        else
        {
            Errors.Require(int.TryParse(after[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var total), "page_token is not a token returned by ExportStringTable; pass next_page_token unchanged or leave it empty.");
            response.TotalSize = total;
        }

        // The tables of the chain in one ordered walk: each key once, from the first table that has it.
        var merge = new IndexMerge(_store, [.. searched.Select(StoreKeys.Keys)], request.KeyPrefix, after is null ? null : (after[1], int.MaxValue), pageSize + 1, distinct: true);
        var page = await IndexPages.ReadAsync(
            merge,
            pageSize,
            filtered: request.Tag.Length > 0,
            (chunk, ct) => ReadEntriesAsync([.. chunk.Select(c => StoreKeys.Entry(searched[c.Source], c.Member))], ct),
            e => request.Tag.Length == 0 || e.Tags.Contains(request.Tag),
            cancellationToken).ConfigureAwait(false);
        response.Entries.AddRange(page.Items.Select(Resolved));
        response.NextPageToken = page.ResumeAfter is { } last
            ? PageTokens.Encode(etag, last.Member, response.TotalSize.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : "";
        return response;
    }

    /// <summary>
    /// The number of keys of the effective table under the filters: the index size when one
    /// table is searched and no tag filters; otherwise one ordered walk of the chain's key
    /// indexes (reading the winning entries only when a tag filters).
    /// </summary>
    private async ValueTask<long> CountEffectiveAsync(List<string> searched, string keyPrefix, string tag, CancellationToken cancellationToken)
    {
        if (searched.Count == 1 && tag.Length == 0)
        {
            return await _store.CountIndexAsync(StoreKeys.Keys(searched[0]), keyPrefix.Length > 0 ? keyPrefix : null, cancellationToken).ConfigureAwait(false);
        }

        var merge = new IndexMerge(_store, [.. searched.Select(StoreKeys.Keys)], keyPrefix, null, StateKeys.MaxPageSize, distinct: true);
        long count = 0;
        var chunk = new List<string>(StateKeys.MaxPageSize);
        while (true)
        {
            var next = await merge.NextAsync(cancellationToken).ConfigureAwait(false);
            if (next is { } item)
            {
                if (tag.Length == 0)
                {
                    count++;
                    continue;
                }

                chunk.Add(StoreKeys.Entry(searched[item.Source], item.Member));
            }

            if (chunk.Count == StateKeys.MaxPageSize || (next is null && chunk.Count > 0))
            {
                count += (await ReadEntriesAsync(chunk, cancellationToken).ConfigureAwait(false)).Count(e => e is not null && e.Tags.Contains(tag));
                chunk.Clear();
            }

            if (next is null)
            {
                return count;
            }
        }
    }

    /// <summary>
    /// A table write's view of its table, from one read of the locale and the table record:
    /// <see cref="Change"/> starts the transaction that moves the revision and count under the
    /// version read, which every write to the table requires, so writers of one table apply
    /// one after the other and none loses another's count.
    /// </summary>
    private sealed class TableWrite(string locale, LocaleRecord owner, TableRecord record, long version)
    {
        public TableRecord Record => record;

        public long Version => version;

        public StateTransaction Change(int entriesAdded, out long revision)
        {
            var next = new TableRecord
            {
                Revision = record.Revision + 1,
                EntryCount = Math.Max(0, record.EntryCount + entriesAdded),
                Incarnation = owner.Incarnation,
            };
            revision = next.Revision;
            return new StateTransaction().Set(StoreKeys.Table(locale), next.ToByteArray(), version);
        }
    }

    /// <summary>
    /// Whether a write may go into <paramref name="locale"/>'s table, from one read of its locale
    /// and table records: NOT_FOUND or FAILED_PRECONDITION when not; null when the two reads
    /// straddled a deletion (read again).
    /// </summary>
    private static TableWrite? Writable(string locale, StateEntry? localeEntry, StateEntry? tableEntry)
    {
        var owner = localeEntry is not null ? LocaleRecord.Parser.ParseFrom(localeEntry.Value.Span)
            : locale == LocaleTags.Default ? new LocaleRecord()
            : throw LocaleNotFound(locale);
        if (owner.Deleting)
        {
            throw LocaleDeleting(locale);
        }

        var table = TableOf(tableEntry);

        // A table opened for a newer locale, or closed for this one, means the locale was read
        // before a deletion that has begun or ended since.
        if (table.Incarnation > owner.Incarnation || (table.Incarnation == owner.Incarnation && table.Closed))
        {
            return null;
        }

        return new TableWrite(locale, owner, table, tableEntry?.Version ?? 0);
    }

    /// <summary>Every registered tag with <c>default</c>, in tag order.</summary>
    private async ValueTask<List<string>> RegisteredTagsAsync(CancellationToken cancellationToken)
    {
        var tags = new List<string> { LocaleTags.Default };
        var query = new StateIndexQuery { PageSize = StateKeys.MaxPageSize };
        while (true)
        {
            var page = await _store.QueryIndexAsync(StoreKeys.AllTags, query, cancellationToken).ConfigureAwait(false);
            tags.AddRange(page.Members);
            if (page.NextPageToken is null)
            {
                tags.Sort(StringComparer.Ordinal);
                return tags;
            }

            query = query with { PageToken = page.NextPageToken };
        }
    }

    private async ValueTask<IReadOnlyList<StringEntry?>> ReadEntriesAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var read = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        return [.. read.Select(EntryOf)];
    }

    private static StringEntry? EntryOf(StateEntry? stored) => stored is null ? null : EntryRecord.Parser.ParseFrom(stored.Value.Span).Entry;

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

    /// <summary>Marks <paramref name="entry"/> as written now by the caller, as the next version of <paramref name="previous"/> (null: a new entry, version 1).</summary>
    private void Stamp(StringEntry entry, ServerCallContext context, StringEntry? previous)
    {
        var now = Now();
        entry.UpdateTime = now;
        entry.CreateTime = previous?.CreateTime ?? now;
        entry.UpdatedBy = Actor(context);
        entry.Version = (previous?.Version ?? 0) + 1;
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
