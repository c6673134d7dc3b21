using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.StateManager.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.StateManager;

/// <summary>Named checkpoints and the rollback to one: state, inventory and experience return in one transaction.</summary>
public sealed partial class StateManagerService
{
    /// <summary>AUTO checkpoints kept per player; the oldest beyond are pruned when a new one is taken.</summary>
    internal const int MaxAutoCheckpoints = 10;

    /// <summary>Checkpoints a player may hold in all; one more is RESOURCE_EXHAUSTED (AUTO ones are pruned instead).</summary>
    internal const int MaxCheckpoints = 100;

    private const int MaxCheckpointDescriptionLength = 2000;

    /// <inheritdoc/>
    public async ValueTask<CreateCheckpointResponse> CreateCheckpointAsync(CreateCheckpointRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Ids.RequireCheckpoint(request.CheckpointId, "checkpoint_id");
        Ids.RequireRequestId(request.RequestId, required: true);
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is 0 (whatever the current version is) or the version the checkpoint must capture; got {request.ExpectedVersion}.");
        var given = request.Checkpoint ?? new Checkpoint();
        var problems = new List<FieldProblem>();
        if (given.DisplayName.Length > MaxDisplayNameLength || given.DisplayName.Any(char.IsControl))
        {
            problems.Add(new("checkpoint.display_name", $"is a label such as 'Before the dragon', at most {MaxDisplayNameLength} characters without control characters; got {given.DisplayName.Length}."));
        }

        if (given.Description.Length > MaxCheckpointDescriptionLength)
        {
            problems.Add(new("checkpoint.description", $"is at most {MaxCheckpointDescriptionLength} characters; got {given.Description.Length}."));
        }

        if (!System.Enum.IsDefined(given.Kind))
        {
            problems.Add(new("checkpoint.kind", $"{(int)given.Kind} is not a CheckpointKind: use CHECKPOINT_KIND_MANUAL, _AUTO or _SYSTEM."));
        }

        Errors.Require(problems);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Write, "CreateCheckpoint");

