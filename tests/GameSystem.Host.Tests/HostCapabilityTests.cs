using GameSystem.CapabilityRegistry.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;

namespace GameSystem.Host.Tests;

/// <summary>The host registers what each served instance's contract says it provides, and takes it back when it stops.</summary>
public sealed class HostCapabilityTests(NatsServerFixture nats, RedisServerFixture redis)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task ServedInstances_AreProvidersOfTheirContractsCapabilities_UntilTheHostStops()
    {
        // capability-registry takes registrations from service accounts only, so identity is on:
        // auth runs in a host of its own, which outlives the others.
        var prefix = MeshCaller.NewPrefix();
        string[] mesh = ["--nats", nats.Url, "--GameSystem:Mesh:SubjectPrefix", prefix];
        await using var authHost = HostProcess.Start(["--services", "auth", .. mesh], IdentityHost.Environment());
        await authHost.WaitForOutputAsync(line => line.Contains($"{prefix}.gamesystem.auth.v1.AuthService.*", StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);

        // The two registry instances share one store, as one deployment's do.
        string[] registryStore = ["--GameSystem:Store:Redis", redis.ConnectionString];
        await using var host = HostProcess.Start(["--services", "capability-registry,time-manager", .. mesh, .. registryStore], IdentityHost.Environment());
        await host.WaitForOutputAsync(line => line.Contains(TimeManagerHost.Subject(prefix), StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var player = await IdentityHost.LoginAsync(caller.Auth, "lookout", Cancellation);
        var registry = new CapabilityRegistryServiceClient(new NatsMeshClient(caller.Connection, MeshClientOptions.Default with { SubjectPrefix = prefix }));

        // Registration runs beside start-up; give it a bounded while.
        ListProvidersResponse providers = new();
        for (var attempt = 0; attempt < 100 && providers.Providers.Count == 0; attempt++)
        {
            await Task.Delay(100, Cancellation);
            providers = await registry.ListProvidersAsync(new ListProvidersRequest { Capability = "time.clock" }, player, cancellationToken: Cancellation);
        }

        var instance = Assert.Single(providers.Providers).Instance;
        Assert.Equal("time-manager", instance.ServiceName);
        Assert.Equal(prefix, instance.Endpoint);
        Assert.Contains(instance.Capabilities, c => c.Name == "time.timers");
        var registryItself = await registry.ListProvidersAsync(new ListProvidersRequest { Capability = "discovery.providers" }, player, cancellationToken: Cancellation);
        Assert.Equal("capability-registry", Assert.Single(registryItself.Providers).Instance.ServiceName);

        // A second host keeps serving the registry, so the first one's leave is visible.
        await using var registryHost = HostProcess.Start(["--services", "capability-registry", .. mesh, .. registryStore], IdentityHost.Environment());
        await registryHost.WaitForOutputAsync(line => line.Contains("capability-registry", StringComparison.Ordinal) && line.Contains("implemented", StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);
        host.Terminate();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30), Cancellation));

        var after = await registry.ListProvidersAsync(new ListProvidersRequest { Capability = "time.clock" }, player, cancellationToken: Cancellation);
        Assert.Empty(after.Providers);
    }
}
