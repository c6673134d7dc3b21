using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.StateManager.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.StateManager;

/// <summary>Player-state snapshots: load, save with an expected version, delete.</summary>
public sealed partial class StateManagerService
{
    private const int MaxAttributes = 1000;
    private const int MaxSaveDataBytes = 1024 * 1024;
    private const int MaxSaveDataFormatLength = 64;
    private static readonly string[] SavePaths = ["attributes", "location", "save_data", "save_data_format"];

    /// <inheritdoc/>
    public async ValueTask<GetPlayerStateResponse> GetPlayerStateAsync(GetPlayerStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Errors.Require(request.Version >= 0, "version", $"is 0 for the latest version or a version number (1 or more); got {request.Version}.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Read, "GetPlayerState");
        var current = await _store.GetAsync(StoreKeys.Current(request.PlayerId), context.CancellationToken).ConfigureAwait(false)
            ?? throw Errors.NotFound($"Player '{request.PlayerId}' has no state: they never saved (SavePlayerState with expected_version 0 makes the first version) and received no item or experience.");
        var state = PlayerState.Parser.ParseFrom(current.Value.Span);
        if (request.Version == 0 || request.Version == state.Version)
        {
            return new GetPlayerStateResponse { State = Present(state) };
        }

        if (request.Version > state.Version)
        {
            throw Errors.NotFound($"Player '{request.PlayerId}' has no version {request.Version}: the latest is {state.Version}.");
        }

        var oldest = Math.Max(1, state.Version - RetainedVersions + 1);
        var stored = request.Version >= oldest ? await _store.GetAsync(StoreKeys.Version(request.PlayerId, request.Version), context.CancellationToken).ConfigureAwait(false) : null;
        return stored is null
            ? throw Errors.NotFound($"Version {request.Version} of player '{request.PlayerId}' is no longer retained: only the last {RetainedVersions} versions ({oldest}-{state.Version}) are; a checkpoint keeps a version for good.")
            : new GetPlayerStateResponse { State = Present(PlayerState.Parser.ParseFrom(stored.Value.Span)) };
    }

    /// <inheritdoc/>
    public async ValueTask<SavePlayerStateResponse> SavePlayerStateAsync(SavePlayerStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Errors.Require(request.State is not null, "state", "is required: the new values of the fields update_mask names (attributes, location, save_data, save_data_format).");
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is the version the save is based on, 0 for the first save; got {request.ExpectedVersion}.");
        Errors.Require(request.State!.PlayerId.Length == 0 || request.State.PlayerId == request.PlayerId, "state.player_id", $"'{request.State.PlayerId}' differs from player_id '{request.PlayerId}'; leave it empty or the same.");
        Ids.RequireRequestId(request.RequestId, required: false);
        var (whole, keys) = SaveMask(request.UpdateMask);
        Errors.Require(CheckSaved(request.State, whole, keys));
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Write, "SavePlayerState");

        var claim = RetryClaim.For(request.PlayerId, request.RequestId, "SavePlayerState", request, _options.RequestRetention);
        return await ChangeAsync(request.PlayerId, claim, SavePlayerStateResponse.Parser, [], (current, _, now) =>
        {
            var at = current?.Version ?? 0;
            if (at != request.ExpectedVersion)
            {
                throw Errors.FailedPrecondition(at == 0
                    ? $"Player '{request.PlayerId}' has no state yet, so expected_version must be 0, not {request.ExpectedVersion}; nothing was saved."
                    : $"Player '{request.PlayerId}''s state is at version {at}, not expected_version {request.ExpectedVersion}: another write came first. Reload it (GetPlayerState), merge and save again with expected_version {at}; nothing was saved.");
            }

            var next = NextVersion(request.PlayerId, current, now);
            var given = request.State;
            if (whole.Contains("attributes"))
            {
                next.Attributes.Clear();
                next.Attributes.Add(given.Attributes);
            }

            foreach (var key in keys)
            {
                if (given.Attributes.TryGetValue(key, out var value))
                {
                    next.Attributes[key] = value;
                }
                else
                {
                    next.Attributes.Remove(key);
                }
            }

            if (next.Attributes.Count > MaxAttributes)
            {
                throw Errors.InvalidArgument("state.attributes", $"would hold {next.Attributes.Count} keys after this save; a player state holds at most {MaxAttributes}. Remove keys (name 'attributes.<key>' in update_mask and leave it out of state) first; nothing was saved.");
            }

            if (whole.Contains("location"))
            {
                next.Location = given.Location;
            }

            if (whole.Contains("save_data"))
            {
                next.SaveData = given.SaveData;
            }

            if (whole.Contains("save_data_format"))
            {
                next.SaveDataFormat = given.SaveDataFormat;
            }

            var mask = new FieldMask();
            mask.Paths.AddRange(whole.Order(StringComparer.Ordinal));
            mask.Paths.AddRange(keys.Select(k => "attributes." + k));
            var saved = new PlayerStateSaved { PlayerId = request.PlayerId, Version = next.Version, UpdateMask = mask, SaveTime = now };
            return new Plan<SavePlayerStateResponse>(next, new SavePlayerStateResponse { State = next }, [StateEvents.Saved(saved)]);
        }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<DeletePlayerStateResponse> DeletePlayerStateAsync(DeletePlayerStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Grant, "DeletePlayerState");
        var playerId = request.PlayerId;
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.Current(playerId), StoreKeys.ActiveSession(playerId)], cancellationToken).ConfigureAwait(false);
            var checkpoints = await AllMembersAsync(StoreKeys.Checkpoints(playerId), cancellationToken).ConfigureAwait(false);
            var sessions = await AllMembersAsync(StoreKeys.Sessions(playerId), cancellationToken).ConfigureAwait(false);
            if (read[0] is null && checkpoints.Count == 0 && sessions.Count == 0)
            {
                return request.AllowMissing
                    ? new DeletePlayerStateResponse()
                    : throw Errors.NotFound($"Player '{playerId}' has no data to delete (no state, checkpoints or sessions); pass allow_missing to treat that as success.");
            }

