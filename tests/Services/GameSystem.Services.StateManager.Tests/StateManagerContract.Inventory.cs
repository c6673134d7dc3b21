using GameSystem.Common.V1;
using GameSystem.StateManager.V1;
using Grpc.Core;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>Inventories and experience: stack limits, capacity, all-or-nothing deltas, retries that apply once.</summary>
public abstract partial class StateManagerContract
{
    [Fact(Timeout = 60_000)]
    public async Task AddItems_FillsStacksToTheirLimitBeforeOpeningSlots_AndRemoveItemsTakesFromTheHighestSlotFirst()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();

        var first = await AddAsync(harness.Client, player, NewRequestId(), Stack("item.potion.minor-healing", 15), Stack("item.sword.iron", 2));
        Assert.Equal([(0, "item.potion.minor-healing", 15), (1, "item.sword.iron", 1), (2, "item.sword.iron", 1)], first.Inventory.Slots.Select(s => (s.SlotIndex, s.Stack.ItemId, s.Stack.Quantity)));
        Assert.Equal([Stack("item.potion.minor-healing", 15), Stack("item.sword.iron", 2)], first.Added);
        Assert.Empty(first.Rejected);

        // 15 + 30 potions at 20 a slot: slot 0 tops up to 20, then slot 3 takes 20 and slot 4 the last 5.
        var second = await AddAsync(harness.Client, player, NewRequestId(), Stack("item.potion.minor-healing", 30));
        Assert.Equal([(0, 20), (3, 20), (4, 5)], second.Inventory.Slots.Where(s => s.Stack.ItemId == "item.potion.minor-healing").Select(s => (s.SlotIndex, s.Stack.Quantity)));
        Assert.Equal(2, second.Inventory.StateVersion);

        var afterRemove = await RemoveAsync(harness.Client, player, NewRequestId(), Stack("item.potion.minor-healing", 8), Stack("item.sword.iron", 1));
        Assert.Equal([(0, "item.potion.minor-healing", 20), (1, "item.sword.iron", 1), (3, "item.potion.minor-healing", 17)], afterRemove.Slots.Select(s => (s.SlotIndex, s.Stack.ItemId, s.Stack.Quantity)));
        Assert.Equal(afterRemove, await InventoryAsync(harness.Client, player));

