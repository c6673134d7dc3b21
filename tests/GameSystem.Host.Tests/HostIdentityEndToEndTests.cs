using GameSystem.Auth.V1;
using GameSystem.CapabilityRegistry.V1;
using Registration = GameSystem.CapabilityRegistry.V1.RegisterRequest;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// The whole identity story on the real host: a player registers and logs in with auth, calls
/// another service with the token, and the host's services call each other as their own
/// service accounts (an internal method accepts them, refuses the player).
/// </summary>
public sealed class HostIdentityEndToEndTests(NatsServerFixture nats)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task PlayerToken_ReachesServices_AndServicesCallAsTheirOwnAccounts()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await IdentityHost.StartServingAsync(nats, prefix, "auth,time-manager,capability-registry", Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var invoker = new NatsMeshClient(caller.Connection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var bearer = await IdentityHost.LoginAsync(new AuthServiceClient(invoker), "aria", Cancellation);

        // The player's token opens time-manager's reads; no token does not.
        var clocks = await caller.TimeManager.ListClocksAsync(new ListClocksRequest(), bearer, cancellationToken: Cancellation);
        Assert.Empty(clocks.Clocks);
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "hub" }, cancellationToken: Cancellation).AsTask());
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);

        // time-manager registered itself with capability-registry, whose Register is internal:
        // it did so as svc-time-manager. A player calling it is refused.
        var registry = new CapabilityRegistryServiceClient(invoker);
        ListProvidersResponse providers = new();
        for (var attempt = 0; attempt < 100 && providers.Providers.Count == 0; attempt++)
        {
            await Task.Delay(100, Cancellation);
            providers = await registry.ListProvidersAsync(new ListProvidersRequest { Capability = "time.clock" }, bearer, cancellationToken: Cancellation);
        }

        Assert.Equal("time-manager", Assert.Single(providers.Providers).Instance.ServiceName);
        var forged = new Registration { Instance = providers.Providers[0].Instance.Clone() };
        forged.Instance.InstanceId = "impostor-1";
        var refused = await Assert.ThrowsAsync<RpcException>(() => registry.RegisterAsync(forged, bearer, cancellationToken: Cancellation).AsTask());
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }
}
