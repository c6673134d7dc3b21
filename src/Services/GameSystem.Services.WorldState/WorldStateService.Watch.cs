using GameSystem.Mesh;
using GameSystem.Services.WorldState.Internal;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState;

/// <summary>
/// WatchRegion: a snapshot, then the region's change log in version order. The log is in the
/// store, written in the transaction of each change, so every instance streams every instance's
/// changes in the same order, and a stream that reconnects with the last version it has resumes
/// without a gap while the log still holds the versions after it.
/// </summary>
public sealed partial class WorldStateService
{
    /// <summary>Entities per snapshot chunk.</summary>
    private const int SnapshotChunkEntities = 200;

    /// <summary>Bytes of entities per snapshot chunk, well within NATS's default 1 MiB payload.</summary>
    private const int SnapshotChunkBytes = 256 * 1024;

    /// <inheritdoc/>
    public async IAsyncEnumerable<WatchRegionResponse> WatchRegionAsync(WatchRegionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireReader(context.GetPrincipal(), "WatchRegion");
        Rules.RequireRegionId(request.RegionId, "region_id");
        Errors.Require(request.FromVersion >= 0, "from_version", $"is 0 for a snapshot first, or the last region version the caller has; got {request.FromVersion}.");
        var problems = new List<FieldProblem>();
        for (var i = 0; i < request.Kinds.Count; i++)
        {
            if (!Rules.IsKind(request.Kinds[i]))
            {
                problems.Add(new($"kinds[{i}]", Rules.KindRule(request.Kinds[i])));
            }
        }

        Errors.Require(problems);
        var regionId = request.RegionId;
        var kinds = request.Kinds.Count == 0 ? null : new HashSet<string>(request.Kinds, StringComparer.Ordinal);
        var cancellationToken = context.CancellationToken;
        var (worldId, head, _) = await ReadRegionAsync(regionId, cancellationToken).ConfigureAwait(false);
        var generation = head.Generation;
        var current = head.Region.Version;
        long last;
        List<ChangeRecord>? replay = null;
        if (request.FromVersion > current)
        {
            throw Errors.OutOfRange($"from_version {request.FromVersion} is after region '{regionId}''s current version {current}; pass a version this region reached (the last RegionChanged.version you received), or 0 for a snapshot. (A region deleted and created again starts at version 1.)");
        }

        if (request.FromVersion > 0)
        {
            replay = await ReadChangesAsync(worldId, regionId, generation, request.FromVersion + 1, current, cancellationToken).ConfigureAwait(false);
            if (replay is null && request.RequireReplay)
            {
                var oldest = await OldestResumableAsync(worldId, regionId, generation, request.FromVersion, current, cancellationToken).ConfigureAwait(false);
                throw Errors.OutOfRange($"Region '{regionId}''s changes after from_version {request.FromVersion} are no longer kept (the log keeps {_options.ChangeRetention.TotalHours:0.#} h); the oldest version it can resume from is {oldest}. Start again with from_version 0 (a snapshot), or without require_replay to get a reset snapshot.");
            }
        }

        if (replay is null)
        {
            var reset = request.FromVersion > 0;
            var (snapshot, version) = await SnapshotAsync(worldId, regionId, kinds, reset, cancellationToken).ConfigureAwait(false);
            foreach (var chunk in snapshot)
            {
                yield return new WatchRegionResponse { Snapshot = chunk };
            }

            last = version;
        }
        else
        {
            foreach (var record in replay)
            {
                if (Filter(record, kinds) is { } change)
                {
                    yield return new WatchRegionResponse { Change = change };
                }
            }

            last = current;
        }

        while (true)
        {
            // Ask for the wake-up before reading, so a write committing in between is not missed.
            var signal = _signals.Next(worldId, regionId);
            var entry = await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false);
            var now = entry is null ? null : RegionRecord.Parser.ParseFrom(entry.Value.Span);
            if (now is null || now.Generation != generation)
            {
                // Deleted (and perhaps created again): the old log ends with the deletion.
                var ended = false;
                foreach (var record in await ReadLogTailAsync(worldId, regionId, generation, last + 1, cancellationToken).ConfigureAwait(false))
                {
                    last = record.Change.Version;
                    ended |= record.Change.Deleted;
                    if (Filter(record, kinds) is { } change)
                    {
                        yield return new WatchRegionResponse { Change = change };
                    }
                }

                if (!ended)
                {
                    yield return new WatchRegionResponse { Change = new RegionChanged { RegionId = regionId, Version = last + 1, Deleted = true, ChangeTime = Now() } };
                }

                yield break;
            }

            if (now.Region.Version > last)
            {
                var changes = await ReadChangesAsync(worldId, regionId, generation, last + 1, now.Region.Version, cancellationToken).ConfigureAwait(false);
                if (changes is null)
                {
                    // Further behind than the log reaches (a stalled stream): start it over.
                    LogWatchReset(_logger, regionId, last, now.Region.Version);
                    var (snapshot, version) = await SnapshotAsync(worldId, regionId, kinds, reset: true, cancellationToken).ConfigureAwait(false);
                    foreach (var chunk in snapshot)
                    {
                        yield return new WatchRegionResponse { Snapshot = chunk };
                    }

                    last = version;
                }
                else
                {
                    foreach (var record in changes)
                    {
                        if (Filter(record, kinds) is { } change)
                        {
                            yield return new WatchRegionResponse { Change = change };
                        }
                    }

                    last = now.Region.Version;
                }

                continue;
            }

            await Task.WhenAny(signal, Task.Delay(_options.WatchPollInterval, _time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Versions <paramref name="from"/>-<paramref name="through"/> of a region's change log, or null when one is no longer kept.</summary>
    private async ValueTask<List<ChangeRecord>?> ReadChangesAsync(string worldId, string regionId, string generation, long from, long through, CancellationToken cancellationToken)
    {
        var records = new List<ChangeRecord>((int)Math.Min(through - from + 1, 1024));
        for (var start = from; start <= through; start += ReadBatch)
        {
            var end = Math.Min(through, start + ReadBatch - 1);
            var keys = new List<string>((int)(end - start + 1));
            for (var version = start; version <= end; version++)
            {
                keys.Add(StoreKeys.Change(worldId, regionId, generation, version));
            }

            foreach (var entry in await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false))
            {
                if (entry is null)
                {
                    return null;
                }

                records.Add(ChangeRecord.Parser.ParseFrom(entry.Value.Span));
            }
        }

        return records;
    }

    /// <summary>The log entries from <paramref name="from"/> on, up to the first one missing (a deleted region's last ones).</summary>
    private async ValueTask<List<ChangeRecord>> ReadLogTailAsync(string worldId, string regionId, string generation, long from, CancellationToken cancellationToken)
    {
        var records = new List<ChangeRecord>();
        for (var version = from; ; version++)
        {
            var entry = await _store.GetAsync(StoreKeys.Change(worldId, regionId, generation, version), cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return records;
            }

            var record = ChangeRecord.Parser.ParseFrom(entry.Value.Span);
            records.Add(record);
            if (record.Change.Deleted)
            {
                return records;
            }
        }
    }

    /// <summary>
    /// The oldest version a stream can resume from: the log's entries expire oldest first, so a
    /// binary search finds the first one still kept.
    /// </summary>
    private async ValueTask<long> OldestResumableAsync(string worldId, string regionId, string generation, long from, long current, CancellationToken cancellationToken)
    {
        long low = from + 1, high = current;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (await _store.GetAsync(StoreKeys.Change(worldId, regionId, generation, middle), cancellationToken).ConfigureAwait(false) is null)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        var kept = await _store.GetAsync(StoreKeys.Change(worldId, regionId, generation, low), cancellationToken).ConfigureAwait(false) is not null;
        return kept ? low - 1 : current;
    }

    /// <summary>
    /// The region and its entities (of <paramref name="kinds"/>) in chunks, at one version when the
    /// region holds still long enough to read it so; otherwise at the version read first, which the
    /// changes that follow bring up to date (they carry whole entities, so re-applying one is harmless).
    /// </summary>
    private async ValueTask<(List<RegionSnapshot> Chunks, long Version)> SnapshotAsync(string worldId, string regionId, HashSet<string>? kinds, bool reset, CancellationToken cancellationToken)
    {
        RegionRecord? record = null;
        List<Entity> entities = [];
        for (var attempt = 0; attempt < ConsistentReadAttempts; attempt++)
        {
            var before = await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);
            record = RegionRecord.Parser.ParseFrom(before.Value.Span);
            entities = await EntitiesOfAsync(worldId, regionId, cancellationToken).ConfigureAwait(false);
            var after = await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false);
            if (after?.Version == before.Version)
            {
                break;
            }
        }

        var version = record!.Region.Version;
        var chunks = new List<RegionSnapshot>();
        var chunk = new RegionSnapshot { Region = record.Region, Version = version, Reset = reset };
        var bytes = 0;
        foreach (var entity in entities.Where(e => kinds is null || kinds.Contains(e.Kind)))
        {
            var size = entity.CalculateSize();
            if (chunk.Entities.Count == SnapshotChunkEntities || (chunk.Entities.Count > 0 && bytes + size > SnapshotChunkBytes))
            {
                chunks.Add(chunk);
                chunk = new RegionSnapshot { Version = version, Reset = reset };
                bytes = 0;
            }

            chunk.Entities.Add(entity);
            bytes += size;
        }

        chunk.Complete = true;
        chunks.Add(chunk);
        return (chunks, version);
    }