            // One transaction: the player is gone entirely or not at all. The request-id claims
            // stay until they expire, so a late retry of a grant answers its first result instead
            // of bringing the player back.
            var transaction = new StateTransaction()
                .Require(StoreKeys.Current(playerId), read[0]?.Version ?? 0)
                .Delete(StoreKeys.ActiveSession(playerId), read[1]?.Version ?? 0);
            if (read[0] is { } entry)
            {
                var version = PlayerState.Parser.ParseFrom(entry.Value.Span).Version;
                transaction.Delete(StoreKeys.Current(playerId));
                for (var v = Math.Max(1, version - RetainedVersions + 1); v <= version; v++)
                {
                    transaction.Delete(StoreKeys.Version(playerId, v));
                }
            }

            foreach (var member in checkpoints)
            {
                var id = MemberId(member);
                transaction.Delete(StoreKeys.Checkpoint(playerId, id)).IndexRemove(StoreKeys.Checkpoints(playerId), member);
            }

            foreach (var kind in CheckpointKinds)
            {
                foreach (var member in await AllMembersAsync(StoreKeys.CheckpointsOfKind(playerId, kind), cancellationToken).ConfigureAwait(false))
                {
                    transaction.IndexRemove(StoreKeys.CheckpointsOfKind(playerId, kind), member);
                }
            }

            foreach (var member in sessions)
            {
                transaction.Delete(StoreKeys.Session(playerId, MemberId(member))).IndexRemove(StoreKeys.Sessions(playerId), member);
            }

