using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.WorldState.Internal;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.WorldState;

/// <summary>Regions: create (directory claim, then the world's transaction), read, list on indexes, update with a field mask, delete.</summary>
public sealed partial class WorldStateService
{
    /// <summary>How deep regions nest at most (a world, a county, a town, a district, a house, a floor ...).</summary>
    internal const int MaxRegionDepth = 16;

    /// <summary>Entities a forced DeleteRegion removes per transaction (each change of the region a step its watchers see).</summary>
    internal const int DeleteBatchSize = 100;

    /// <summary>After this, a directory claim whose region never appeared (a CreateRegion that died between its two steps) may be taken over.</summary>
    private static readonly TimeSpan AbandonedClaimAge = TimeSpan.FromMinutes(1);

    private static readonly HashSet<string> RegionPaths = new(StringComparer.Ordinal) { "display_name", "parent_region_id", "bounds", "properties", "tags" };

    /// <inheritdoc/>
    public async ValueTask<CreateRegionResponse> CreateRegionAsync(CreateRegionRequest request, Grpc.Core.ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "CreateRegion");
        Errors.Require(request.Region is not null, "region", "is required: at least region_id and world_id.");
        var given = request.Region!;
        var problems = new List<FieldProblem>();
        if (!Rules.IsRegionId(given.RegionId))
        {
            problems.Add(new("region.region_id", Rules.RegionIdRule(given.RegionId)));
        }

        if (!Rules.IsWorldId(given.WorldId))
        {
            problems.Add(new("region.world_id", Rules.WorldIdRule(given.WorldId)));
        }

        CheckRegionFields(given, problems, RegionPaths);
        Errors.Require(problems);
        Rules.RequireRequestId(request.RequestId);

