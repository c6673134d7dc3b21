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
        Health = new Grpc.Health.V1.HealthClient(invoker);
    }

    public NatsConnection Connection { get; }

    public AuthServiceClient Auth { get; }

    /// <summary>The standard health service, called without a token.</summary>
    public Grpc.Health.V1.HealthClient Health { get; }

    public TimeManagerServiceClient TimeManager { get; }

    public GameSystem.EventBus.V1.EventBusServiceClient EventBus { get; }

    /// <summary>A fresh subject token, so hosts of different tests on one nats-server never meet.</summary>
    public static string NewPrefix() => "h" + Guid.NewGuid().ToString("N")[..12];

    public static async Task<MeshCaller> ConnectAsync(NatsServerFixture nats, string prefix) => await ConnectAsync(nats.Url, prefix);

    /// <summary>As <see cref="ConnectAsync(NatsServerFixture, string)"/>, on the nats-server at <paramref name="url"/>.</summary>
    public static async Task<MeshCaller> ConnectAsync(string url, string prefix)
    {
        var connection = new NatsConnection(NatsOpts.Default with { Url = url, Name = "host-tests-client" });
        await connection.ConnectAsync();
        return new MeshCaller(connection, new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = prefix, MaxRetryAttempts = 0 }));
    }

    public async ValueTask DisposeAsync()
    {
        await _invoker.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
