using GameSystem.Auth.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using NATS.Client.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// A client process's view of the mesh: its own NATS connection and the generated
/// time-manager client on one subject prefix. Retries are off, so every call is exactly
/// one request and its outcome says what happened to that request.
/// </summary>
internal sealed class MeshCaller : IAsyncDisposable
{
    private readonly NatsMeshClient _invoker;

    private MeshCaller(NatsConnection connection, NatsMeshClient invoker)
    {
        Connection = connection;
        _invoker = invoker;
        TimeManager = new TimeManagerServiceClient(invoker);
        EventBus = new GameSystem.EventBus.V1.EventBusServiceClient(invoker);
        Auth = new AuthServiceClient(invoker);
    }

    public NatsConnection Connection { get; }

    public AuthServiceClient Auth { get; }

    public TimeManagerServiceClient TimeManager { get; }

    public GameSystem.EventBus.V1.EventBusServiceClient EventBus { get; }

    /// <summary>A fresh subject token, so hosts of different tests on one nats-server never meet.</summary>
    public static string NewPrefix() => "h" + Guid.NewGuid().ToString("N")[..12];

    public static async Task<MeshCaller> ConnectAsync(NatsServerFixture nats, string prefix)
    {
        var connection = await nats.ConnectAsync("host-tests-client");
        return new MeshCaller(connection, new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = prefix, MaxRetryAttempts = 0 }));
    }

    public async ValueTask DisposeAsync()
    {
        await _invoker.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
