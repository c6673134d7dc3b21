using GameSystem.EventBus.V1;
using GameSystem.Services.Testing;
using GameSystem.Testing;

namespace GameSystem.Events.Tests;

/// <summary>The recording event-bus served over the real nats-server, and a generated client of it.</summary>
internal sealed class BusHarness(ServiceMesh mesh, RecordingEventBus bus) : IAsyncDisposable
{
    public RecordingEventBus Bus { get; } = bus;

    public EventBusServiceClient Client { get; } = new(mesh.Invoker);

    public static async Task<BusHarness> StartAsync(NatsServerFixture nats)
    {
        var bus = new RecordingEventBus();
        return new BusHarness(await ServiceMesh.StartAsync(nats, "event-bus", _ => [bus]), bus);
    }

    public ValueTask DisposeAsync() => mesh.DisposeAsync();
}
