using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.Settings.Internal;
using GameSystem.Settings.V1;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Settings;

/// <summary>Effective values and player overrides, each player's in their <c>{player:&lt;id&gt;}</c> partition.</summary>
public sealed partial class SettingsService
{
    private const int MaxBatchChanges = 100;

    /// <inheritdoc/>
    public async ValueTask<GetEffectiveSettingResponse> GetEffectiveSettingAsync(GetEffectiveSettingRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidatePlayer(request.PlayerId, required: false);
        ValidateKey(request.Key, "key");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: false, "GetEffectiveSetting");
        var (definitions, overrides) = await ReadAsync(request.PlayerId, [request.Key], context.CancellationToken).ConfigureAwait(false);
        var definition = definitions[0] ?? throw NotDefined(request.Key);
        return new GetEffectiveSettingResponse { Setting = Resolve(definition, request.PlayerId, overrides[0]) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListEffectiveSettingsResponse> ListEffectiveSettingsAsync(ListEffectiveSettingsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidatePlayer(request.PlayerId, required: false);
        var prefixes = ValidatePrefixes(request.KeyPrefixes);
        var pageSize = PageCursor.Size(request.PageSize, defaultSize: 200, max: 1000);
        Errors.Require(!request.OverridesOnly || request.PlayerId.Length > 0, "overrides_only", "needs a player_id: the global defaults have no overrides.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: false, "ListEffectiveSettings");
        var listing = $"effective|{request.PlayerId}|{string.Join(',', prefixes.Order(StringComparer.Ordinal))}|{request.OverridesOnly}";
        var after = PageCursor.Resume(request.PageToken, listing);
        var (items, resumeAfter) = await EffectivePageAsync(request.PlayerId, prefixes, request.OverridesOnly, after, pageSize, context.CancellationToken).ConfigureAwait(false);
        var response = new ListEffectiveSettingsResponse { NextPageToken = resumeAfter is null ? "" : PageCursor.After(listing, resumeAfter) };
        response.Settings.AddRange(items);
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<SetPlayerSettingResponse> SetPlayerSettingAsync(SetPlayerSettingRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidatePlayer(request.PlayerId, required: true);
        ValidateKey(request.Key, "key");
        Errors.Require(request.Value is { KindCase: not TypedValue.KindOneofCase.None }, "value", "is required: the new value, of the setting's value_type (ClearPlayerSetting removes an override).");
        Errors.Require(!request.HasExpectedVersion || request.ExpectedVersion >= 0, "expected_version", $"is the override's version as last read, 0 for none; got {request.ExpectedVersion}.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: true, "SetPlayerSetting");
        var change = new Change("", request.Key, request.Value, request.HasExpectedVersion ? request.ExpectedVersion : null);
        var claim = request.ValidateOnly ? null : RetryClaim.For(request.RequestId, "SetPlayerSetting", request, (rpc, id) => StoreKeys.PlayerRequest(request.PlayerId, rpc, id));
        return await ApplyAsync(request.PlayerId, [change], request.ValidateOnly, claim, SetPlayerSettingResponse.Parser, s => new SetPlayerSettingResponse { Setting = s[0] }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<BatchSetPlayerSettingsResponse> BatchSetPlayerSettingsAsync(BatchSetPlayerSettingsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidatePlayer(request.PlayerId, required: true);
        Errors.Require(request.Changes.Count is > 0 and <= MaxBatchChanges, "changes", $"holds 1-{MaxBatchChanges} changes; got {request.Changes.Count}.");
        var problems = new List<FieldProblem>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var changes = new List<Change>(request.Changes.Count);
        for (var i = 0; i < request.Changes.Count; i++)
        {
            var field = $"changes[{i}].";
            var entry = request.Changes[i];
            if (!SettingRules.IsValidKey(entry.Key))
            {
                problems.Add(new(field + "key", SettingRules.KeyRule(field + "key", entry.Key)[(field.Length + 4)..]));
            }
            else if (seen.TryGetValue(entry.Key, out var first))
            {
                problems.Add(new(field + "key", $"'{entry.Key}' is already changed by changes[{first}]; change each key once per batch."));
            }
            else
            {
                seen[entry.Key] = i;
            }

            if (entry.HasExpectedVersion && entry.ExpectedVersion < 0)
            {
                problems.Add(new(field + "expected_version", $"is the override's version as last read, 0 for none; got {entry.ExpectedVersion}."));
            }

            var value = entry.Value is { KindCase: not TypedValue.KindOneofCase.None } ? entry.Value : null;
            changes.Add(new Change(field, entry.Key, value, entry.HasExpectedVersion ? entry.ExpectedVersion : null));
        }

        Errors.Require(problems);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: true, "BatchSetPlayerSettings");
        var claim = request.ValidateOnly ? null : RetryClaim.For(request.RequestId, "BatchSetPlayerSettings", request, (rpc, id) => StoreKeys.PlayerRequest(request.PlayerId, rpc, id));
        return await ApplyAsync(request.PlayerId, changes, request.ValidateOnly, claim, BatchSetPlayerSettingsResponse.Parser, s => new BatchSetPlayerSettingsResponse { Settings = { s } }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<ClearPlayerSettingResponse> ClearPlayerSettingAsync(ClearPlayerSettingRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidatePlayer(request.PlayerId, required: true);
        ValidateKey(request.Key, "key");
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is 0 (any version) or the override's version as last read; got {request.ExpectedVersion}.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: true, "ClearPlayerSetting");
        var change = new Change("", request.Key, null, request.ExpectedVersion == 0 ? null : request.ExpectedVersion);
        return await ApplyAsync(request.PlayerId, [change], validateOnly: false, claim: null, ClearPlayerSettingResponse.Parser, s => new ClearPlayerSettingResponse { Setting = s[0] }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Validates <paramref name="changes"/> of one player and applies them as one transaction of
    /// the player's partition (with their request id and events), or applies none.
    /// </summary>
    private async ValueTask<TResponse> ApplyAsync<TResponse>(
        string playerId,
        IReadOnlyList<Change> changes,
        bool validateOnly,
        RetryClaim? claim,
        MessageParser<TResponse> parser,
        Func<List<EffectiveSetting>, TResponse> respond,
        CancellationToken cancellationToken)
        where TResponse : class, IMessage<TResponse>
    {
        var keys = changes.Select(c => c.Key).ToList();
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var control = await _store.GetManyAsync(claim is null ? [StoreKeys.PlayerRevisionKey(playerId)] : [StoreKeys.PlayerRevisionKey(playerId), claim.Key], cancellationToken).ConfigureAwait(false);
            if (claim?.Answer(control[1], parser) is { } answer)
            {
                return answer;
            }

            var (definitions, overrides) = await ReadAsync(playerId, keys, cancellationToken).ConfigureAwait(false);
            var values = Validate(changes, definitions);

            var transaction = PlayerChange(playerId, control[0], out var revision);
            var stamp = Now();
            var results = new List<EffectiveSetting>(changes.Count);
            var newOverriders = new List<string>();
            var writes = 0;
            for (var i = 0; i < changes.Count; i++)
            {
                var (change, definition) = (changes[i], definitions[i]!);
                var held = ApplicableOverride(definition, overrides[i]);
                Errors.CheckVersion($"Player '{playerId}''s override of '{change.Key}'", change.Field + "expected_version", change.ExpectedVersion, held?.Version ?? 0);
                if (values[i] is not { } value)
                {
                    results.Add(Resolve(definition, "", null));
                    if (held is not null)
                    {
                        transaction.Delete(StoreKeys.Override(playerId, change.Key)).IndexRemove(StoreKeys.PlayerKeys(playerId), change.Key);
                        _outbox.Publish(transaction, ChangeEvents.OverrideChanged(playerId, change.Key, held.Value, null, stamp));
                        writes++;
                    }

                    continue;
                }

                if (held is not null && held.Value.Equals(value))
                {
                    results.Add(Resolve(definition, playerId, overrides[i]));
                    continue; // the same value again: nothing to store
                }

                var written = new OverrideRecord { Value = value, Incarnation = definition.Incarnation, UpdateTime = stamp, Version = revision };
                transaction.Set(StoreKeys.Override(playerId, change.Key), written.ToByteArray()).IndexAdd(StoreKeys.PlayerKeys(playerId), change.Key);
                _outbox.Publish(transaction, ChangeEvents.OverrideChanged(playerId, change.Key, held?.Value, value, stamp));
                results.Add(new EffectiveSetting
                {
                    Key = change.Key,
                    Value = value,
                    Source = SettingSource.PlayerOverride,
                    OverrideVersion = revision,
                    DefinitionVersion = definition.Definition.Version,
                    UpdateTime = stamp,
                });
                if (held is null)
                {
                    newOverriders.Add(change.Key);
                }

                writes++;
            }

            var response = respond(results);
            if (validateOnly || writes == 0)
            {
                return response;
            }

            // The overriders index is a superset, so its entries go in before the overrides do.
            await Task.WhenAll(newOverriders.Select(k => _store.ExecuteAsync(new StateTransaction().IndexAdd(StoreKeys.Overriders(k), playerId), cancellationToken).AsTask())).ConfigureAwait(false);
            claim?.Take(transaction, response);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogOverridesChanged(_logger, playerId, writes, revision);
                return response;
            }
        }

        throw Errors.Contended($"Player '{playerId}''s settings");
    }

    /// <summary>
    /// The stored form of each change's value (null: clear), after checking every change against
    /// its definition: NOT_FOUND for an undefined key, FAILED_PRECONDITION for a setting players
    /// may not override, INVALID_ARGUMENT naming every value that breaks a rule.
    /// </summary>
    private TypedValue?[] Validate(IReadOnlyList<Change> changes, DefinitionRecord?[] definitions)
    {
        var undefined = changes.Where((_, i) => definitions[i] is null).ToList();
        if (undefined.Count > 0)
        {
            throw undefined.Count == 1 && changes.Count == 1
                ? NotDefined(undefined[0].Key)
                : Errors.NotFound($"Not defined: {string.Join(", ", undefined.Select(c => $"{c.Field}key '{c.Key}'"))}; nothing was changed. ListSettingDefinitions shows the defined settings.");
        }

        var fixedOnes = changes.Where((c, i) => c.Value is not null && !definitions[i]!.Definition.PlayerOverridable).ToList();
        if (fixedOnes.Count > 0)
        {
            throw Errors.FailedPrecondition($"Players may not override {string.Join(", ", fixedOnes.Select(c => $"'{c.Key}'{(c.Field.Length > 0 ? $" ({c.Field}key)" : "")}"))}: the definition is not player_overridable; nothing was changed.");
        }

        var problems = new List<FieldProblem>();
        var values = new TypedValue?[changes.Count];
        for (var i = 0; i < changes.Count; i++)
        {
            if (changes[i].Value is not { } value)
            {
                continue;
            }

            if (_rules.Check(definitions[i]!.Definition, value, out var canonical) is { } problem)
            {
                problems.Add(new(changes[i].Field + "value", problem));
            }

            values[i] = canonical;
        }

        Errors.Require(problems);
        return values;
    }

    /// <summary>One page of effective settings, in key order, after <paramref name="after"/>.</summary>
    private async ValueTask<(List<EffectiveSetting> Items, string? ResumeAfter)> EffectivePageAsync(string playerId, List<string> prefixes, bool overridesOnly, string? after, int pageSize, CancellationToken cancellationToken)
    {
        var walk = new IndexWalk(_store, overridesOnly ? StoreKeys.PlayerKeys(playerId) : StoreKeys.AllKeys, prefixes, after);
        return await PageAsync<EffectiveSetting>(
            walk,
            pageSize,
            async (keys, token) =>
            {
                var (definitions, overrides) = await ReadAsync(playerId, keys, token).ConfigureAwait(false);
                var settings = new EffectiveSetting?[keys.Count];
                for (var i = 0; i < keys.Count; i++)
                {
                    if (definitions[i] is { } definition && Resolve(definition, playerId, overrides[i]) is var effective
                        && (!overridesOnly || effective.Source == SettingSource.PlayerOverride))
                    {
                        settings[i] = effective;
                    }
                }

                return settings;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A transaction of <paramref name="playerId"/>'s partition: requires the revision read (so
    /// everything checked on what was read still holds when it applies) and moves it on to <paramref name="revision"/>.
    /// </summary>
    private static StateTransaction PlayerChange(string playerId, StateEntry? revisionRead, out long revision)
    {
        revision = (revisionRead is null ? 0 : PlayerRevision.Parser.ParseFrom(revisionRead.Value.Span).Revision) + 1;
        return new StateTransaction().Set(StoreKeys.PlayerRevisionKey(playerId), new PlayerRevision { Revision = revision }.ToByteArray(), revisionRead?.Version ?? 0);
    }

    [LoggerMessage(EventId = 2420, Level = LogLevel.Debug, Message = "Player {PlayerId}: {Count} overrides changed, revision {Revision}")]
    private static partial void LogOverridesChanged(ILogger logger, string playerId, int count, long revision);

    /// <summary>One override change: a value to set, or null to clear; <see cref="Field"/> prefixes the request fields it came from.</summary>
    private sealed record Change(string Field, string Key, TypedValue? Value, long? ExpectedVersion);
}