        var playerId = request.PlayerId;
        var kind = given.Kind == CheckpointKind.Unspecified ? CheckpointKind.Manual : given.Kind;
        var claim = RetryClaim.For(playerId, request.RequestId, "CreateCheckpoint", request, _options.RequestRetention);
        var key = StoreKeys.Checkpoint(playerId, request.CheckpointId);
        var held = await AllMembersAsync(StoreKeys.Checkpoints(playerId), context.CancellationToken).ConfigureAwait(false);
        var autos = kind == CheckpointKind.Auto ? await AllMembersAsync(StoreKeys.CheckpointsOfKind(playerId, CheckpointKind.Auto), context.CancellationToken).ConfigureAwait(false) : [];
        return await ChangeAsync(playerId, claim, CreateCheckpointResponse.Parser, [key], (current, extras, now) =>
        {
            if (current is null)
            {
                throw Errors.FailedPrecondition($"Player '{playerId}' has no state to checkpoint; save it first (SavePlayerState).");
            }

            if (request.ExpectedVersion != 0 && request.ExpectedVersion != current.Version)
            {
                throw Errors.FailedPrecondition($"Player '{playerId}''s state is at version {current.Version}, not expected_version {request.ExpectedVersion}; no checkpoint was taken. Pass 0 to capture whatever is current.");
            }

            var existing = extras[0] is { } entry ? Checkpoint.Parser.ParseFrom(entry.Value.Span) : null;
            if (existing is not null && !request.AllowOverwrite)
            {
                throw Errors.AlreadyExists($"Player '{playerId}' already has checkpoint '{request.CheckpointId}' (\"{existing.DisplayName}\", version {existing.StateVersion}); pass allow_overwrite to replace it (a quick-save slot) or choose another checkpoint_id.");
            }

            if (existing is null && kind != CheckpointKind.Auto && held.Count >= MaxCheckpoints)
            {
                throw Errors.ResourceExhausted($"Player '{playerId}' holds {held.Count} checkpoints, the most a player may; delete one (DeleteCheckpoint) or overwrite one (allow_overwrite).");
            }

            var checkpoint = new Checkpoint
            {
                Name = Ids.CheckpointName(playerId, request.CheckpointId),
                DisplayName = given.DisplayName,
                Description = given.Description,
                Kind = kind,
                StateVersion = current.Version,
                Snapshot = Present(current.Clone()),
                CreateTime = now,
            };
            var member = CheckpointMember(checkpoint, request.CheckpointId);
            return new Plan<CreateCheckpointResponse>(null, new CreateCheckpointResponse { Checkpoint = checkpoint }, [], transaction =>
            {
                transaction.Set(key, checkpoint.ToByteArray(), expectedVersion: extras[0]?.Version ?? 0);
                if (existing is not null)
                {
                    var old = CheckpointMember(existing, request.CheckpointId);
                    transaction.IndexRemove(StoreKeys.Checkpoints(playerId), old).IndexRemove(StoreKeys.CheckpointsOfKind(playerId, existing.Kind), old);
                }

                transaction.IndexAdd(StoreKeys.Checkpoints(playerId), member).IndexAdd(StoreKeys.CheckpointsOfKind(playerId, kind), member);
                var others = autos.Where(a => MemberId(a) != request.CheckpointId).ToList();
                foreach (var pruned in others.Take(Math.Max(0, others.Count + 1 - MaxAutoCheckpoints)))
                {
                    transaction.Delete(StoreKeys.Checkpoint(playerId, MemberId(pruned)))
                        .IndexRemove(StoreKeys.Checkpoints(playerId), pruned)
                        .IndexRemove(StoreKeys.CheckpointsOfKind(playerId, CheckpointKind.Auto), pruned);
                }
            });
        }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetCheckpointResponse> GetCheckpointAsync(GetCheckpointRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (playerId, checkpointId) = Ids.ParseCheckpointName(request.Name);
        Access.RequirePlayer(context.GetPrincipal(), playerId, PlayerRight.Read, "GetCheckpoint");
        var stored = await _store.GetAsync(StoreKeys.Checkpoint(playerId, checkpointId), context.CancellationToken).ConfigureAwait(false)
            ?? throw CheckpointNotFound(playerId, checkpointId);
        var checkpoint = Checkpoint.Parser.ParseFrom(stored.Value.Span);
        Present(checkpoint.Snapshot);
        return new GetCheckpointResponse { Checkpoint = checkpoint };
    }

    /// <inheritdoc/>
    public async ValueTask<ListCheckpointsResponse> ListCheckpointsAsync(ListCheckpointsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        var pageSize = PageCursor.Size(request.PageSize, defaultSize: 20, max: 100);
        Errors.Require(System.Enum.IsDefined(request.Kind), "kind", $"{(int)request.Kind} is not a CheckpointKind: use CHECKPOINT_KIND_MANUAL, _AUTO, _SYSTEM, or UNSPECIFIED for all.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Read, "ListCheckpoints");
        var index = request.Kind == CheckpointKind.Unspecified ? StoreKeys.Checkpoints(request.PlayerId) : StoreKeys.CheckpointsOfKind(request.PlayerId, request.Kind);
        var (page, next) = await PageAsync(index, new StateIndexQuery { Descending = true, PageSize = pageSize }, $"checkpoints|{request.PlayerId}|{(int)request.Kind}", request.PageToken, context.CancellationToken).ConfigureAwait(false);
        var response = new ListCheckpointsResponse { NextPageToken = next };
        if (page.Members.Count > 0)
        {
            var read = await _store.GetManyAsync([.. page.Members.Select(m => StoreKeys.Checkpoint(request.PlayerId, MemberId(m)))], context.CancellationToken).ConfigureAwait(false);
            foreach (var entry in read)
            {
                if (entry is null)
                {
                    continue; // deleted between the index read and this one
                }

                var checkpoint = Checkpoint.Parser.ParseFrom(entry.Value.Span);
                if (request.IncludeSnapshot)
                {
                    Present(checkpoint.Snapshot);
                }
                else
                {
                    checkpoint.Snapshot = null;
                }

                response.Checkpoints.Add(checkpoint);
            }
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteCheckpointResponse> DeleteCheckpointAsync(DeleteCheckpointRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (playerId, checkpointId) = Ids.ParseCheckpointName(request.Name);
        Access.RequirePlayer(context.GetPrincipal(), playerId, PlayerRight.Write, "DeleteCheckpoint");
        var key = StoreKeys.Checkpoint(playerId, checkpointId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var stored = await _store.GetAsync(key, context.CancellationToken).ConfigureAwait(false);
            if (stored is null)
            {
                return request.AllowMissing ? new DeleteCheckpointResponse { Name = request.Name } : throw CheckpointNotFound(playerId, checkpointId);
            }

            var checkpoint = Checkpoint.Parser.ParseFrom(stored.Value.Span);
            var member = CheckpointMember(checkpoint, checkpointId);
            var transaction = new StateTransaction().Delete(key, stored.Version)
                .IndexRemove(StoreKeys.Checkpoints(playerId), member)
                .IndexRemove(StoreKeys.CheckpointsOfKind(playerId, checkpoint.Kind), member);
            if ((await _store.ExecuteAsync(transaction, context.CancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return new DeleteCheckpointResponse { Name = request.Name };
            }
        }

        throw Errors.Contended($"Checkpoint '{request.Name}'");
    }

    /// <inheritdoc/>
    public async ValueTask<RollbackToCheckpointResponse> RollbackToCheckpointAsync(RollbackToCheckpointRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (playerId, checkpointId) = Ids.ParseCheckpointName(request.Name);
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is 0 (whatever the current version is) or the player's current version; got {request.ExpectedVersion}.");
        Ids.RequireRequestId(request.RequestId, required: true);
        Access.RequirePlayer(context.GetPrincipal(), playerId, PlayerRight.Write, "RollbackToCheckpoint");
        var claim = RetryClaim.For(playerId, request.RequestId, "RollbackToCheckpoint", request, _options.RequestRetention);
        return await ChangeAsync(playerId, claim, RollbackToCheckpointResponse.Parser, [StoreKeys.Checkpoint(playerId, checkpointId)], (current, extras, now) =>
        {
            var checkpoint = extras[0] is { } entry ? Checkpoint.Parser.ParseFrom(entry.Value.Span) : throw CheckpointNotFound(playerId, checkpointId);
            var replaced = current?.Version ?? 0;
            if (request.ExpectedVersion != 0 && request.ExpectedVersion != replaced)
            {
                throw Errors.FailedPrecondition($"Player '{playerId}''s state is at version {replaced}, not expected_version {request.ExpectedVersion}; nothing was rolled back. Reload and confirm, or pass 0 to roll back whatever is current.");
            }

            // The restore is the next version: the snapshot's attributes, location, save data,
            // inventory and experience, with the history and create time of the player.
            var next = checkpoint.Snapshot.Clone();
            next.PlayerId = playerId;
            next.Version = replaced + 1;
            next.CreateTime = current?.CreateTime ?? checkpoint.Snapshot.CreateTime;
            next.UpdateTime = now;
            next.Inventory ??= new Inventory();
            next.Inventory.PlayerId = playerId;
            next.Inventory.StateVersion = next.Version;
            Present(next);

            var events = new List<DomainEvent>
            {
                StateEvents.RolledBack(new PlayerStateRolledBack { PlayerId = playerId, Checkpoint = checkpoint.Name, Version = next.Version, ReplacedVersion = replaced, RollbackTime = now }),
            };
            var (gained, lost) = InventoryRules.Difference(current?.Inventory?.Slots ?? [], next.Inventory.Slots);
            if (gained.Count > 0 || lost.Count > 0)
            {
                var changed = new InventoryChanged { PlayerId = playerId, Reason = "rollback:" + checkpointId, StateVersion = next.Version };
                changed.Added.AddRange(gained);
                changed.Removed.AddRange(lost);
                events.Add(StateEvents.InventoryChanged(changed, now));
            }

            return new Plan<RollbackToCheckpointResponse>(next, new RollbackToCheckpointResponse { State = next, ReplacedVersion = replaced }, events);
        }, context.CancellationToken).ConfigureAwait(false);
    }

    private static string CheckpointMember(Checkpoint checkpoint, string checkpointId) =>
        StateIndex.SortableTime(checkpoint.CreateTime.ToDateTimeOffset()) + "/" + checkpointId;

    private static RpcException CheckpointNotFound(string playerId, string checkpointId) =>
        Errors.NotFound($"Player '{playerId}' has no checkpoint '{checkpointId}'; ListCheckpoints shows theirs.");
}
