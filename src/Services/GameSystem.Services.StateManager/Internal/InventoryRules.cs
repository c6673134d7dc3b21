using GameSystem.Common.V1;
using GameSystem.StateManager.V1;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>The result of <see cref="InventoryRules.Add"/>: the new slots, what went in and what did not fit.</summary>
internal sealed record AddOutcome(List<InventorySlot> Slots, List<ItemStack> Added, List<ItemStack> Rejected);

/// <summary>
/// How items go into and out of a fixed number of slots, each holding one stack of at most the
/// item's <c>max_stack_size</c>: pure functions of the inventory as read, so the service applies
/// the result in one transaction or not at all.
/// </summary>
internal static class InventoryRules
{
    /// <summary>
    /// Puts <paramref name="items"/> in: first onto the stacks of the same item (lowest slot first)
    /// up to their limit, then into free slots (lowest index first), each up to the limit. A stack
    /// already above its limit (the limit was lowered later) takes nothing more.
    /// </summary>
    public static AddOutcome Add(IEnumerable<InventorySlot> held, int capacity, IReadOnlyList<ItemStack> items, IReadOnlyDictionary<string, int> maxStack)
    {
        var slots = held.Select(s => s.Clone()).OrderBy(s => s.SlotIndex).ToList();
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var rejected = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var limit = maxStack[item.ItemId];
            var remaining = item.Quantity;
            foreach (var slot in slots)
            {
                if (remaining == 0)
                {
                    break;
                }

                if (slot.Stack.ItemId == item.ItemId && slot.Stack.Quantity < limit)
                {
                    var put = Math.Min(limit - slot.Stack.Quantity, remaining);
                    slot.Stack.Quantity += put;
                    remaining -= put;
                }
            }

            for (var index = 0; remaining > 0 && index < capacity; index++)
            {
                if (slots.Any(s => s.SlotIndex == index))
                {
                    continue;
                }

                var put = Math.Min(limit, remaining);
                slots.Add(new InventorySlot { SlotIndex = index, Stack = new ItemStack { ItemId = item.ItemId, Quantity = put } });
                slots.Sort((a, b) => a.SlotIndex.CompareTo(b.SlotIndex));
                remaining -= put;
            }

            Count(added, item.ItemId, item.Quantity - remaining);
            Count(rejected, item.ItemId, remaining);
        }

        return new AddOutcome(slots, Stacks(items, added), Stacks(items, rejected));
    }

    /// <summary>How many of <paramref name="itemId"/> the slots hold.</summary>
    public static long Held(IEnumerable<InventorySlot> slots, string itemId) =>
        slots.Where(s => s.Stack.ItemId == itemId).Sum(s => (long)s.Stack.Quantity);

    /// <summary>
    /// Takes <paramref name="items"/> out, from the highest slot index first, emptied slots
    /// removed; null with the shortfalls when the slots hold fewer than asked of any item
    /// (then nothing is taken).
    /// </summary>
    public static List<InventorySlot>? Remove(IEnumerable<InventorySlot> held, IReadOnlyList<ItemStack> items, out List<string> shortfalls)
    {
        var slots = held.Select(s => s.Clone()).OrderBy(s => s.SlotIndex).ToList();
        var wanted = Totals(items);
        shortfalls = [.. wanted.Where(w => Held(slots, w.Key) < w.Value).Select(w => $"'{w.Key}': {w.Value} requested, {Held(slots, w.Key)} held")];
        if (shortfalls.Count > 0)
        {
            return null;
        }

        foreach (var (itemId, quantity) in wanted)
        {
            var remaining = quantity;
            for (var i = slots.Count - 1; i >= 0 && remaining > 0; i--)
            {
                if (slots[i].Stack.ItemId != itemId)
                {
                    continue;
                }

                var take = (int)Math.Min(slots[i].Stack.Quantity, remaining);
                slots[i].Stack.Quantity -= take;
                remaining -= take;
                if (slots[i].Stack.Quantity == 0)
                {
                    slots.RemoveAt(i);
                }
            }
        }

        return slots;
    }

    /// <summary>The total of each item over the slots, by item id.</summary>
    public static Dictionary<string, long> Totals(IEnumerable<InventorySlot> slots) => Totals(slots.Select(s => s.Stack));

    /// <summary>The total of each item over the stacks, by item id, in first-seen order.</summary>
    public static Dictionary<string, long> Totals(IEnumerable<ItemStack> stacks)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var stack in stacks)
        {
            totals[stack.ItemId] = totals.GetValueOrDefault(stack.ItemId) + stack.Quantity;
        }

        return totals;
    }

    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>: items gained and items lost, by id.</summary>
    public static (List<ItemStack> Gained, List<ItemStack> Lost) Difference(IEnumerable<InventorySlot> before, IEnumerable<InventorySlot> after)
    {
        var was = Totals(before);
        var now = Totals(after);
        var gained = new List<ItemStack>();
        var lost = new List<ItemStack>();
        foreach (var id in was.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var delta = now.GetValueOrDefault(id) - was.GetValueOrDefault(id);
            if (delta > 0)
            {
                gained.Add(new ItemStack { ItemId = id, Quantity = (int)Math.Min(delta, int.MaxValue) });
            }
            else if (delta < 0)
            {
                lost.Add(new ItemStack { ItemId = id, Quantity = (int)Math.Min(-delta, int.MaxValue) });
            }
        }

        return (gained, lost);
    }

    private static void Count(Dictionary<string, int> counts, string itemId, int quantity)
    {
        if (quantity > 0)
        {
            counts[itemId] = counts.GetValueOrDefault(itemId) + quantity;
        }
    }

    // One stack per item, in the order the request first named it.
    private static List<ItemStack> Stacks(IReadOnlyList<ItemStack> order, Dictionary<string, int> counts) =>
        [.. order.Select(i => i.ItemId).Distinct(StringComparer.Ordinal).Where(counts.ContainsKey).Select(id => new ItemStack { ItemId = id, Quantity = counts[id] })];
}