            var result = await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogDeleted(_logger, playerId, checkpoints.Count, sessions.Count);
                return new DeletePlayerStateResponse { DeletedCheckpointCount = checkpoints.Count };
            }
        }

        throw Errors.Contended($"Player '{playerId}''s data");
    }

    private static readonly CheckpointKind[] CheckpointKinds = [CheckpointKind.Manual, CheckpointKind.Auto, CheckpointKind.System];

    /// <summary>The id at the end of an index member <c>&lt;sortable time&gt;/&lt;id&gt;</c>.</summary>
    private static string MemberId(string member) => member[(member.LastIndexOf('/') + 1)..];

    /// <summary>Every member of a small, bounded index (a player's checkpoints or sessions).</summary>
    private async ValueTask<List<string>> AllMembersAsync(string index, CancellationToken cancellationToken)
    {
        var members = new List<string>();
        string? token = null;
        do
        {
            var page = await _store.QueryIndexAsync(index, new StateIndexQuery { PageSize = StateKeys.MaxPageSize, PageToken = token }, cancellationToken).ConfigureAwait(false);
            members.AddRange(page.Members);
            token = page.NextPageToken;
        }
        while (token is not null);
        return members;
    }

    /// <summary>The top-level fields and the single attribute keys a save's update_mask names (empty: all four fields).</summary>
    private static (HashSet<string> Whole, List<string> Keys) SaveMask(FieldMask? mask)
    {
        var whole = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<string>();
        if (mask is null || mask.Paths.Count == 0)
        {
            whole.UnionWith(SavePaths);
            return (whole, keys);
        }

        var problems = new List<FieldProblem>();
        for (var i = 0; i < mask.Paths.Count; i++)
        {
            var path = mask.Paths[i];
            if (SavePaths.Contains(path))
            {
                whole.Add(path);
            }
            else if (path.StartsWith("attributes.", StringComparison.Ordinal) && path["attributes.".Length..] is var key && Ids.IsAttributeKey(key))
            {
                keys.Add(key);
            }
            else
            {
                problems.Add(new($"update_mask.paths[{i}]", $"'{path}' is not a field a save writes: use attributes, location, save_data, save_data_format or attributes.<key> (a key of [a-zA-Z0-9._-], at most {Ids.MaxAttributeKeyLength} characters)."));
            }
        }

        if (whole.Contains("attributes") && keys.Count > 0)
        {
            problems.Add(new("update_mask", $"names both 'attributes' (replace them all) and 'attributes.{keys[0]}' (one key); name one or the other."));
        }

        Errors.Require(problems);
        return (whole, [.. keys.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>What is wrong with the fields of <paramref name="state"/> a save writes.</summary>
    private static List<FieldProblem> CheckSaved(PlayerState state, HashSet<string> whole, List<string> keys)
    {
        var problems = new List<FieldProblem>();
        var attributes = whole.Contains("attributes") ? [.. state.Attributes.Keys] : keys.Where(state.Attributes.ContainsKey).ToList();
        if (whole.Contains("attributes") && state.Attributes.Count > MaxAttributes)
        {
            problems.Add(new("state.attributes", $"holds {state.Attributes.Count} keys; a player state holds at most {MaxAttributes}."));
        }

        foreach (var key in attributes)
        {
            if (!Ids.IsAttributeKey(key))
            {
                problems.Add(new($"state.attributes[{key}]", Ids.AttributeKeyRule(key)));
            }
            else if (state.Attributes[key] is not { KindCase: not TypedValue.KindOneofCase.None })
            {
                problems.Add(new($"state.attributes[{key}]", "has no value; to remove an attribute name 'attributes.<key>' in update_mask and leave the key out of state."));
            }
        }

        if (whole.Contains("location") && state.Location is { } location)
        {
            if (location.WorldId.Length > 0)
            {
                try
                {
                    Ids.RequireWorld(location.WorldId, "state.location.world_id");
                }
                catch (RpcException e)
                {
                    problems.Add(new("state.location.world_id", e.Status.Detail["state.location.world_id: ".Length..]));
                }
            }

            if (location.RegionId.Length > 128)
            {
                problems.Add(new("state.location.region_id", $"is at most 128 characters; got {location.RegionId.Length}."));
            }

            if (location.Position is { } p && !(double.IsFinite(p.X) && double.IsFinite(p.Y) && double.IsFinite(p.Z)))
            {
                problems.Add(new("state.location.position", $"must be finite; got ({p.X}, {p.Y}, {p.Z})."));
            }

            if (!double.IsFinite(location.HeadingDegrees) || location.HeadingDegrees is < 0 or > 360)
            {
                problems.Add(new("state.location.heading_degrees", $"is 0-360 degrees clockwise from north; got {location.HeadingDegrees}."));
            }
        }

        if (whole.Contains("save_data") && state.SaveData.Length > MaxSaveDataBytes)
        {
            problems.Add(new("state.save_data", $"is at most 1 MiB ({MaxSaveDataBytes} bytes); got {state.SaveData.Length}. Keep large assets out of the save blob."));
        }

        if (whole.Contains("save_data_format") && (state.SaveDataFormat.Length > MaxSaveDataFormatLength || state.SaveDataFormat.Any(char.IsControl)))
        {
            problems.Add(new("state.save_data_format", $"is a format tag such as 'client-save/3': at most {MaxSaveDataFormatLength} characters without control characters."));
        }

        return problems;
    }

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 2601, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Player {PlayerId}: all data deleted ({Checkpoints} checkpoints, {Sessions} sessions)")]
    private static partial void LogDeleted(Microsoft.Extensions.Logging.ILogger logger, string playerId, int checkpoints, int sessions);
}
