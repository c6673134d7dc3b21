using GameSystem.Events;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>The service called directly on the in-memory store, without NATS: what a world event leaves in the store's outbox.</summary>
public sealed class DirectCallTests
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task CreateRegion_Directly_RecordsTheRegionAndItsChangeEvent()
    {
        var store = new InMemoryStateStore();
        var service = new WorldStateService(store, new EventOutbox("world-state"), Options.Create(WorldStateOptions.Default), TimeProvider.System, NullLogger<WorldStateService>.Instance);
        var context = TestCallContext.As("acc-builder", Timeout, "world-state.admin");
        var created = await service.CreateRegionAsync(new CreateRegionRequest { Region = new Region { RegionId = "aldermere.market", WorldId = "hub", Properties = { ["climate"] = new GameSystem.Common.V1.TypedValue { StringValue = "temperate" }, ["danger_level"] = new GameSystem.Common.V1.TypedValue { IntValue = 3 } } }, RequestId = "r-1" }, context);
        Assert.Equal(1, created.Region.Version);
        var outbox = await ((IStateOutboxStore)store).ClaimOutboxAsync("world-state", "world:hub", "test", TimeSpan.FromSeconds(1), 10, Timeout);
        Assert.Equal("world.region.changed", GameSystem.Common.V1.DomainEvent.Parser.ParseFrom(Assert.Single(outbox.Messages).Payload.Span).Type);
    }
}
