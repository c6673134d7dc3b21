using System.Collections.Immutable;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GameSystem.Events;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Services.Auth;
using GameSystem.Services.Testing;
using GameSystem.Services.TimeManager;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace GameSystem.Gateway.Tests;

/// <summary>
/// auth and time-manager served on one subject prefix of a real nats-server behind the identity
/// interceptor, as a host serves them, and the gateway on Kestrel (a free loopback port) in front,
/// reached with a real HttpClient.
/// </summary>
internal sealed class GatewayHarness : IAsyncDisposable
{
    private static readonly ImmutableArray<MeshServiceInfo> Contracts = MeshCatalog.FromAssemblies([typeof(GameSystem.Auth.V1.IAuthService).Assembly]);

    /// <summary>The runtime tests' probe contract, whose routes the gateway serves when a harness has a probe.</summary>
    public static MeshServiceInfo ProbeContract => GameSystem.MeshTest.V1.ProbeServiceDispatcher.Info;

    /// <summary>The HttpRule examples' contract (Protos/gateway_test.proto).</summary>
    public static MeshServiceInfo MessagingContract => GameSystem.GatewayTest.V1.MessagingServiceDispatcher.Info;

    private readonly NatsConnection _serverConnection;
    private readonly NatsConnection _clientConnection;
    private readonly NatsMeshServer _server;
    private readonly SigningKeyProvider _keys;
    private readonly WebApplication _gateway;

    private GatewayHarness(NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, SigningKeyProvider keys, WebApplication gateway, NatsMeshClient invoker, Uri address)
    {
        _serverConnection = serverConnection;
        _clientConnection = clientConnection;
        _server = server;
        _keys = keys;
        _gateway = gateway;
        Invoker = invoker;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A client of the gateway.</summary>
    public HttpClient Http { get; }

    /// <summary>A mesh client on the services' prefix, to set things up behind the gateway's back.</summary>
    public IMeshCallInvoker Invoker { get; }

    public static Task<GatewayHarness> StartAsync(NatsServerFixture nats, params string[] gatewayArgs) => StartAsync(nats, [], gatewayArgs);

    /// <summary>As <see cref="StartAsync(NatsServerFixture, string[])"/>, with <paramref name="probe"/> served too and its routes on the gateway.</summary>
    public static Task<GatewayHarness> StartAsync(NatsServerFixture nats, GameSystem.Mesh.Nats.Tests.RecordingProbeService probe, params string[] gatewayArgs) =>
        StartAsync(nats, [(ProbeContract, probe)], gatewayArgs);

    /// <summary>As <see cref="StartAsync(NatsServerFixture, string[])"/>, with <paramref name="extra"/> services served too and their routes on the gateway.</summary>
    public static async Task<GatewayHarness> StartAsync(NatsServerFixture nats, IReadOnlyList<(MeshServiceInfo Contract, object Implementation)> extra, params string[] gatewayArgs)
    {
        var contracts = Contracts.AddRange(extra.Select(e => e.Contract));
        var prefix = "g" + Guid.NewGuid().ToString("N")[..10];
        var authOptions = TestIdentity.TestAuthOptions();
        var identity = IdentityOptions.Default with { Issuer = authOptions.Issuer, Audience = authOptions.Audience, ServiceSecret = authOptions.ServiceSecret };
        var store = new InMemoryStateStore();
        var serverConnection = await ServiceMesh.ConnectAsync(nats.Url, "gateway-test-server");
        var clientConnection = await ServiceMesh.ConnectAsync(nats.Url, "gateway-test-client");
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var keys = new SigningKeyProvider(new GameSystem.Auth.V1.AuthServiceClient(invoker), identity, TimeProvider.System);
        var interceptor = new IdentityServerInterceptor(new AccessTokenValidator(keys, identity, TimeProvider.System), contracts);
        var server = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix, Interceptors = [interceptor] });
        var auth = new AuthService(store, new EventOutbox("auth", TimeProvider.System), TimeProvider.System, NullLogger<AuthService>.Instance, Options.Create(authOptions));
        var time = new TimeManagerService(store, store, TimeProvider.System, NullLogger<TimeManagerService>.Instance, new EventOutbox("time-manager", TimeProvider.System));
        server.AddService(Contracts.Single(c => c.Name == "auth").Bind(auth));
        server.AddService(Contracts.Single(c => c.Name == "time-manager").Bind(time));
        var router = new GameSystem.Services.Router.RouterService(store, new EventOutbox("router", TimeProvider.System), new GameSystem.EventBus.V1.EventBusServiceClient(invoker), Options.Create(GameSystem.Services.Router.RouterOptions.Default), TimeProvider.System, NullLogger<GameSystem.Services.Router.RouterService>.Instance);
        server.AddService(Contracts.Single(c => c.Name == "router").Bind(router));
        foreach (var (contract, implementation) in extra)
        {
            server.AddService(contract.Bind(implementation));
        }

