using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>
/// The time-manager (its timer scheduler running) served over a real nats-server on a unique
/// subject prefix, a generated client, and a view of the event outbox its fires go to (no
/// relay runs in these tests, so what the relay would deliver stays there to be read).
/// </summary>
internal sealed class TimeManagerHarness(ServiceMesh mesh, IStateOutboxStore outboxes) : IAsyncDisposable
{
    /// <summary>The name the host gives the service's outbox.</summary>
    public const string OutboxName = "time-manager";

    public TimeManagerServiceClient Client { get; } = new(mesh.Invoker);

    public static async Task<TimeManagerHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time)
    {
        var outboxes = (IStateOutboxStore)store;
        var mesh = await ServiceMesh.StartAsync(nats, "time-manager", _ =>
            [new TimeManagerService(store, outboxes, time, NullLogger<TimeManagerService>.Instance, new EventOutbox(OutboxName, time))]);
        return new TimeManagerHarness(mesh, outboxes);
    }

    /// <summary>
    /// Every event in the outbox, read as a relay reads it (claimed, never completed, so a later
    /// read sees them again): per partition in outbox order, with the partition it is in.
    /// </summary>
    public async Task<List<(string Partition, DomainEvent Event)>> OutboxAsync()
    {
        var events = new List<(string, DomainEvent)>();
        await foreach (var partition in outboxes.ListOutboxPartitionsAsync(OutboxName, TestContext.Current.CancellationToken))
        {
            var claim = await outboxes.ClaimOutboxAsync(OutboxName, partition, "test-reader", TimeSpan.FromMinutes(5), StateKeys.MaxPageSize, TestContext.Current.CancellationToken);
            Assert.True(claim.Claimed, "nothing but the test reads the outbox");
            events.AddRange(claim.Messages.Select(m => (partition, DomainEvent.Parser.ParseFrom(m.Payload.Span))));
        }

        return events;
    }

    /// <summary>The events in the outbox, with their payloads.</summary>
    public async Task<List<(DomainEvent Event, TimerFired Fire)>> FiresAsync() =>
        [.. (await OutboxAsync()).Select(e => (e.Event, TimerFired.Parser.ParseFrom(e.Event.Payload)))];

    public ValueTask DisposeAsync() => mesh.DisposeAsync();
}
