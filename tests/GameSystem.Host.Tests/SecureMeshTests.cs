using System.Diagnostics;
using System.Security.Cryptography;
using GameSystem.LanguageSystem.V1;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// A nats-server with TLS (client certificates verified) and the generated permissions of three
/// users: a host running language-system, one running time-manager, and the gateway.
/// </summary>
public sealed class SecureMeshFixture : IAsyncLifetime
{
    private readonly Dictionary<string, string> _passwords = [];

    public SecureNatsServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);
        NatsUser[] users =
        [
            NatsPermissions.ForHost("lang", catalog.Select(["language-system"]), catalog.Contracts, MeshSubjects.DefaultPrefix),
            NatsPermissions.ForHost("clock", catalog.Select(["time-manager"]), catalog.Contracts, MeshSubjects.DefaultPrefix),
            NatsPermissions.ForGateway("gateway", catalog.Contracts, MeshSubjects.DefaultPrefix),
        ];
        foreach (var user in users)
        {
            _passwords[user.Name] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        }

        Server = await SecureNatsServer.StartAsync(
            NatsPermissions.ToServerConfig(users, "SecureMeshFixture"),
            users.ToDictionary(u => u.PasswordVariable, u => NatsPermissions.PasswordVariableValue(_passwords[u.Name])));
    }

    /// <summary>Options of <paramref name="user"/> as the generated config says: its password and its own inbox prefix.</summary>
    public NatsOpts As(string user) => Server.ClientOpts(user, _passwords[user], NatsPermissions.InboxPrefixOf(user), user);

    public async Task<NatsConnection> ConnectAsync(string user)
    {
        var connection = new NatsConnection(As(user));
        await connection.ConnectAsync();
        return connection;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

/// <summary>What the generated permissions allow and refuse, on a real nats-server over TLS.</summary>
public sealed class SecureMeshTests(SecureMeshFixture mesh) : IClassFixture<SecureMeshFixture>
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task CallToAServiceItDidNotDeclare_FailsPermissionDeniedAtOnce_NotAtItsDeadline()
    {
        await using var connection = await mesh.ConnectAsync("lang");
        await using var invoker = new NatsMeshClient(connection);
        var clocks = new TimeManagerServiceClient(invoker);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await clocks.GetClockAsync(new GetClockRequest { WorldId = "hub" }, deadline: DateTime.UtcNow.AddSeconds(20), cancellationToken: Timeout));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("gs.gamesystem.time_manager.v1.TimeManagerService.GetClock", error.Status.Detail, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");

        // The connection stays usable: a call it may make goes out (nobody serves event-bus here).
        var allowed = await Assert.ThrowsAsync<RpcException>(async () => await new GameSystem.EventBus.V1.EventBusServiceClient(invoker).PublishAsync(
            new GameSystem.EventBus.V1.PublishRequest { Event = new GameSystem.Common.V1.DomainEvent { EventId = "e-1", Type = "test.secure" } }, cancellationToken: Timeout));
        Assert.Equal(StatusCode.Unavailable, allowed.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task StreamFromAServiceItDidNotDeclare_FailsPermissionDeniedAtOnce_NotAtItsSilenceTimeout()
    {
        await using var connection = await mesh.ConnectAsync("lang");
        await using var invoker = new NatsMeshClient(connection);
        var clocks = new TimeManagerServiceClient(invoker);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in clocks.WatchClockAsync(new WatchClockRequest { WorldId = "hub" }, cancellationToken: Timeout))
            {
            }
        });

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("gs.gamesystem.time_manager.v1.TimeManagerService.WatchClock", error.Status.Detail, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact(Timeout = 30_000)]
    public async Task Gateway_ReachesAServedMethodWithAnHttpBinding_ButNotOneWithout()
    {
        await using var hostConnection = await mesh.ConnectAsync("lang");
        await using var server = new NatsMeshServer(hostConnection);
        server.AddService(MeshServiceDefinition.Unimplemented(LanguageSystemServiceDispatcher.Info.Descriptor));
        await server.StartAsync(Timeout);
        await using var gatewayConnection = await mesh.ConnectAsync("gateway");
        await using var invoker = new NatsMeshClient(gatewayConnection);
        var languages = new LanguageSystemServiceClient(invoker);

        // Served under the host's permissions and answered to the gateway's own inbox.
        var served = await Assert.ThrowsAsync<RpcException>(async () => await languages.GetLocaleAsync(new GetLocaleRequest { Locale = "en" }, cancellationToken: Timeout));
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await languages.CreateLocaleAsync(
            new CreateLocaleRequest { RequestId = "r-1", Locale = new Locale { Tag = "fr" } }, deadline: DateTime.UtcNow.AddSeconds(20), cancellationToken: Timeout));

        Assert.Equal(StatusCode.Unimplemented, served.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task Host_CannotSubscribeToAnotherServicesSubjects()
    {
        await using var connection = await mesh.ConnectAsync("lang");
        var refused = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ServerError += (_, e) =>
        {
            refused.TrySetResult(e.Error);
            return ValueTask.CompletedTask;
        };
        await using var server = new NatsMeshServer(connection);
        server.AddService(MeshServiceDefinition.Unimplemented(TimeManagerServiceDispatcher.Info.Descriptor));
        await server.StartAsync(Timeout);

        var error = await refused.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);

        Assert.StartsWith("Permissions Violation for Subscription to \"gs.gamesystem.time_manager.v1.TimeManagerService.", error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Host_CannotReadRepliesMeantForAnotherUser()
    {
        await using var connection = await mesh.ConnectAsync("lang");
        var refused = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ServerError += (_, e) =>
        {
            refused.TrySetResult(e.Error);
            return ValueTask.CompletedTask;
        };

        await using var sub = await connection.SubscribeCoreAsync<byte[]>("_INBOX.gateway.>", cancellationToken: Timeout);

        Assert.Equal("Permissions Violation for Subscription to \"_INBOX.gateway.>\"", await refused.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout));
    }

    public static TheoryData<string> RefusedClients => ["no credentials", "wrong password", "no TLS", "no client certificate", "an untrusted server"];

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(RefusedClients))]
    public async Task Connection_IsRefused_Without(string what)
    {
        var opts = mesh.As("lang");
        opts = what switch
        {
            "no credentials" => opts with { AuthOpts = NatsAuthOpts.Default },
            "wrong password" => opts with { AuthOpts = NatsAuthOpts.Default with { Username = "lang", Password = "not-the-password" } },
            "no TLS" => opts with { Url = mesh.Server.PlainUrl, TlsOpts = NatsTlsOpts.Default with { Mode = TlsMode.Disable } },
            "no client certificate" => opts with { TlsOpts = opts.TlsOpts with { CertFile = null, KeyFile = null } },
            _ => opts with { TlsOpts = opts.TlsOpts with { CaFile = TestCertificates.Create(Directory.CreateTempSubdirectory("gs-other-ca-").FullName).CaFile } },
        };
        await using var connection = new NatsConnection(opts);

        await Assert.ThrowsAnyAsync<NatsException>(async () => await connection.ConnectAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15), Timeout));
        Assert.NotEqual(NatsConnectionState.Open, connection.ConnectionState);
    }
}