        await server.StartAsync();

        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--GameSystem:Nats:Servers={nats.Url}",
            $"--GameSystem:Mesh:SubjectPrefix={prefix}",
            $"--GameSystem:Identity:ServiceSecret={authOptions.ServiceSecret}",
            "--Logging:LogLevel:Default=Warning",
            .. gatewayArgs,
        ];
        var gateway = GatewayApplication.Build(args, extra.Count == 0 ? null : [.. GatewayApplication.Contracts, .. extra.Select(e => e.Contract)]);
        await gateway.StartAsync();
        var address = new Uri(GatewayApplication.Addresses(gateway).Single());
        return new GatewayHarness(serverConnection, clientConnection, server, keys, gateway, invoker, address);
    }

    /// <summary>A realistic username auth accepts (letters, digits, '-'), unique by its random suffix.</summary>
    public static string Username(Bogus.Faker faker) =>
        faker.Internet.UserName().ToLowerInvariant().Replace('.', '-').Replace('_', '-') + "-" + faker.Random.AlphaNumeric(6).ToLowerInvariant();

    /// <summary>Registers an account through the gateway and logs it in: its id and access token.</summary>
    public async Task<(string AccountId, string Token)> PlayerAsync(string username, CancellationToken cancellationToken)
    {
        using var registered = await PostJsonAsync("/v1/accounts:register", $$"""{"username":"{{username}}","email":"{{username}}@example.com","password":"correct horse battery","requestId":"{{Guid.NewGuid()}}"}""", cancellationToken);
        Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync(cancellationToken));
        using var login = await PostJsonAsync("/v1/auth:login", $$"""{"login":"{{username}}","password":"correct horse battery"}""", cancellationToken);
        Assert.True(login.IsSuccessStatusCode, await login.Content.ReadAsStringAsync(cancellationToken));
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync(cancellationToken));
        return (body.RootElement.GetProperty("account").GetProperty("accountId").GetString()!, body.RootElement.GetProperty("tokens").GetProperty("accessToken").GetString()!);
    }

    /// <summary>Creates a world's clock behind the gateway's back, as the administrator holding <paramref name="adminToken"/>.</summary>
    public async Task CreateClockAsync(string adminToken, string worldId, double timeScale, CancellationToken cancellationToken) =>
        await new GameSystem.TimeManager.V1.TimeManagerServiceClient(Invoker).CreateClockAsync(
            new GameSystem.TimeManager.V1.CreateClockRequest { WorldId = worldId, RequestId = Guid.NewGuid().ToString(), TimeScale = timeScale },
            BearerToken.Attach(default, adminToken).Headers,
            cancellationToken: cancellationToken);

    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json, CancellationToken cancellationToken, string? token = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        configure?.Invoke(request);
        return await Http.SendAsync(request, cancellationToken);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, CancellationToken cancellationToken, string? token = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        configure?.Invoke(request);
        return await Http.SendAsync(request, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _gateway.StopAsync();
        await _gateway.DisposeAsync();
        await _server.DisposeAsync();
        _keys.Dispose();
        await _clientConnection.DisposeAsync();
        await _serverConnection.DisposeAsync();
    }
}
