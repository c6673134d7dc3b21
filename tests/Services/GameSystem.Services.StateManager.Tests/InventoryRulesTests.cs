using GameSystem.Common.V1;
using GameSystem.Services.StateManager.Internal;
using GameSystem.StateManager.V1;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>The slot rules and the level curve, without NATS or a store.</summary>
public sealed class InventoryRulesTests
{
    private static readonly Dictionary<string, int> Limits = new(StringComparer.Ordinal) { ["item.ammo.arrow"] = 99, ["item.sword.iron"] = 1, ["item.food.bread"] = 10 };

    private static InventorySlot Slot(int index, string itemId, int quantity) => new() { SlotIndex = index, Stack = new ItemStack { ItemId = itemId, Quantity = quantity } };

    [Fact]
    public void Add_TopsUpStacksFirst_ThenFillsTheLowestFreeSlots_AndReportsWhatDidNotFit()
    {
        var held = new[] { Slot(0, "item.ammo.arrow", 90), Slot(2, "item.food.bread", 10) };

        var outcome = InventoryRules.Add(held, capacity: 4, [new ItemStack { ItemId = "item.ammo.arrow", Quantity = 120 }, new ItemStack { ItemId = "item.sword.iron", Quantity = 2 }], Limits);

        Assert.Equal([(0, "item.ammo.arrow", 99), (1, "item.ammo.arrow", 99), (2, "item.food.bread", 10), (3, "item.ammo.arrow", 12)], outcome.Slots.Select(s => (s.SlotIndex, s.Stack.ItemId, s.Stack.Quantity)));
        Assert.Equal([new ItemStack { ItemId = "item.ammo.arrow", Quantity = 120 }], outcome.Added);
        Assert.Equal([new ItemStack { ItemId = "item.sword.iron", Quantity = 2 }], outcome.Rejected);
        Assert.Equal(90, held[0].Stack.Quantity); // the inventory read is not changed
    }

    [Fact]
    public void Add_NeverTopsUpAStackAlreadyAboveALoweredLimit()
    {
        var outcome = InventoryRules.Add([Slot(0, "item.food.bread", 15)], capacity: 2, [new ItemStack { ItemId = "item.food.bread", Quantity = 3 }], Limits);

        Assert.Equal([15, 3], outcome.Slots.Select(s => s.Stack.Quantity));
    }

    [Fact]
    public void Remove_TakesFromTheHighestSlotFirst_OrNothingWhenShort()
    {
        var held = new[] { Slot(0, "item.ammo.arrow", 99), Slot(1, "item.sword.iron", 1), Slot(3, "item.ammo.arrow", 20) };

        var after = InventoryRules.Remove(held, [new ItemStack { ItemId = "item.ammo.arrow", Quantity = 30 }], out var none);
        Assert.Empty(none);
        Assert.Equal([(0, 89), (1, 1)], after!.Select(s => (s.SlotIndex, s.Stack.Quantity)));

        Assert.Null(InventoryRules.Remove(held, [new ItemStack { ItemId = "item.sword.iron", Quantity = 1 }, new ItemStack { ItemId = "item.sword.iron", Quantity = 1 }], out var shortfalls));
        Assert.Equal(["'item.sword.iron': 2 requested, 1 held"], shortfalls);
    }

    [Theory]
    [InlineData(0, 1, 100)]
    [InlineData(99, 1, 100)]
    [InlineData(100, 2, 400)]
    [InlineData(899, 3, 900)]
    [InlineData(900, 4, 1600)]
    [InlineData(348_100, 60, 0)]
    [InlineData(long.MaxValue / 4, 60, 0)]
    public void LevelCurve_Quadratic_StartsLevelLAtAHundredTimesLMinusOneSquared(long experience, int level, long next)
    {
        var curve = new LevelCurve(100, 2.0, 60);

        Assert.Equal((level, next), (curve.LevelOf(experience), curve.NextThreshold(curve.LevelOf(experience))));
    }
}
