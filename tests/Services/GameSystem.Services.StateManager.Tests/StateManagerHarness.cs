using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.StateManager.V1;
using GameSystem.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>
/// A deployment as the host runs it: auth (<see cref="TestIdentity"/>) and one or more
/// state-manager instances sharing one store, each served behind the runtime's identity
/// interceptor on its own mesh prefix, on a clock the test moves. No relay runs: a test reads the
/// events a change recorded straight from the service's outbox.
/// </summary>
internal sealed class StateManagerHarness : IAsyncDisposable
{
    public const string ServiceName = "state-manager";

    private StateManagerHarness(IStateStore store, TestIdentity identity, TestCaller admin, TestCaller service, FakeTimeProvider time)
    {
        Store = store;
        Identity = identity;
        Admin = admin;
        Service = service;
        Time = time;
    }

    public TestIdentity Identity { get; }

    /// <summary>An operator holding <c>state-manager.admin</c>.</summary>
    public TestCaller Admin { get; }

    /// <summary>quest-system's service account, as it calls AddItems and GrantExperience.</summary>
    public TestCaller Service { get; }

    public IStateStore Store { get; }

    /// <summary>The clock every instance reads (advancing 1 ms per read, so stamps order).</summary>
    public FakeTimeProvider Time { get; }

    public List<ServiceMesh> Instances { get; } = [];

    /// <summary>The first instance's client, calling as <see cref="Service"/>.</summary>
    public StateManagerServiceClient Client => ClientAs(Service);

    /// <summary>The first instance's client, calling as <see cref="Admin"/>.</summary>
    public StateManagerServiceClient AdminClient => ClientAs(Admin);

    public static async Task<StateManagerHarness> StartAsync(NatsServerFixture nats, IStateStore store, IStateStore identityStore, int instances = 1, StateManagerOptions? options = null)
    {
        var identity = await TestIdentity.StartAsync(nats, identityStore);
        var admin = await identity.OperatorAsync("state-manager.admin");
        var service = await identity.ServiceAsync("quest-system");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(1) };
        var harness = new StateManagerHarness(store, identity, admin, service, time);
        for (var i = 0; i < instances; i++)
        {
            var implementation = new StateManagerService(store, new EventOutbox(ServiceName, time), Options.Create(options ?? StateManagerOptions.Default), time, NullLogger<StateManagerService>.Instance);
            harness.Instances.Add(await ServiceMesh.StartAsync(nats, ServiceName, _ => [implementation], _ => identity.Interceptor));
        }

        return harness;
    }

    /// <summary>A client of instance <paramref name="instance"/> calling as <paramref name="caller"/>.</summary>
    public StateManagerServiceClient ClientAs(TestCaller caller, int instance = 0) => new(caller.Invoker(Instances[instance].Invoker));

    /// <summary>The events recorded for <paramref name="playerId"/> so far, oldest first (read from the outbox, not removed).</summary>
    public async Task<List<DomainEvent>> EventsAsync(string playerId, CancellationToken cancellationToken)
    {
        var claim = await ((IStateOutboxStore)Store).ClaimOutboxAsync(ServiceName, "player:" + playerId, "contract-test", TimeSpan.FromSeconds(1), 1000, cancellationToken);
        Assert.True(claim.Claimed, "the test reads the outbox while no relay runs");
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
