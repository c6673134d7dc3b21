using GameSystem.CapabilityRegistry.V1;
using GameSystem.Services.Testing;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>Who may call what, behind the runtime's identity interceptor, with tokens the real auth issued.</summary>
public abstract partial class CapabilityRegistryContract
{
    /// <summary>Register, Heartbeat and Deregister of <paramref name="registered"/>, each failing with <paramref name="code"/> and naming <paramref name="mentions"/>.</summary>
    private static async Task EveryWriteFailsAsync(CapabilityRegistryServiceClient client, Instance registered, StatusCode code, params string[] mentions)
    {
        await FailsAsync(code, () => RegisterAsync(client, registered), ["Register", .. mentions]);
        await FailsAsync(code, () => client.HeartbeatAsync(new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout).AsTask(), ["Heartbeat", .. mentions]);
        await FailsAsync(code, () => client.DeregisterAsync(new DeregisterRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout).AsTask(), ["Deregister", .. mentions]);
    }

    private static async Task WatchToTheEndAsync(CapabilityRegistryServiceClient client)
    {
        await foreach (var _ in client.WatchProvidersAsync(new WatchProvidersRequest { Capabilities = { "weather.forecast" }, SendInitial = true }, cancellationToken: Timeout))
        {
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Calls_WithoutAToken_AreUnauthenticated()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance())).Instance;
        var anonymous = mesh.ClientAs(TestCaller.Anonymous);

        await EveryWriteFailsAsync(anonymous, registered, StatusCode.Unauthenticated, "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.GetInstanceAsync(new GetInstanceRequest { InstanceId = registered.InstanceId }, cancellationToken: Timeout).AsTask(), "GetInstance");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.ListInstancesAsync(new ListInstancesRequest(), cancellationToken: Timeout).AsTask(), "ListInstances");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout).AsTask(), "ListProviders");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.ListCapabilitiesAsync(new ListCapabilitiesRequest(), cancellationToken: Timeout).AsTask(), "ListCapabilities");
        await FailsAsync(StatusCode.Unauthenticated, () => WatchToTheEndAsync(anonymous), "WatchProviders");
        Assert.True(await IsRegisteredAsync(mesh.Client, registered.InstanceId));
    }

    [Fact(Timeout = 30_000)]
    public async Task Writes_ByAPlayer_OrAnOperatorHoldingEveryScope_ArePermissionDenied_WhileTheyRead()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance())).Instance;
        var player = await mesh.Identity.PlayerAsync(Timeout);
        var root = await mesh.Identity.OperatorAsync("*", Timeout);

        // Only services keep instances: holding scopes does not make an operator one.
        await EveryWriteFailsAsync(mesh.ClientAs(player), registered, StatusCode.PermissionDenied, "only services", player.Subject);
        await EveryWriteFailsAsync(mesh.ClientAs(root), registered, StatusCode.PermissionDenied, "only services", root.Subject);

        var reader = mesh.ClientAs(player);
        var provider = Assert.Single((await reader.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout)).Providers);
        Assert.Equal((registered.InstanceId, ""), (provider.Instance.InstanceId, provider.Instance.LeaseId));
        Assert.Equal(registered.InstanceId, (await reader.GetInstanceAsync(new GetInstanceRequest { InstanceId = registered.InstanceId }, cancellationToken: Timeout)).Instance.InstanceId);

        // None of the refused writes touched the lease: its holder still heartbeats with it.
        var beat = await mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout);
        Assert.True(beat.ExpireTime.ToDateTimeOffset() >= registered.ExpireTime.ToDateTimeOffset());
    }

    [Fact(Timeout = 30_000)]
    public async Task AnotherServiceAccount_Registers_AndAPlayerFindsItsInstance()
    {
        await using var mesh = await StartAsync();
        var timeManager = await mesh.Identity.ServiceAsync("time-manager", Timeout);
        var player = await mesh.Identity.PlayerAsync(Timeout);

        var registered = (await RegisterAsync(mesh.ClientAs(timeManager), NewInstance(service: "time-manager", capabilities: ["time.clock"]))).Instance;
        var providers = (await mesh.ClientAs(player).ListProvidersAsync(new ListProvidersRequest { Capability = "time.clock" }, cancellationToken: Timeout)).Providers;

        Assert.Equal("svc-time-manager", timeManager.Subject);
        Assert.True(timeManager.Principal!.IsService);
        Assert.Equal(registered.InstanceId, Assert.Single(providers).Instance.InstanceId);
    }

    [Fact(Timeout = 30_000)]
    public async Task WithoutTheIdentityInterceptor_EveryMethodFailsClosed_WhateverTokenIsSent()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance())).Instance;

        // The host's service token reaches these handlers unverified.
        var unverified = await mesh.StartUnverifiedInstanceAsync();

        await EveryWriteFailsAsync(unverified, registered, StatusCode.Unauthenticated, "needs a service account's access token", "no verified caller");
        await FailsAsync(StatusCode.Unauthenticated, () => unverified.GetInstanceAsync(new GetInstanceRequest { InstanceId = registered.InstanceId }, cancellationToken: Timeout).AsTask(), "GetInstance needs an access token");
        await FailsAsync(StatusCode.Unauthenticated, () => unverified.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout).AsTask(), "ListProviders needs an access token");
        await FailsAsync(StatusCode.Unauthenticated, () => WatchToTheEndAsync(unverified), "WatchProviders needs an access token");
        Assert.True(await IsRegisteredAsync(mesh.Client, registered.InstanceId));
    }
}