        var state = await StateAsync(harness.Client, player);
        Assert.Equal((3L, afterRemove), (state.Version, state.Inventory));
        var changes = (await harness.EventsAsync(player, Timeout)).Where(e => e.Type == "state.inventory.changed").Select(e => InventoryChanged.Parser.ParseFrom(e.Payload)).ToList();
        Assert.Equal([1L, 2L, 3L], changes.Select(c => c.StateVersion));
        Assert.Equal([Stack("item.potion.minor-healing", 8), Stack("item.sword.iron", 1)], changes[2].Removed);
        Assert.Equal(("loot:test", "crafted:test"), (changes[0].Reason, changes[2].Reason));
    }

    [Fact(Timeout = 60_000)]
    public async Task AddItems_ThatDoNotFit_AreResourceExhausted_AndAddNothing_UnlessPartialIsAllowed()
    {
        await using var harness = await StartAsync(options: StateManagerOptions.Default with { SlotCapacity = 4 });
        var player = NewPlayer();
        await AddAsync(harness.Client, player, NewRequestId(), Stack("item.ammo.arrow", 150), Stack("item.shield.oak", 1));

        // One slot is free: the bread takes it, and the 3 swords (which do not stack) find none.
        await FailsAsync(StatusCode.ResourceExhausted, () => AddAsync(harness.Client, player, NewRequestId(), Stack("item.food.bread", 4), Stack("item.sword.iron", 3)), "3 of 4 slots occupied", "3 of 'item.sword.iron' (at most 1 a slot)", "nothing was added");
        var unchanged = await InventoryAsync(harness.Client, player);
        Assert.Equal((1L, 3), (unchanged.StateVersion, unchanged.Slots.Count));

        var partial = await harness.Client.AddItemsAsync(new AddItemsRequest { PlayerId = player, RequestId = NewRequestId(), AllowPartial = true, Items = { Stack("item.ammo.arrow", 60), Stack("item.sword.iron", 3) } }, cancellationToken: Timeout);
        Assert.Equal([Stack("item.ammo.arrow", 60)], partial.Added);
        Assert.Equal([Stack("item.sword.iron", 3)], partial.Rejected);
        Assert.Equal([99, 99, 12], partial.Inventory.Slots.Where(s => s.Stack.ItemId == "item.ammo.arrow").Select(s => s.Stack.Quantity));
        Assert.All(partial.Inventory.Slots, s => Assert.InRange(s.Stack.Quantity, 1, MaxStackOf(s.Stack.ItemId)));
    }

    [Fact(Timeout = 60_000)]
    public async Task AddItems_RetriedWithTheSameRequestId_AppliesOnce_AndTheIdReusedForAnotherRequestIsInvalid()
    {
        await using var harness = await StartAsync(instances: 2);
        var player = NewPlayer();
        var key = $"quest:{player}:q-7:1";
        var request = new AddItemsRequest { PlayerId = player, RequestId = key, Items = { Stack("item.quest.dragon-scale", 3), Stack("item.currency.ruby", 250) }, Reason = "quest-reward:q-7" };

        // The first call and its retries race over two instances, as a quest-system retry after a timeout would.
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => harness.ClientAs(harness.Service, i % 2).AddItemsAsync(request, cancellationToken: Timeout).AsTask()));

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        var inventory = await InventoryAsync(harness.Client, player);
        Assert.Equal(new Dictionary<string, long> { ["item.quest.dragon-scale"] = 3, ["item.currency.ruby"] = 250 }, Totals(inventory));
        Assert.Equal(1, inventory.StateVersion);
        Assert.Single(await harness.EventsAsync(player, Timeout), e => e.Type == "state.inventory.changed");

        var other = request.Clone();
        other.Items[0].Quantity = 4;
        var error = await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.AddItemsAsync(other, cancellationToken: Timeout).AsTask(), key, "different AddItems request");
        Assert.Equal(["request_id"], Violations(error));
    }

    [Fact(Timeout = 60_000)]
    public async Task AddItems_WithBadInput_IsRefusedPrecisely_AndAddsNothing()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        Task Add(string playerId, string requestId, params ItemStack[] items) => AddAsync(harness.Client, playerId, requestId, items);

        Assert.Equal(["items[0].quantity"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, NewRequestId(), Stack("item.potion.mana", -3)), "1-1000000", "got -3")));
        Assert.Equal(["items[1].quantity"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, NewRequestId(), Stack("item.potion.mana", 1), Stack("item.food.bread", 0)), "got 0")));
        Assert.Equal(["items[0].item_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, NewRequestId(), Stack("", 1)), "is required")));
        Assert.Equal(["items"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, NewRequestId()), "is required by")));
        Assert.Equal(["items"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, NewRequestId(), [.. Enumerable.Repeat(Stack("item.potion.mana", 1), 101)]), "1-100 stacks", "got 101")));
        Assert.Equal(["request_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, "", Stack("item.potion.mana", 1)), "is required")));
        Assert.Equal(["request_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add(player, new string('r', 129), Stack("item.potion.mana", 1)), "at most 128")));
        Assert.Equal(["player_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => Add("", NewRequestId(), Stack("item.potion.mana", 1)), "is required")));
        await FailsAsync(StatusCode.FailedPrecondition, () => Add(player, NewRequestId(), Stack("item.potion.mana", 2), Stack("item.sword.mithril", 1)), "'item.sword.mithril'", "PutItemDefinition", "nothing was added");

        Assert.Equal(0, (await InventoryAsync(harness.Client, player)).StateVersion);
        await FailsAsync(StatusCode.NotFound, () => StateAsync(harness.Client, player));
    }

    [Fact(Timeout = 60_000)]
    public async Task RemoveItems_MoreThanHeld_FailsPrecondition_NamingTheShortfall_AndRemovesNothing()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var added = await AddAsync(harness.Client, player, NewRequestId(), Stack("item.material.wolf-pelt", 12), Stack("item.material.iron-ore", 30));

        await FailsAsync(StatusCode.FailedPrecondition, () => RemoveAsync(harness.Client, player, NewRequestId(), Stack("item.material.wolf-pelt", 5), Stack("item.material.iron-ore", 31)), "'item.material.iron-ore': 31 requested, 30 held", "Nothing was removed");
        await FailsAsync(StatusCode.FailedPrecondition, () => RemoveAsync(harness.Client, player, NewRequestId(), Stack("item.sword.iron", 1)), "'item.sword.iron': 1 requested, 0 held");
        Assert.Equal(["items[0].quantity"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => RemoveAsync(harness.Client, player, NewRequestId(), Stack("item.material.wolf-pelt", -1)), "got -1")));
        Assert.Equal(added.Inventory, await InventoryAsync(harness.Client, player));

        var id = NewRequestId();
        var once = await RemoveAsync(harness.Client, player, id, Stack("item.material.wolf-pelt", 12));
        Assert.Equal(once, await RemoveAsync(harness.Client, player, id, Stack("item.material.wolf-pelt", 12)));
        Assert.Equal(new Dictionary<string, long> { ["item.material.iron-ore"] = 30 }, Totals(await InventoryAsync(harness.Client, player)));
    }

    [Fact(Timeout = 60_000)]
    public async Task GrantExperience_RaisesTheLevelOnTheCurve_AndARetryWithTheSameKeyGrantsOnce()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        GrantExperienceRequest Grant(long amount, string id) => new() { PlayerId = player, Amount = amount, RequestId = id, Reason = "quest-reward:q-1" };

        var small = await harness.Client.GrantExperienceAsync(Grant(60, NewRequestId()), cancellationToken: Timeout);
        Assert.Equal((60L, 1L, 1, 0, 100L), (small.Experience, small.StateVersion, small.Level, small.LevelsGained, small.NextLevelExperience));

        // Default curve: level L starts at 100 × (L − 1)²; 60 + 850 = 910 is level 4 (900), next at 1600.
        var key = $"quest:{player}:q-9:1";
        var big = await harness.Client.GrantExperienceAsync(Grant(850, key), cancellationToken: Timeout);
        Assert.Equal((910L, 2L, 4, 3, 1600L), (big.Experience, big.StateVersion, big.Level, big.LevelsGained, big.NextLevelExperience));
        Assert.Equal(big, await harness.Client.GrantExperienceAsync(Grant(850, key), cancellationToken: Timeout));

        var state = await StateAsync(harness.Client, player);
        Assert.Equal((910L, 4, 2L), (state.Experience, state.Level, state.Version));
        Assert.Equal(["amount"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.GrantExperienceAsync(Grant(0, NewRequestId()), cancellationToken: Timeout).AsTask(), "is required")));
        Assert.Equal(["amount"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.GrantExperienceAsync(Grant(-50, NewRequestId()), cancellationToken: Timeout).AsTask(), "got -50")));
    }

    /// <summary>
    /// Many callers on two instances add and remove random loot on one inventory at once, each
    /// call sent twice (a retry); the final totals must equal the sum of what the calls that
    /// succeeded said they did, no stack may pass its limit and nothing may go below zero.
    /// </summary>
    [Fact(Timeout = 180_000)]
    public async Task ConcurrentAddAndRemove_FromManyCallers_LoseNoUpdate_AndKeepEveryStackWithinItsLimit()
    {
        await using var harness = await StartAsync(instances: 2, options: StateManagerOptions.Default with { SlotCapacity = 12 });
        var player = NewPlayer();
        var loot = new[] { "item.potion.minor-healing", "item.ammo.arrow", "item.sword.iron", "item.food.bread", "item.quest.dragon-scale" };
        var seed = new Random(20261203);
        var plans = Enumerable.Range(0, 16).Select(caller => Enumerable.Range(0, 12).Select(_ =>
        {
            var item = loot[seed.Next(loot.Length)];
            var quantity = seed.Next(1, Math.Min(MaxStackOf(item), 40) + 1);
            return (Add: seed.NextDouble() < 0.6, Item: item, Quantity: quantity, RequestId: Guid.NewGuid().ToString());
        }).ToList()).ToList();
        var applied = new System.Collections.Concurrent.ConcurrentBag<(string Item, long Delta)>();
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<StatusCode>();

        await Task.WhenAll(plans.Select((plan, caller) => Task.Run(async () =>
        {
            var client = harness.ClientAs(harness.Service, caller % 2);
            foreach (var step in plan)
            {
                long? first = null;
                for (var send = 0; send < 2; send++)
                {
                    var (status, delta) = await SendUntilAnsweredAsync(client, player, step.Add, Stack(step.Item, step.Quantity), step.RequestId);
                    outcomes.Add(status);
                    if (status != StatusCode.OK)
                    {
                        break; // not enough held at that moment: a refusal, which a retry repeats
                    }

                    Assert.True(first is null || first == delta, $"a retry of {step.RequestId} answered {delta}, the first call {first}");
                    first ??= delta;
                }

                if (first is { } applies)
                {
                    applied.Add((step.Item, applies));
                }
            }
        }, Timeout)));

        var inventory = await InventoryAsync(harness.Client, player);
        var expected = applied.GroupBy(a => a.Item).ToDictionary(g => g.Key, g => g.Sum(a => a.Delta)).Where(p => p.Value != 0).ToDictionary();
        Assert.Equal(expected.OrderBy(p => p.Key), Totals(inventory).OrderBy(p => p.Key));
        Assert.All(inventory.Slots, s => Assert.InRange(s.Stack.Quantity, 1, MaxStackOf(s.Stack.ItemId)));
        Assert.InRange(inventory.Slots.Count, 0, 12);
        Assert.Equal(inventory.Slots.Count, inventory.Slots.Select(s => s.SlotIndex).Distinct().Count());
        var changes = applied.Count(a => a.Delta != 0);
        Assert.Equal(changes, inventory.StateVersion);
        Assert.Contains(applied, a => a.Delta < 0); // removes that succeeded, not only adds
        Assert.Contains(applied, a => a.Delta > 0);
    }

    /// <summary>One AddItems (partial) or RemoveItems, sent again while it is ABORTED (overtaken by other writers every attempt); the change it reports.</summary>
    private static async Task<(StatusCode Status, long Delta)> SendUntilAnsweredAsync(StateManagerServiceClient client, string player, bool add, ItemStack stack, string requestId)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (add)
                {
                    var response = await client.AddItemsAsync(new AddItemsRequest { PlayerId = player, RequestId = requestId, AllowPartial = true, Items = { stack } }, cancellationToken: Timeout);
                    return (StatusCode.OK, response.Added.Sum(a => (long)a.Quantity));
                }

                await client.RemoveItemsAsync(new RemoveItemsRequest { PlayerId = player, RequestId = requestId, Items = { stack } }, cancellationToken: Timeout);
                return (StatusCode.OK, -stack.Quantity);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Aborted && attempt < 20)
            {
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && !add)
            {
                return (e.StatusCode, 0);
            }
        }
    }
}
