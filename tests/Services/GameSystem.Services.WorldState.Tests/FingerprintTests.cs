using GameSystem.Common.V1;
using GameSystem.Services.WorldState.Internal;
using GameSystem.WorldState.V1;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>The digests that decide whether a repeated event or request is the same one, without NATS.</summary>
public sealed class FingerprintTests
{
    [Fact]
    public void Fingerprint_OfTheSameEntityWithPropertiesAddedInAnotherOrder_IsTheSame_AndAnyValueChangeDiffers()
    {
        var one = new Entity { EntityId = "chest.mill-1", Kind = "chest", Properties = { ["locked"] = new TypedValue { BoolValue = true }, ["gold"] = new TypedValue { IntValue = 40 } } };
        var other = new Entity { EntityId = "chest.mill-1", Kind = "chest", Properties = { ["gold"] = new TypedValue { IntValue = 40 }, ["locked"] = new TypedValue { BoolValue = true } } };
        var event1 = new WorldEvent { EventId = "e-1", RegionId = "mill", Type = "chest.spawned", Mutations = { new Mutation { CreateEntity = new CreateEntityMutation { Entity = one } } } };
        var event2 = new WorldEvent { EventId = "e-1", RegionId = "mill", Type = "chest.spawned", Mutations = { new Mutation { CreateEntity = new CreateEntityMutation { Entity = other } } } };

        Assert.Equal(Fingerprint.Of(event1), Fingerprint.Of(event2));
        Assert.Equal(["locked", "gold"], one.Properties.Keys);

        other.Properties["gold"] = new TypedValue { IntValue = 41 };
        Assert.NotEqual(Fingerprint.Of(event1), Fingerprint.Of(event2));
    }

    [Theory]
    [InlineData("aldermere.market", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData("Aldermere", false)]
    [InlineData(".hidden", false)]
    [InlineData("market\n", false)]
    public void RegionIds_AreLowerCaseDottedNames(string regionId, bool valid) => Assert.Equal(valid, Rules.IsRegionId(regionId));
}
