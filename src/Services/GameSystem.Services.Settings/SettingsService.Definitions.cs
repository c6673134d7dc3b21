using GameSystem.Mesh;
using GameSystem.Services.Settings.Internal;
using GameSystem.Settings.V1;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Settings;

/// <summary>Setting definitions and their global defaults, in the <c>{definitions}</c> partition.</summary>
public sealed partial class SettingsService
{
    private static readonly string[] DefinitionUpdatePaths = ["value_type", "default_value", "constraints", "player_overridable", "description", "category"];

    /// <inheritdoc/>
    public async ValueTask<CreateSettingDefinitionResponse> CreateSettingDefinitionAsync(CreateSettingDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "CreateSettingDefinition");
        Errors.Require(request.RequestId.Length > 0, "request_id", "is required: a client-chosen id (a UUID) that makes retries safe.");
        Errors.Require(request.Definition is not null, "definition", "is required: set at least key, value_type and default_value.");
        var definition = request.Definition!.Clone();
        definition.Version = 0;
        definition.UpdateTime = null;
        definition.Constraints ??= new SettingConstraints();
        Errors.Require(_rules.CheckDefinition(definition, "definition"));
        _rules.Check(definition, definition.DefaultValue, out var canonical);
        definition.DefaultValue = canonical;

        var key = definition.Key;
        var cancellationToken = context.CancellationToken;
        var claim = RetryClaim.For(request.RequestId, "CreateSettingDefinition", request, StoreKeys.DefinitionRequest)!;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.Definition(key)], cancellationToken).ConfigureAwait(false);
            if (claim.Answer(read[0], CreateSettingDefinitionResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (read[1] is not null)
            {
                throw Errors.AlreadyExists($"Setting '{key}' is already defined; GetSettingDefinition reads it and UpdateSettingDefinition changes it.");
            }

            var stamp = Now();
            definition.Version = 1;
            definition.UpdateTime = stamp;
            var record = new DefinitionRecord { Definition = definition, Incarnation = Guid.NewGuid().ToString("N") };
            var transaction = new StateTransaction().Set(StoreKeys.Definition(key), record.ToByteArray(), expectedVersion: 0);
            Reindex(transaction, null, definition);
            var response = new CreateSettingDefinitionResponse { Definition = definition };
            claim.Take(transaction, response);
            _outbox.Publish(transaction, ChangeEvents.DefaultChanged(key, SettingChangeType.Updated, null, definition.DefaultValue, stamp));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogDefinitionChanged(_logger, key, "created", 1);
                return response;
            }
        }

        throw Errors.Contended($"Setting '{key}'");
    }

    /// <inheritdoc/>
    public async ValueTask<GetSettingDefinitionResponse> GetSettingDefinitionAsync(GetSettingDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "GetSettingDefinition");
        ValidateKey(request.Key, "key");
        var stored = await _store.GetAsync(StoreKeys.Definition(request.Key), context.CancellationToken).ConfigureAwait(false) ?? throw NotDefined(request.Key);
        return new GetSettingDefinitionResponse { Definition = DefinitionRecord.Parser.ParseFrom(stored.Value.Span).Definition };
    }

    /// <inheritdoc/>
    public async ValueTask<ListSettingDefinitionsResponse> ListSettingDefinitionsAsync(ListSettingDefinitionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListSettingDefinitions");
        var pageSize = PageCursor.Size(request.PageSize, defaultSize: 100, max: 500);
        Errors.Require(request.KeyPrefix.Length == 0 || SettingRules.IsValidKeyPrefix(request.KeyPrefix), "key_prefix", $"'{request.KeyPrefix}' is not the start of a key: lower-case letters, digits, '_' and '.', such as 'audio.'.");
        Errors.Require(SettingRules.IsValidCategory(request.Category), "category", $"'{request.Category}' is not a category: a lower_snake word such as 'audio'.");
        var listing = $"definitions|{request.KeyPrefix}|{request.Category}|{request.PlayerOverridableOnly}";
        var after = PageCursor.Resume(request.PageToken, listing);

        // The narrowest index that answers the filters; only overridable-within-a-category is filtered after reading.
        var (index, prefix) = request.Category.Length > 0 ? (StoreKeys.CategoryKeys, StoreKeys.CategoryMember(request.Category, request.KeyPrefix))
            : request.PlayerOverridableOnly ? (StoreKeys.OverridableKeys, request.KeyPrefix)
            : (StoreKeys.AllKeys, request.KeyPrefix);
        var walk = new IndexWalk(_store, index, prefix.Length > 0 ? [prefix] : [], after);
        var filterOverridable = request.Category.Length > 0 && request.PlayerOverridableOnly;
        var (items, resumeAfter) = await PageAsync<SettingDefinition>(
            walk,
            pageSize,
            async (members, cancellationToken) =>
            {
                var keys = members.Select(m => index == StoreKeys.CategoryKeys ? m[(m.IndexOf('/', StringComparison.Ordinal) + 1)..] : m).ToList();
                var (definitions, _) = await ReadAsync("", keys, cancellationToken).ConfigureAwait(false);
                return definitions.Select(d => d is not null && (!filterOverridable || d.Definition.PlayerOverridable) ? d.Definition : null).ToList();
            },
            context.CancellationToken).ConfigureAwait(false);
        var response = new ListSettingDefinitionsResponse { NextPageToken = resumeAfter is null ? "" : PageCursor.After(listing, resumeAfter) };
        response.Definitions.AddRange(items);
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateSettingDefinitionResponse> UpdateSettingDefinitionAsync(UpdateSettingDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "UpdateSettingDefinition");
        Errors.Require(request.Definition is not null, "definition", "is required: set definition.key and the fields named in update_mask.");
        var changes = request.Definition!;
        var key = changes.Key;
        ValidateKey(key, "definition.key");
        var allowed = string.Join(", ", DefinitionUpdatePaths);
        Errors.Require(request.UpdateMask is { Paths.Count: > 0 }, "update_mask", $"is required: name the fields to change ({allowed}).");
        var paths = request.UpdateMask!.Paths.ToHashSet(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            Errors.Require(DefinitionUpdatePaths.Contains(path), "update_mask", path == "key"
                ? "cannot name 'key': a setting's key is immutable; define a new setting instead."
                : $"path '{path}' cannot be updated; the paths are {allowed}.");
        }

        Errors.Require(request.ExpectedVersion > 0, "expected_version", "is required: the definition's version as last read (GetSettingDefinition), so a concurrent change is not overwritten.");
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var stored = await _store.GetAsync(StoreKeys.Definition(key), cancellationToken).ConfigureAwait(false) ?? throw NotDefined(key);
            var record = DefinitionRecord.Parser.ParseFrom(stored.Value.Span);
            var current = record.Definition;
            Errors.CheckVersion($"Setting '{key}'", "expected_version", request.ExpectedVersion, current.Version);
            var next = current.Clone();
            if (paths.Contains("value_type"))
            {
                next.ValueType = changes.ValueType;
            }

            if (paths.Contains("default_value"))
            {
                next.DefaultValue = changes.DefaultValue?.Clone();
            }

            if (paths.Contains("constraints"))
            {
                next.Constraints = changes.Constraints?.Clone() ?? new SettingConstraints();
            }

            if (paths.Contains("player_overridable"))
            {
                next.PlayerOverridable = changes.PlayerOverridable;
            }

            if (paths.Contains("description"))
            {
                next.Description = changes.Description;
            }

            if (paths.Contains("category"))
            {
                next.Category = changes.Category;
            }

            Errors.Require(_rules.CheckDefinition(next, "definition"));
            _rules.Check(next, next.DefaultValue, out var canonical);
            next.DefaultValue = canonical;
            if (next.Equals(current))
            {
                return new UpdateSettingDefinitionResponse { Definition = current };
            }

            next.Version = current.Version + 1;
            next.UpdateTime = Now();
            var updated = new DefinitionRecord(record) { Definition = next };
            var rulesChanged = next.ValueType != current.ValueType || !next.Constraints.Equals(current.Constraints);
            var invalid = rulesChanged ? await InvalidOverridesAsync(updated, cancellationToken).ConfigureAwait(false) : [];
            if (invalid.Count > 0 && !request.ResetInvalidOverrides)
            {
                throw Errors.FailedPrecondition(
                    $"{invalid.Count} stored override(s) of '{key}' would break the new definition (player '{invalid[0].PlayerId}': {invalid[0].Problem}); " +
                    "set reset_invalid_overrides to delete them with the update, or choose rules they satisfy.");
            }

            var transaction = new StateTransaction().Set(StoreKeys.Definition(key), updated.ToByteArray(), stored.Version);
            Reindex(transaction, current, next);
            _outbox.Publish(transaction, ChangeEvents.DefaultChanged(key, SettingChangeType.Updated, current.DefaultValue, next.DefaultValue, next.UpdateTime));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogDefinitionChanged(_logger, key, "updated", next.Version);

                // The overrides stopped applying with this commit (reads check them); deleting them is the clean-up.
                var reset = invalid.Count > 0 ? await ResetOverridesAsync(updated, invalid, cancellationToken).ConfigureAwait(false) : 0;
                return new UpdateSettingDefinitionResponse { Definition = next, ResetOverrideCount = reset };
            }
        }

        throw Errors.Contended($"Setting '{key}'");
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteSettingDefinitionResponse> DeleteSettingDefinitionAsync(DeleteSettingDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "DeleteSettingDefinition");
        ValidateKey(request.Key, "key");
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is 0 (any version) or the version to delete at; got {request.ExpectedVersion}.");
        var key = request.Key;
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var stored = await _store.GetAsync(StoreKeys.Definition(key), cancellationToken).ConfigureAwait(false);
            if (stored is null)
            {
                return request.ExpectedVersion == 0 ? new DeleteSettingDefinitionResponse { Deleted = false } : throw NotDefined(key);
            }

            var record = DefinitionRecord.Parser.ParseFrom(stored.Value.Span);
            var current = record.Definition;
            Errors.CheckVersion($"Setting '{key}'", "expected_version", request.ExpectedVersion == 0 ? null : request.ExpectedVersion, current.Version);
            var transaction = new StateTransaction().Delete(StoreKeys.Definition(key), stored.Version);
            Reindex(transaction, current, null);
            _outbox.Publish(transaction, ChangeEvents.DefaultChanged(key, SettingChangeType.Deleted, current.DefaultValue, null, Now()));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogDefinitionChanged(_logger, key, "deleted", current.Version);
                await PurgeOverridesAsync(key, record.Incarnation, cancellationToken).ConfigureAwait(false);
                return new DeleteSettingDefinitionResponse { Deleted = true };
            }
        }

        throw Errors.Contended($"Setting '{key}'");
    }

    /// <summary>Moves a definition's index entries from <paramref name="before"/> to <paramref name="after"/> (either may be null).</summary>
    private static void Reindex(StateTransaction transaction, SettingDefinition? before, SettingDefinition? after)
    {
        var key = (after ?? before)!.Key;
        if (before is null)
        {
            transaction.IndexAdd(StoreKeys.AllKeys, key);
        }
        else if (after is null)
        {
            transaction.IndexRemove(StoreKeys.AllKeys, key);
        }

        var wasOverridable = before?.PlayerOverridable ?? false;
        var isOverridable = after?.PlayerOverridable ?? false;
        if (wasOverridable != isOverridable)
        {
            _ = isOverridable ? transaction.IndexAdd(StoreKeys.OverridableKeys, key) : transaction.IndexRemove(StoreKeys.OverridableKeys, key);
        }

        var oldCategory = before?.Category ?? "";
        var newCategory = after?.Category ?? "";
        if (oldCategory != newCategory)
        {
            if (oldCategory.Length > 0)
            {
                transaction.IndexRemove(StoreKeys.CategoryKeys, StoreKeys.CategoryMember(oldCategory, key));
            }

            if (newCategory.Length > 0)
            {
                transaction.IndexAdd(StoreKeys.CategoryKeys, StoreKeys.CategoryMember(newCategory, key));
            }
        }
    }

    /// <summary>The stored overrides of <paramref name="record"/>'s incarnation that its rules reject, with why.</summary>
    private async ValueTask<List<(string PlayerId, string Problem)>> InvalidOverridesAsync(DefinitionRecord record, CancellationToken cancellationToken)
    {
        var key = record.Definition.Key;
        var invalid = new List<(string, string)>();
        var walk = new IndexWalk(_store, StoreKeys.Overriders(key), [], null);
        while (await walk.NextAsync(500, cancellationToken).ConfigureAwait(false) is { Count: > 0 } players)
        {
            var read = await _store.GetManyAsync([.. players.Select(p => StoreKeys.Override(p, key))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < players.Count; i++)
            {
                if (read[i] is { } stored && OverrideRecord.Parser.ParseFrom(stored.Value.Span) is var held
                    && held.Incarnation == record.Incarnation && _rules.Check(record.Definition, held.Value, out _) is { } problem)
                {
                    invalid.Add((players[i], problem));
                }
            }
        }

        return invalid;
    }

    /// <summary>Deletes the overrides <paramref name="record"/>'s rules reject, each with its event; returns how many it deleted.</summary>
    private async ValueTask<int> ResetOverridesAsync(DefinitionRecord record, List<(string PlayerId, string Problem)> invalid, CancellationToken cancellationToken)
    {
        var key = record.Definition.Key;
        var deleted = 0;
        foreach (var (playerId, _) in invalid)
        {
            for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
            {
                var read = await _store.GetManyAsync([StoreKeys.PlayerRevisionKey(playerId), StoreKeys.Override(playerId, key)], cancellationToken).ConfigureAwait(false);
                if (read[1] is not { } stored || OverrideRecord.Parser.ParseFrom(stored.Value.Span) is var held && (held.Incarnation != record.Incarnation || _rules.Check(record.Definition, held.Value, out _) is null))
                {
                    break; // cleared or rewritten (validly) meanwhile
                }

                var transaction = PlayerChange(playerId, read[0], out _)
                    .Delete(StoreKeys.Override(playerId, key))
                    .IndexRemove(StoreKeys.PlayerKeys(playerId), key);
                _outbox.Publish(transaction, ChangeEvents.OverrideChanged(playerId, key, held.Value, null, Now()));
                if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
                {
                    deleted++;
                    await _store.ExecuteAsync(new StateTransaction().IndexRemove(StoreKeys.Overriders(key), playerId), cancellationToken).ConfigureAwait(false);
                    break;
                }
            }
        }

        LogOverridesReset(_logger, key, deleted);
        return deleted;
    }

    /// <summary>
    /// Deletes the overrides of a deleted definition (incarnation <paramref name="incarnation"/>)
    /// and empties its overriders index. Reads ignore such overrides already, so an interruption
    /// leaves only unreachable records, which the key's next definition never applies.
    /// </summary>
    private async ValueTask PurgeOverridesAsync(string key, string incarnation, CancellationToken cancellationToken)
    {
        var purged = 0;
        while (await _store.QueryIndexAsync(StoreKeys.Overriders(key), new StateIndexQuery { PageSize = 200 }, cancellationToken).ConfigureAwait(false) is { Members.Count: > 0 } page)
        {
            var players = page.Members;
            var read = await _store.GetManyAsync([.. players.Select(p => StoreKeys.Override(p, key)), .. players.Select(StoreKeys.PlayerRevisionKey)], cancellationToken).ConfigureAwait(false);
            var deletes = new List<Task<StateTransactionResult>>();
            for (var i = 0; i < players.Count; i++)
            {
                if (read[i] is { } stored && OverrideRecord.Parser.ParseFrom(stored.Value.Span).Incarnation == incarnation)
                {
                    var transaction = PlayerChange(players[i], read[players.Count + i], out _)
                        .Delete(StoreKeys.Override(players[i], key))
                        .IndexRemove(StoreKeys.PlayerKeys(players[i]), key);
                    deletes.Add(_store.ExecuteAsync(transaction, cancellationToken).AsTask());
                }
            }

            // A player who wrote meanwhile moved their revision: that override (of a definition
            // that is gone) stays behind, ignored like any other leftover.
            purged += (await Task.WhenAll(deletes).ConfigureAwait(false)).Count(r => r.Succeeded);
            var unindex = new StateTransaction();
            foreach (var member in page.Members)
            {
                unindex.IndexRemove(StoreKeys.Overriders(key), member);
            }

            await _store.ExecuteAsync(unindex, cancellationToken).ConfigureAwait(false);
        }

        LogOverridesPurged(_logger, key, purged);
    }

    /// <summary>
    /// One page of a listing: reads <paramref name="walk"/>'s members in chunks, keeps those
    /// <paramref name="read"/> returns an item for, and stops at <paramref name="pageSize"/> items
    /// or after examining <see cref="ScanLimit"/> members (a shorter page with a token, as AIP-158
    /// allows, rather than reading a whole index for a filter that matches little).
    /// </summary>
    /// <returns>The items and the member to resume after; null on the last page.</returns>
    private static async ValueTask<(List<T> Items, string? ResumeAfter)> PageAsync<T>(
        IndexWalk walk,
        int pageSize,
        Func<IReadOnlyList<string>, CancellationToken, ValueTask<IReadOnlyList<T?>>> read,
        CancellationToken cancellationToken)
        where T : class
    {
        var items = new List<T>(pageSize);
        string? last = null;
        var examined = 0;
        while (examined < ScanLimit)
        {
            var members = await walk.NextAsync(Math.Clamp(pageSize - items.Count + 1, 1, 500), cancellationToken).ConfigureAwait(false);
            if (members.Count == 0)
            {
                return (items, null);
            }

            var values = await read(members, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < members.Count; i++)
            {
                if (items.Count == pageSize)
                {
                    return (items, last); // members[i] is still to come
                }

                examined++;
                last = members[i];
                if (values[i] is { } value)
                {
                    items.Add(value);
                }
            }
        }

        return (items, last);
    }

    /// <summary>The most index members one listing call examines.</summary>
    private const int ScanLimit = 5000;

    private static RpcException NotDefined(string key) =>
        Errors.NotFound($"Setting '{key}' is not defined; ListSettingDefinitions shows the defined settings and CreateSettingDefinition defines one.");

    [LoggerMessage(EventId = 2410, Level = LogLevel.Information, Message = "Setting {Key} {Change}, definition version {Version}")]
    private static partial void LogDefinitionChanged(ILogger logger, string key, string change, long version);

    [LoggerMessage(EventId = 2411, Level = LogLevel.Information, Message = "Setting {Key}: reset {Count} overrides the new definition rejects")]
    private static partial void LogOverridesReset(ILogger logger, string key, int count);

    [LoggerMessage(EventId = 2412, Level = LogLevel.Information, Message = "Setting {Key}: purged {Count} overrides of the deleted definition")]
    private static partial void LogOverridesPurged(ILogger logger, string key, int count);
}
