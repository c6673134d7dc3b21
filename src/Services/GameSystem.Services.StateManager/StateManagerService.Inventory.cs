using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.StateManager.Internal;
using GameSystem.StateManager.V1;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace GameSystem.Services.StateManager;

/// <summary>Inventories and experience: atomic deltas, each deduplicated by its request id.</summary>
public sealed partial class StateManagerService
{
    private const int MaxStacksPerRequest = 100;
    private const int MaxQuantity = 1_000_000;
    private const long MaxGrant = 1_000_000_000;

    /// <inheritdoc/>
    public async ValueTask<GetInventoryResponse> GetInventoryAsync(GetInventoryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Read, "GetInventory");
        var current = await _store.GetAsync(StoreKeys.Current(request.PlayerId), context.CancellationToken).ConfigureAwait(false);
        var state = current is null ? null : PlayerState.Parser.ParseFrom(current.Value.Span);
        return new GetInventoryResponse { Inventory = InventoryOf(request.PlayerId, state) };
    }

    /// <inheritdoc/>
    public async ValueTask<AddItemsResponse> AddItemsAsync(AddItemsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        CheckStacks(request.Items, "add");
        Ids.RequireRequestId(request.RequestId, required: true);
        Ids.RequireReason(request.Reason);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Grant, "AddItems");
        var limits = await StackLimitsAsync(request.Items, context.CancellationToken).ConfigureAwait(false);
        var claim = RetryClaim.For(request.PlayerId, request.RequestId, "AddItems", request, _options.RequestRetention);
        return await ChangeAsync(request.PlayerId, claim, AddItemsResponse.Parser, [], (current, _, now) =>
        {
            var held = current?.Inventory?.Slots ?? [];
            var outcome = InventoryRules.Add(held, _options.SlotCapacity, request.Items, limits);
            if (outcome.Rejected.Count > 0 && !request.AllowPartial)
            {
                var occupied = held.Count;
                var detail = string.Join(", ", outcome.Rejected.Select(r => $"{r.Quantity} of '{r.ItemId}' (at most {limits[r.ItemId]} a slot)"));
                throw Errors.ResourceExhausted($"The items do not fit in player '{request.PlayerId}''s inventory ({occupied} of {_options.SlotCapacity} slots occupied): {detail} would be left over; nothing was added. Free slots first (RemoveItems), or pass allow_partial to add what fits.");
            }

            if (outcome.Added.Count == 0)
            {
                var unchanged = new AddItemsResponse { Inventory = InventoryOf(request.PlayerId, current) };
                unchanged.Rejected.AddRange(outcome.Rejected);
                return new Plan<AddItemsResponse>(null, unchanged, []);
            }

            var next = NextVersion(request.PlayerId, current, now);
            next.Inventory.Slots.Clear();
            next.Inventory.Slots.AddRange(outcome.Slots);
            var response = new AddItemsResponse { Inventory = next.Inventory };
            response.Added.AddRange(outcome.Added);
            response.Rejected.AddRange(outcome.Rejected);
            var changed = new InventoryChanged { PlayerId = request.PlayerId, RequestId = request.RequestId, Reason = request.Reason, StateVersion = next.Version };
            changed.Added.AddRange(outcome.Added);
            return new Plan<AddItemsResponse>(next, response, [StateEvents.InventoryChanged(changed, now)]);
        }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<RemoveItemsResponse> RemoveItemsAsync(RemoveItemsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        CheckStacks(request.Items, "remove");
        Ids.RequireRequestId(request.RequestId, required: true);
        Ids.RequireReason(request.Reason);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Grant, "RemoveItems");
        var claim = RetryClaim.For(request.PlayerId, request.RequestId, "RemoveItems", request, _options.RequestRetention);
        return await ChangeAsync(request.PlayerId, claim, RemoveItemsResponse.Parser, [], (current, _, now) =>
        {
            var slots = InventoryRules.Remove(current?.Inventory?.Slots ?? [], request.Items, out var shortfalls)
                ?? throw Errors.FailedPrecondition($"Player '{request.PlayerId}' holds fewer items than requested: {string.Join("; ", shortfalls)}. Nothing was removed.");
            var next = NextVersion(request.PlayerId, current, now);
            next.Inventory.Slots.Clear();
            next.Inventory.Slots.AddRange(slots);
            var changed = new InventoryChanged { PlayerId = request.PlayerId, RequestId = request.RequestId, Reason = request.Reason, StateVersion = next.Version };
            changed.Removed.AddRange(InventoryRules.Totals(request.Items).Select(t => new ItemStack { ItemId = t.Key, Quantity = (int)t.Value }));
            return new Plan<RemoveItemsResponse>(next, new RemoveItemsResponse { Inventory = next.Inventory }, [StateEvents.InventoryChanged(changed, now)]);
        }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GrantExperienceResponse> GrantExperienceAsync(GrantExperienceRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Ids.RequirePlayer(request.PlayerId);
        Errors.Require(request.Amount is > 0 and <= MaxGrant, "amount", $"is the experience to add, 1-{MaxGrant}; got {request.Amount}. Experience is never taken away (a rollback restores an earlier total).");
        Ids.RequireRequestId(request.RequestId, required: true);
        Ids.RequireReason(request.Reason);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, PlayerRight.Grant, "GrantExperience");
        var claim = RetryClaim.For(request.PlayerId, request.RequestId, "GrantExperience", request, _options.RequestRetention);
        return await ChangeAsync(request.PlayerId, claim, GrantExperienceResponse.Parser, [], (current, _, now) =>
        {
            var before = current?.Experience ?? 0;
            if (before > State.StateKeys.MaxCounter - request.Amount)
            {
                throw Errors.OutOfRange($"Player '{request.PlayerId}' has {before} experience; adding {request.Amount} would pass the maximum {State.StateKeys.MaxCounter}. Nothing was granted.");
            }

            var next = NextVersion(request.PlayerId, current, now);
            var levelBefore = _levels.LevelOf(before);
            next.Experience = before + request.Amount;
            Present(next);
            return new Plan<GrantExperienceResponse>(next, new GrantExperienceResponse
            {
                Experience = next.Experience,
                StateVersion = next.Version,
                Level = next.Level,
                LevelsGained = next.Level - levelBefore,
                NextLevelExperience = _levels.NextThreshold(next.Level),
            }, []);
        }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>The inventory of a state (an empty one, version 0, when the player has none).</summary>
    private Inventory InventoryOf(string playerId, PlayerState? state) => state is null
        ? new Inventory { PlayerId = playerId, SlotCapacity = _options.SlotCapacity }
        : Present(state.Clone()).Inventory;

    /// <summary>INVALID_ARGUMENT naming every stack of a request that is not 1-1,000,000 of a well-formed item id.</summary>
    private static void CheckStacks(RepeatedField<ItemStack> items, string verb)
    {
        Errors.Require(items.Count is > 0 and <= MaxStacksPerRequest, "items", $"holds 1-{MaxStacksPerRequest} stacks to {verb}; got {items.Count}.");
        var problems = new List<FieldProblem>();
        for (var i = 0; i < items.Count; i++)
        {
            if (!Ids.IsItem(items[i].ItemId))
            {
                problems.Add(new($"items[{i}].item_id", Ids.ItemRule(items[i].ItemId)));
            }

            if (items[i].Quantity is < 1 or > MaxQuantity)
            {
                problems.Add(new($"items[{i}].quantity", $"is the number of items to {verb}, 1-{MaxQuantity}; got {items[i].Quantity}."));
            }
        }

        Errors.Require(problems);
    }

    /// <summary>The stack limit of every item of a request; FAILED_PRECONDITION naming the items without a definition.</summary>
    private async ValueTask<Dictionary<string, int>> StackLimitsAsync(RepeatedField<ItemStack> items, CancellationToken cancellationToken)
    {
        var ids = items.Select(i => i.ItemId).Distinct(StringComparer.Ordinal).ToList();
        var read = await _store.GetManyAsync([.. ids.Select(StoreKeys.Item)], cancellationToken).ConfigureAwait(false);
        var missing = ids.Where((_, i) => read[i] is null).ToList();
        if (missing.Count > 0)
        {
            throw Errors.FailedPrecondition($"No item definition for {string.Join(", ", missing.Select(m => $"'{m}'"))}: define each item first (PutItemDefinition, scope '{Access.AdminScope}'); nothing was added.");
        }

        return ids.Select((id, i) => (id, ItemDefinition.Parser.ParseFrom(read[i]!.Value.Span).MaxStackSize)).ToDictionary(p => p.id, p => p.MaxStackSize, StringComparer.Ordinal);
    }
}