        var cancellationToken = context.CancellationToken;
        var (regionId, worldId) = (given.RegionId, given.WorldId);
        await ClaimRegionIdAsync(regionId, worldId, cancellationToken).ConfigureAwait(false);
        var claim = new RequestClaim(worldId, "CreateRegion", request.RequestId, request, _options.RequestRetention);
        CreateRegionResponse response;
        try
        {
            response = await CreateInWorldAsync(request, claim, cancellationToken).ConfigureAwait(false);
        }
        catch (Grpc.Core.RpcException)
        {
            // Refused (a missing parent, say): the id is free again for any world.
            await ReleaseRegionIdAsync(regionId, worldId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        LogRegionCreated(_logger, regionId, worldId);
        return response;
    }

    private ValueTask<CreateRegionResponse> CreateInWorldAsync(CreateRegionRequest request, RequestClaim claim, CancellationToken cancellationToken)
    {
        var given = request.Region;
        var (regionId, worldId) = (given.RegionId, given.WorldId);
        var parentId = given.ParentRegionId;
        return ChangeWorldAsync(worldId, claim, CreateRegionResponse.Parser, _ => Keys(parentId.Length > 0 ? [regionId, parentId] : [regionId]), (change, _) =>
        {
            if (change.Region(regionId) is { } existing)
            {
                throw Errors.AlreadyExists($"Region '{regionId}' already exists (world '{worldId}', version {existing.Region.Version}); change it with UpdateRegion, or choose another region_id.");
            }

            if (parentId.Length > 0)
            {
                if (change.Region(parentId) is null)
                {
                    throw Errors.FailedPrecondition($"The parent region '{parentId}' does not exist in world '{worldId}' (a parent is in the same world); create it first, or leave parent_region_id empty. Nothing was created.");
                }
                change.AdjustChildren(parentId, regionId, +1);
            }

            var region = given.Clone();
            region.Version = 0;
            region.CreateTime = null;
            region.UpdateTime = null;
            var record = new RegionRecord { Region = region, Generation = Guid.NewGuid().ToString("N")[..12] };
            change.CreateRegion(record);
            return new Plan<CreateRegionResponse>(_ => new CreateRegionResponse { Region = record.Region.Clone() });
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<GetRegionResponse> GetRegionAsync(GetRegionRequest request, Grpc.Core.ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireReader(context.GetPrincipal(), "GetRegion");
        Rules.RequireRegionId(request.RegionId, "region_id");
        var (_, record, _) = await ReadRegionAsync(request.RegionId, context.CancellationToken).ConfigureAwait(false);
        return new GetRegionResponse { Region = record.Region };
    }

    /// <inheritdoc/>
    public async ValueTask<ListRegionsResponse> ListRegionsAsync(ListRegionsRequest request, Grpc.Core.ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireReader(context.GetPrincipal(), "ListRegions");
        var pageSize = PageToken.Size(request.PageSize, defaultSize: 50, max: 500);
        var problems = new List<FieldProblem>();
        if (request.WorldId.Length > 0 && !Rules.IsWorldId(request.WorldId))
        {
            problems.Add(new("world_id", Rules.WorldIdRule(request.WorldId) + " Leave it empty for every world."));
        }

        if (request.ParentRegionId.Length > 0 && !Rules.IsRegionId(request.ParentRegionId))
        {
            problems.Add(new("parent_region_id", Rules.RegionIdRule(request.ParentRegionId) + " Leave it empty for any parent."));
        }

        if (request.Tag.Length > 0 && !Rules.IsTag(request.Tag))
        {
            problems.Add(new("tag", Rules.TagRule(request.Tag) + " Leave it empty for every tag."));
        }

        Errors.Require(problems);
        var filters = request.Clone();
        filters.PageSize = 0;
        filters.PageToken = "";
        var after = PageToken.Decode(request.PageToken, filters)?.Resume;
        var cancellationToken = context.CancellationToken;

        // The narrowest index that holds every match: a parent's children, a world's regions, or all.
        string index;
        string? worldId = request.WorldId.Length > 0 ? request.WorldId : null;
        if (request.ParentRegionId.Length > 0)
        {
            worldId ??= await WorldOfAsync(request.ParentRegionId, cancellationToken).ConfigureAwait(false);
            if (worldId is null)
            {
                return new ListRegionsResponse();
            }

            index = StoreKeys.Children(worldId, request.ParentRegionId);
        }
        else
        {
            index = worldId is null ? StoreKeys.AllRegions : StoreKeys.WorldRegions(worldId);
        }

        var response = new ListRegionsResponse();
        string? lastExamined = after;
        var examined = 0;
        while (true)
        {
            var page = await _store.QueryIndexAsync(index, new StateIndexQuery { From = lastExamined, PageSize = Math.Min(StateKeys.MaxPageSize, pageSize + 1) }, cancellationToken).ConfigureAwait(false);
            var ids = page.Members.Where(m => m != lastExamined).ToList();
            if (ids.Count == 0)
            {
                return response;
            }

            List<string?> worlds = worldId is not null
                ? [.. ids.Select(_ => (string?)worldId)]
                : (await _store.GetManyAsync([.. ids.Select(StoreKeys.RegionDirectory)], cancellationToken).ConfigureAwait(false))
                    .Select(e => e is null ? null : RegionDirectoryRecord.Parser.ParseFrom(e.Value.Span).WorldId).ToList();
            var keys = ids.Select((id, i) => worlds[i] is { } w ? StoreKeys.Region(w, id) : null).ToList();
            var present = keys.Where(k => k is not null).Select(k => k!).ToList();
            var read = present.Count == 0 ? [] : await _store.GetManyAsync(present, cancellationToken).ConfigureAwait(false);
            var byKey = present.Zip(read).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
            for (var i = 0; i < ids.Count; i++)
            {
                examined++;
                lastExamined = ids[i];
                if (keys[i] is not { } key || byKey[key] is not { } entry)
                {
                    continue; // a directory entry without its region: being created or deleted
                }

                var region = RegionRecord.Parser.ParseFrom(entry.Value.Span).Region;
                if ((request.ParentRegionId.Length == 0 || region.ParentRegionId == request.ParentRegionId)
                    && (request.Tag.Length == 0 || region.Tags.Contains(request.Tag)))
                {
                    if (response.Regions.Count == pageSize)
                    {
                        response.NextPageToken = PageToken.Encode(filters, 0, response.Regions[^1].RegionId);
                        return response;
                    }

                    response.Regions.Add(region);
                }
            }

            if (page.NextPageToken is null)
            {
                return response;
            }

            // A sparse filter over a long index: answer a short page rather than scan it all in one call.
            if (examined >= 5 * StateKeys.MaxPageSize)
            {
                response.NextPageToken = PageToken.Encode(filters, 0, lastExamined!);
                return response;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateRegionResponse> UpdateRegionAsync(UpdateRegionRequest request, Grpc.Core.ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "UpdateRegion");
        Errors.Require(request.Region is not null, "region", "is required: region.region_id names the region, and the fields update_mask names hold the new values.");
        var given = request.Region!;
        var regionId = given.RegionId;
        Rules.RequireRegionId(regionId, "region.region_id");
        Rules.RequireExpectedVersion(request.ExpectedVersion);
        var (whole, keys) = Mask(request.UpdateMask, RegionPaths, "world_id", "region_id");
        var problems = new List<FieldProblem>();
        CheckRegionFields(given, problems, whole, keys);
        if (whole.Contains("parent_region_id") && given.ParentRegionId == regionId)
        {
            problems.Add(new("region.parent_region_id", $"'{regionId}' cannot be its own parent."));
        }

        Errors.Require(problems);
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);
        var newParent = whole.Contains("parent_region_id") ? given.ParentRegionId : null;
        return await ChangeWorldAsync(worldId, null, UpdateRegionResponse.Parser, async token =>
        {
            // The region, its parent now and its new parent with that one's ancestors: a cycle is checked on what the transaction requires unchanged.
            var regions = new List<string> { regionId };
            var current = await _store.GetAsync(StoreKeys.Region(worldId, regionId), token).ConfigureAwait(false);
            if (current is not null && RegionRecord.Parser.ParseFrom(current.Value.Span).Region.ParentRegionId is { Length: > 0 } oldParent)
            {
                regions.Add(oldParent);
            }

            for (var ancestor = newParent; !string.IsNullOrEmpty(ancestor) && !regions.Contains(ancestor) && regions.Count < MaxRegionDepth + 3;)
            {
                regions.Add(ancestor);
                var entry = await _store.GetAsync(StoreKeys.Region(worldId, ancestor), token).ConfigureAwait(false);
                ancestor = entry is null ? null : RegionRecord.Parser.ParseFrom(entry.Value.Span).Region.ParentRegionId;
            }

            return new WorldKeys(regions, [], []);
        }, (change, _) =>
        {
            var record = change.Region(regionId) ?? throw RegionNotFound(regionId);
            var region = record.Region;
            if (request.ExpectedVersion != 0 && request.ExpectedVersion != region.Version)
            {
                throw Errors.FailedPrecondition($"Region '{regionId}' is at version {region.Version}, not expected_version {request.ExpectedVersion}: another write came first. Read it again (GetRegion), merge and retry with expected_version {region.Version}; nothing was changed.");
            }

            if (whole.Contains("display_name") && region.DisplayName != given.DisplayName)
            {
                region.DisplayName = given.DisplayName;
                change.RegionFieldsChanged(regionId);
            }

            if (whole.Contains("bounds") && !Equals(region.Bounds, given.Bounds))
            {
                region.Bounds = given.Bounds?.Clone();
                change.RegionFieldsChanged(regionId);
            }

            if (whole.Contains("tags") && !region.Tags.SequenceEqual(given.Tags))
            {
                region.Tags.Clear();
                region.Tags.Add(given.Tags);
                change.RegionFieldsChanged(regionId);
            }

            if (whole.Contains("properties"))
            {
                ReplaceProperties(region.Properties, given.Properties, (key, old, value) => change.RecordRegionPropertyChange(regionId, key, old, value), () => change.RegionFieldsChanged(regionId));
            }

            foreach (var key in keys)
            {
                change.SetRegionProperty(regionId, key, given.Properties.TryGetValue(key, out var value) ? value : null);
            }

            if (region.Properties.Count > Rules.MaxRegionProperties)
            {
                throw Errors.InvalidArgument("region.properties", $"would hold {region.Properties.Count} properties after this update; a region holds at most {Rules.MaxRegionProperties}. Nothing was changed.");
            }

            if (newParent is not null && newParent != region.ParentRegionId)
            {
                if (newParent.Length > 0)
                {
                    if (change.Region(newParent) is null)
                    {
                        throw Errors.FailedPrecondition($"The parent region '{newParent}' does not exist in world '{worldId}' (a parent is in the same world); nothing was changed.");
                    }
                    var depth = 0;
                    for (var ancestor = newParent; ancestor.Length > 0; ancestor = change.Region(ancestor)?.Region.ParentRegionId ?? "")
                    {
                        if (ancestor == regionId)
                        {
                            throw Errors.FailedPrecondition($"Region '{newParent}' is inside '{regionId}', so it cannot become its parent (regions nest as a tree); nothing was changed.");
                        }

                        if (++depth > MaxRegionDepth)
                        {
                            throw Errors.FailedPrecondition($"Under '{newParent}', region '{regionId}' would nest more than {MaxRegionDepth} levels deep; nothing was changed.");
                        }
                    }

                    change.AdjustChildren(newParent, regionId, +1);
                }

                if (region.ParentRegionId.Length > 0)
                {
                    change.AdjustChildren(region.ParentRegionId, regionId, -1);
                }

                region.ParentRegionId = newParent;
                change.RegionFieldsChanged(regionId);
            }

            return new Plan<UpdateRegionResponse>(_ => new UpdateRegionResponse { Region = record.Region.Clone() });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteRegionResponse> DeleteRegionAsync(DeleteRegionRequest request, Grpc.Core.ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "DeleteRegion");
        Rules.RequireRegionId(request.RegionId, "region_id");
        Rules.RequireExpectedVersion(request.ExpectedVersion);
        var regionId = request.RegionId;
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false);
        if (worldId is null)
        {
            return request.AllowMissing ? new DeleteRegionResponse() : throw RegionNotFound(regionId);
        }

        // A forced delete removes the entities in steps of DeleteBatchSize (each a change its
        // watchers see), the last step with the region itself: a crash in between leaves a smaller
        // region, and the retry finishes the job.
        var deleted = 0;
        var expected = request.ExpectedVersion;
        while (true)
        {
            var members = await _store.QueryIndexAsync(StoreKeys.Entities(worldId, regionId), new StateIndexQuery { PageSize = DeleteBatchSize }, cancellationToken).ConfigureAwait(false);
            var batch = members.Members;
            var gone = false;
            var regionKeys = new List<string> { regionId };
            var current = await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false);
            if (current is not null && RegionRecord.Parser.ParseFrom(current.Value.Span).Region.ParentRegionId is { Length: > 0 } parent)
            {
                regionKeys.Add(parent);
            }

            var step = await ChangeWorldAsync(worldId, null, DeleteRegionResponse.Parser, _ => Keys(regionKeys, batch), (change, _) =>
            {
                var record = change.Region(regionId);
                if (record is null)
                {
                    gone = true;
                    return deleted > 0 || request.AllowMissing
                        ? new Plan<DeleteRegionResponse>(_ => new DeleteRegionResponse())
                        : throw RegionNotFound(regionId);
                }

                if (expected != 0 && expected != record.Region.Version)
                {
                    throw Errors.FailedPrecondition($"Region '{regionId}' is at version {record.Region.Version}, not expected_version {expected}; nothing was deleted.");
                }

                if (record.ChildCount > 0)
                {
                    throw Errors.FailedPrecondition($"Region '{regionId}' has {record.ChildCount} child region(s); delete them or give them another parent (UpdateRegion parent_region_id) first; force deletes entities, never regions. Nothing was deleted.");
                }

                if (record.EntityCount > 0 && !request.Force)
                {
                    throw Errors.FailedPrecondition($"Region '{regionId}' holds {record.EntityCount} entities; delete them first, or pass force to delete them with the region. Nothing was deleted.");
                }

                var removed = 0;
                foreach (var entityId in batch)
                {
                    if (change.Entity(entityId) is { } entity && entity.RegionId == regionId)
                    {
                        change.DeleteEntity(entityId);
                        removed++;
                    }
                }

                if (record.Region.ParentRegionId.Length > 0 && !regionKeys.Contains(record.Region.ParentRegionId))
                {
                    throw new StaleReadException();
                }

                gone = removed == record.EntityCount;
                if (gone)
                {
                    change.DeleteRegion(regionId);
                    if (record.Region.ParentRegionId.Length > 0)
                    {
                        change.AdjustChildren(record.Region.ParentRegionId, regionId, -1);
                    }
                }

                return new Plan<DeleteRegionResponse>(_ => new DeleteRegionResponse { DeletedEntityCount = removed });
            }, cancellationToken).ConfigureAwait(false);
            deleted += step.DeletedEntityCount;
            expected = 0;
            if (gone)
            {
                break;
            }
        }

        await ReleaseRegionIdAsync(regionId, worldId, cancellationToken).ConfigureAwait(false);
        LogRegionDeleted(_logger, regionId, worldId, deleted);
        return new DeleteRegionResponse { DeletedEntityCount = deleted };
    }

    /// <summary>
    /// Claims <paramref name="regionId"/> for <paramref name="worldId"/> in the directory (or finds it
    /// claimed for that world already, by a retry); ALREADY_EXISTS when another world has it.
    /// </summary>
    private async ValueTask ClaimRegionIdAsync(string regionId, string worldId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var key = StoreKeys.RegionDirectory(regionId);
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                var record = new RegionDirectoryRecord { WorldId = worldId, ClaimTime = Now() };
                var claimed = new StateTransaction().Set(key, record.ToByteArray(), expectedVersion: 0)
                    .IndexAdd(StoreKeys.AllRegions, regionId)
                    .IndexAdd(StoreKeys.Worlds, worldId);
                if ((await _store.ExecuteAsync(claimed, cancellationToken).ConfigureAwait(false)).Succeeded)
                {
                    return;
                }

                continue;
            }

            var existing = RegionDirectoryRecord.Parser.ParseFrom(entry.Value.Span);
            if (existing.WorldId == worldId)
            {
                return;
            }

            var other = await _store.GetAsync(StoreKeys.Region(existing.WorldId, regionId), cancellationToken).ConfigureAwait(false);
            if (other is not null || existing.ClaimTime.ToDateTimeOffset() + AbandonedClaimAge > _time.GetUtcNow())
            {
                throw Errors.AlreadyExists($"Region id '{regionId}' is taken in world '{existing.WorldId}' (region ids are unique across worlds); choose another region_id.");
            }

            // The claim of a creation that never finished: take it over.
            await _store.ExecuteAsync(new StateTransaction().Delete(key, entry.Version), cancellationToken).ConfigureAwait(false);
        }

        throw Errors.Contended($"Region id '{regionId}'");
    }

    /// <summary>Removes a deleted region's directory entry, unless the id was claimed again meanwhile.</summary>
    private async ValueTask ReleaseRegionIdAsync(string regionId, string worldId, CancellationToken cancellationToken)
    {
        var key = StoreKeys.RegionDirectory(regionId);
        var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry is null || RegionDirectoryRecord.Parser.ParseFrom(entry.Value.Span).WorldId != worldId
            || await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        await _store.ExecuteAsync(new StateTransaction().Delete(key, entry.Version).IndexRemove(StoreKeys.AllRegions, regionId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Problems of the writable fields of a region that <paramref name="whole"/> and <paramref name="keys"/> name.</summary>
    private static void CheckRegionFields(Region region, List<FieldProblem> problems, HashSet<string> whole, IReadOnlyList<string>? keys = null)
    {
        if (whole.Contains("display_name"))
        {
            Rules.CheckDisplayName(region.DisplayName, "region.display_name", problems);
        }

        if (whole.Contains("parent_region_id") && region.ParentRegionId.Length > 0 && !Rules.IsRegionId(region.ParentRegionId))
        {
            problems.Add(new("region.parent_region_id", Rules.RegionIdRule(region.ParentRegionId) + " Leave it empty for a top-level region."));
        }

        if (whole.Contains("bounds"))
        {
            Rules.CheckBounds(region.Bounds, "region.bounds", problems);
        }

        if (whole.Contains("properties"))
        {
            Rules.CheckProperties(region.Properties, Rules.MaxRegionProperties, "region.properties", problems);
        }

        foreach (var key in keys ?? [])
        {
            if (region.Properties.TryGetValue(key, out var value) && Rules.ValueProblem(value) is { } problem)
            {
                problems.Add(new($"region.properties[{key}]", problem));
            }
        }

        if (whole.Contains("tags"))
        {
            Rules.CheckTags(region.Tags, "region.tags", problems);
        }
    }

    /// <summary>
    /// The whole fields and single property keys an update_mask names. INVALID_ARGUMENT for an empty
    /// mask, an unknown path, an immutable or output-only field, or a path named with one of its keys.
    /// </summary>
    private static (HashSet<string> Whole, List<string> Keys) Mask(FieldMask? mask, HashSet<string> writable, params string[] immutable)
    {
        Errors.Require(mask is { Paths.Count: > 0 }, "update_mask", $"is required: name the fields to change ({string.Join(", ", writable.Order(StringComparer.Ordinal))}, or properties.<key> for one property).");
        var whole = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<string>();
        var problems = new List<FieldProblem>();
        for (var i = 0; i < mask!.Paths.Count; i++)
        {
            var path = mask.Paths[i];
            if (writable.Contains(path))
            {
                whole.Add(path);
            }
            else if (path.StartsWith("properties.", StringComparison.Ordinal) && Rules.IsPropertyKey(path["properties.".Length..]))
            {
                keys.Add(path["properties.".Length..]);
            }
            else if (immutable.Contains(path))
            {
                problems.Add(new($"update_mask.paths[{i}]", $"'{path}' cannot be changed by an update{(path == "region_id" ? "" : path == "world_id" ? ": a region stays in its world (create a new region instead)" : "")}."));
            }
            else if (path is "version" or "create_time" or "update_time")
            {
                problems.Add(new($"update_mask.paths[{i}]", $"'{path}' is output only; the service sets it."));
            }
            else
            {
                problems.Add(new($"update_mask.paths[{i}]", $"'{Rules.Shorten(path)}' is not a field an update writes: use {string.Join(", ", writable.Order(StringComparer.Ordinal))} or properties.<key> (a key of [a-zA-Z0-9._-], at most {Rules.MaxKeyLength} characters)."));
            }
        }

        if (whole.Contains("properties") && keys.Count > 0)
        {
            problems.Add(new("update_mask", $"names both 'properties' (replace them all) and 'properties.{keys[0]}' (one key); name one or the other."));
        }

        Errors.Require(problems);
        return (whole, [.. keys.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>Replaces <paramref name="target"/> with <paramref name="source"/>, reporting each key that changed.</summary>
    private static void ReplaceProperties(Google.Protobuf.Collections.MapField<string, TypedValue> target, Google.Protobuf.Collections.MapField<string, TypedValue> source, Action<string, TypedValue?, TypedValue?> changed, Action anyChange)
    {
        var any = false;
        foreach (var key in target.Keys.Union(source.Keys).Order(StringComparer.Ordinal).ToList())
        {
            var old = target.TryGetValue(key, out var was) ? was : null;
            var value = source.TryGetValue(key, out var now) ? now : null;
            if (Equals(old, value))
            {
                continue;
            }

            changed(key, old?.Clone(), value?.Clone());
            if (value is null)
            {
                target.Remove(key);
            }
            else
            {
                target[key] = value.Clone();
            }

            any = true;
        }

        if (any)
        {
            anyChange();
        }
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Region {RegionId} created in world {WorldId}")]
    private static partial void LogRegionCreated(ILogger logger, string regionId, string worldId);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Region {RegionId} of world {WorldId} deleted with {Entities} entities")]
    private static partial void LogRegionDeleted(ILogger logger, string regionId, string worldId, int entities);
}