    /// <summary>Every entity of a region, in entity-id order.</summary>
    private async ValueTask<List<Entity>> EntitiesOfAsync(string worldId, string regionId, CancellationToken cancellationToken)
    {
        var entities = new List<Entity>();
        string? token = null;
        do
        {
            var page = await _store.QueryIndexAsync(StoreKeys.Entities(worldId, regionId), new StateIndexQuery { PageSize = ReadBatch, PageToken = token }, cancellationToken).ConfigureAwait(false);
            token = page.NextPageToken;
            if (page.Members.Count == 0)
            {
                break;
            }

            foreach (var entry in await _store.GetManyAsync([.. page.Members.Select(id => StoreKeys.Entity(worldId, id))], cancellationToken).ConfigureAwait(false))
            {
                if (entry is not null && Entity.Parser.ParseFrom(entry.Value.Span) is { } entity && entity.RegionId == regionId)
                {
                    entities.Add(entity);
                }
            }
        }
        while (token is not null);
        return entities;
    }

    /// <summary>The change as a stream of <paramref name="kinds"/> sees it; null when nothing of it is left to send.</summary>
    private static RegionChanged? Filter(ChangeRecord record, HashSet<string>? kinds)
    {
        if (kinds is null)
        {
            return record.Change;
        }

        var change = record.Change.Clone();
        change.UpsertedEntities.Clear();
        change.UpsertedEntities.AddRange(record.Change.UpsertedEntities.Where(e => kinds.Contains(e.Kind)));
        change.RemovedEntityIds.Clear();
        change.RemovedEntityIds.AddRange(record.Change.RemovedEntityIds.Where(id => record.RemovedKinds.TryGetValue(id, out var kind) && kinds.Contains(kind)));

        // An entity that changed from a watched kind to another leaves the stream's view.
        change.RemovedEntityIds.AddRange(record.Change.UpsertedEntities
            .Where(e => !kinds.Contains(e.Kind) && record.PreviousKinds.TryGetValue(e.EntityId, out var was) && kinds.Contains(was))
            .Select(e => e.EntityId));
        var kept = change.UpsertedEntities.Select(e => e.EntityId).ToHashSet(StringComparer.Ordinal);
        change.PropertyChanges.Clear();
        change.PropertyChanges.AddRange(record.Change.PropertyChanges.Where(p => p.EntityId.Length == 0 || kept.Contains(p.EntityId)));
        return change.Region is null && change.UpsertedEntities.Count == 0 && change.RemovedEntityIds.Count == 0 && change.PropertyChanges.Count == 0 && !change.Deleted
            ? null
            : change;
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 7203, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "WatchRegion of {RegionId} fell behind the change log (at version {Last}, region at {Current}); sent it a reset snapshot")]
    private static partial void LogWatchReset(Microsoft.Extensions.Logging.ILogger logger, string regionId, long last, long current);
}
