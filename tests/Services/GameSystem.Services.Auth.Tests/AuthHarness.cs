using GameSystem.Auth.V1;
using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Services.Auth.Tests;

/// <summary>
/// auth served over a real nats-server on a unique subject prefix behind the runtime's identity
/// interceptor (verifying the tokens auth itself issues, with the keys of its ListSigningKeys),
/// a generated client, and the store it writes to.
/// </summary>
internal sealed class AuthHarness : IAsyncDisposable
{
    public const string OutboxName = "auth";

    /// <summary>Registering this username makes an administrator (AuthOptions.Administrators).</summary>
    public const string AdminUsername = TestIdentity.RootUsername;

    private readonly NatsConnection _connection;
    private readonly NatsMeshServer _server;
    private readonly NatsMeshClient _invoker;
    private readonly SigningKeyProvider _keys;

    private AuthHarness(AuthService service, IStateStore store, NatsConnection connection, NatsMeshServer server, NatsMeshClient invoker, SigningKeyProvider keys, CapturingLogger<AuthService> logger, AuthOptions options, TimeProvider time)
    {
        Time = time;
        Service = service;
        Store = store;
        _connection = connection;
        _server = server;
        _invoker = invoker;
        _keys = keys;
        Logger = logger;
        Options = options;
        Client = new AuthServiceClient(invoker);
    }

    public AuthServiceClient Client { get; }

    public AuthService Service { get; }

    public IStateStore Store { get; }

    public CapturingLogger<AuthService> Logger { get; }

    public AuthOptions Options { get; }

    public TimeProvider Time { get; }

    /// <summary>Options for tests: a fresh key-encryption key and service secret, and Argon2 cheap enough to run hundreds of times.</summary>
    public static AuthOptions TestOptions() => TestIdentity.TestAuthOptions();

    public static async Task<AuthHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time, AuthOptions options)
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var logger = new CapturingLogger<AuthService>();
        var service = new AuthService(store, new EventOutbox(OutboxName, time), time, logger, Microsoft.Extensions.Options.Options.Create(options));
        try
        {
            await service.StartAsync(CancellationToken.None);
        }
        catch
        {
            service.Dispose();
            throw;
        }

        var connection = await ServiceMesh.ConnectAsync(nats.Url, "auth-test");
        var invoker = new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var keys = new SigningKeyProvider(new AuthServiceClient(invoker), IdentityOptions.Default with { Issuer = options.Issuer, Audience = options.Audience }, time);
        var contract = MeshCatalog.FromAssemblies([typeof(IAuthService).Assembly]).Single(s => s.ServiceInterface == typeof(IAuthService));
        var interceptor = new IdentityServerInterceptor(new AccessTokenValidator(keys, IdentityOptions.Default with { Issuer = options.Issuer, Audience = options.Audience }, time), [contract]);
        var server = new NatsMeshServer(connection, MeshServerOptions.Default with { SubjectPrefix = prefix, Interceptors = [interceptor] });
        server.AddService(contract.Bind(service));
        await server.StartAsync();
        return new AuthHarness(service, store, connection, server, invoker, keys, logger, options, time);
    }

    public static Metadata Bearer(string accessToken) => new() { { IdentityServerInterceptor.AuthorizationHeader, "Bearer " + accessToken } };

    /// <summary>Every event in the outbox of the accounts partition, oldest first (claimed, never completed).</summary>
    public async Task<List<DomainEvent>> EventsAsync(CancellationToken cancellationToken)
    {
        var outboxes = Assert.IsAssignableFrom<IStateOutboxStore>(Store);
        var claim = await outboxes.ClaimOutboxAsync(OutboxName, "accounts", "contract-test", TimeSpan.FromMinutes(1), StateKeys.MaxPageSize, cancellationToken);
        Assert.True(claim.Claimed);
        return [.. claim.Messages.Select(m => DomainEvent.Parser.ParseFrom(m.Payload.Span))];
    }

    public async ValueTask DisposeAsync()
    {
        await Service.StopAsync(CancellationToken.None);
        await _invoker.DisposeAsync();
        await _server.DisposeAsync();
        await _connection.DisposeAsync();
        _keys.Dispose();
        Service.Dispose();
    }
}
