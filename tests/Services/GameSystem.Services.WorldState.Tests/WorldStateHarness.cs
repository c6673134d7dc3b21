using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.WorldState.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>
/// A deployment as the host runs it: auth (<see cref="TestIdentity"/>) and one or more
/// world-state instances sharing one store, each served behind the runtime's identity interceptor
/// on its own mesh prefix. No relay runs: a test reads the events a change recorded straight from
/// the service's outbox.
/// </summary>
internal sealed class WorldStateHarness : IAsyncDisposable
{
    public const string ServiceName = "world-state";

    private WorldStateHarness(IStateStore store, TestIdentity identity, TestCaller builder, TestCaller game)
    {
        Store = store;
        Identity = identity;
        Builder = builder;
        Game = game;
    }

    public TestIdentity Identity { get; }

    /// <summary>A world builder holding <c>world-state.admin</c> (region writes) and nothing else.</summary>
    public TestCaller Builder { get; }

    /// <summary>quest-system's service account, as it creates entities and applies world events.</summary>
    public TestCaller Game { get; }

    public IStateStore Store { get; }

    public List<ServiceMesh> Instances { get; } = [];

    /// <summary>The first instance's client, calling as <see cref="Game"/> (a service account holds every scope).</summary>
    public WorldStateServiceClient Client => ClientAs(Game);

    /// <summary>The first instance's client, calling as <see cref="Builder"/>.</summary>
    public WorldStateServiceClient BuilderClient => ClientAs(Builder);

    public static async Task<WorldStateHarness> StartAsync(NatsServerFixture nats, IStateStore store, IStateStore identityStore, int instances = 1, WorldStateOptions? options = null)
    {
        var identity = await TestIdentity.StartAsync(nats, identityStore);
        var builder = await identity.OperatorAsync("world-state.admin");
        var game = await identity.ServiceAsync("quest-system");
        var harness = new WorldStateHarness(store, identity, builder, game);
        for (var i = 0; i < instances; i++)
        {
            var implementation = new WorldStateService(store, new EventOutbox(ServiceName, TimeProvider.System), Options.Create(options ?? WorldStateOptions.Default), TimeProvider.System, NullLogger<WorldStateService>.Instance);
            harness.Instances.Add(await ServiceMesh.StartAsync(nats, ServiceName, _ => [implementation], _ => identity.Interceptor));
        }

        return harness;
    }

    /// <summary>A client of instance <paramref name="instance"/> calling as <paramref name="caller"/>.</summary>
    public WorldStateServiceClient ClientAs(TestCaller caller, int instance = 0) => new(caller.Invoker(Instances[instance].Invoker));

    /// <summary>The events recorded for world <paramref name="worldId"/> so far, oldest first (read from the outbox, not removed).</summary>
    public async Task<List<DomainEvent>> EventsAsync(string worldId, CancellationToken cancellationToken)
    {
        var claim = await ((IStateOutboxStore)Store).ClaimOutboxAsync(ServiceName, "world:" + worldId, "contract-test", TimeSpan.FromSeconds(1), 1000, cancellationToken);
        Assert.True(claim.Claimed, "the test reads the outbox while no relay runs");
        await ((IStateOutboxStore)Store).CompleteOutboxAsync(ServiceName, "world:" + worldId, "contract-test", 0, cancellationToken);
        return [.. claim.Messages.Select(m => DomainEvent.Parser.ParseFrom(m.Payload.Span))];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances)
        {
            await instance.DisposeAsync();
        }

        await Identity.DisposeAsync();
    }
}
