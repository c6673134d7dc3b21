using GameSystem.EventBus.V1;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>
/// The time-manager (its timer scheduler running) and a recording event-bus peer, served over
/// a real nats-server on a unique subject prefix, and a generated client.
/// </summary>
internal sealed class TimeManagerHarness(ServiceMesh mesh, RecordingEventBus eventBus) : IAsyncDisposable
{
    public TimeManagerServiceClient Client { get; } = new(mesh.Invoker);

    /// <summary>The event-bus peer time-manager publishes fired timers to.</summary>
    public RecordingEventBus EventBus { get; } = eventBus;

    public static async Task<TimeManagerHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time)
    {
        var eventBus = new RecordingEventBus();
        var mesh = await ServiceMesh.StartAsync(nats, "time-manager", invoker =>
            [new TimeManagerService(store, time, NullLogger<TimeManagerService>.Instance, new EventBusServiceClient(invoker)), eventBus]);
        return new TimeManagerHarness(mesh, eventBus);
    }

    public ValueTask DisposeAsync() => mesh.DisposeAsync();
}
