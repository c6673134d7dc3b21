using GameSystem.LanguageSystem.V1;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>The language-system served over a real nats-server on a unique subject prefix, and a generated client.</summary>
internal sealed class LanguageSystemHarness(ServiceMesh mesh) : IAsyncDisposable
{
    public LanguageSystemServiceClient Client { get; } = new(mesh.Invoker);

    public static async Task<LanguageSystemHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time) =>
        new(await ServiceMesh.StartAsync(nats, "language-system", _ => [new LanguageSystemService(store, time, NullLogger<LanguageSystemService>.Instance)]));

    public ValueTask DisposeAsync() => mesh.DisposeAsync();
}
