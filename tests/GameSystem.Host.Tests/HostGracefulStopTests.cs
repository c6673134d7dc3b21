using System.Diagnostics;
using GameSystem.Auth.V1;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using NATS.Client.JetStream;

namespace GameSystem.Host.Tests;

/// <summary>
/// SIGTERM to a host that runs every implemented service, and so serves its own event-bus,
/// capability-registry and auth: it ends what it sends itself while they still answer (its
/// subscriptions to its own event-bus, its registrations, its outbox deliveries), then drains,
/// so the stop is quick and leaves nothing half done.
/// </summary>
public sealed class HostGracefulStopTests(NatsServerFixture nats)
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(15);

    // A correctness bound, not a measurement: far below the timeout a stop would wait out, with room for a busy 2-core machine.
    private static readonly TimeSpan QuickStop = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(40);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static string[] StopSettings => ["--GameSystem:Mesh:ShutdownTimeout", ShutdownTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture)];

    [Fact(Timeout = 120_000)]
    public async Task Sigterm_WithEveryImplementedService_ExitsWellWithinTheShutdownTimeout_HavingDoneEveryStep()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await IdentityHost.StartServingAsync(nats, prefix, "all", Cancellation, StopSettings);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var registered = IdentityHost.Registered(host);
        Assert.True(registered.Count >= 7, $"Only {registered.Count} instances registered.\n{host.Transcript}");
        Assert.DoesNotContain(host.Output, line => line.Contains("Could not register", StringComparison.Ordinal));

        // What used to hold the stop for the whole timeout: router follows its table through a
        // Subscribe stream that this host's own event-bus serves.
        await WaitForASubscriptionAsync(caller, prefix, host);

        var stopping = Stopwatch.StartNew();
        host.Terminate();
        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);
        var took = stopping.Elapsed;

        Assert.True(exitCode == 0, $"The host exited with {exitCode}.\n{host.Transcript}");
        Assert.True(took < QuickStop, $"The stop took {took.TotalSeconds:0.0} s (shutdown timeout {ShutdownTimeout.TotalSeconds} s).\n{host.Transcript}");
        Assert.Contains(host.Output, line => line.Contains("Stopped gracefully in", StringComparison.Ordinal));
        foreach (var cutShort in new[] { "Shutdown timeout passed", "Graceful stop:", "stopped before delivering everything", "cannot take the events", "Could not deregister" })
        {
            Assert.False(host.Output.Any(line => line.Contains(cutShort, StringComparison.Ordinal)), $"The stop logged '{cutShort}'.\n{host.Transcript}");
        }

        foreach (var instance in registered)
        {
            Assert.True(host.Output.Any(line => line.Contains($"Deregistered {instance} from capability-registry", StringComparison.Ordinal)), $"{instance} was not deregistered.\n{host.Transcript}");
        }
    }

    [Fact(Timeout = 150_000)]
    public async Task Sigterm_DeregistersEveryInstance_SoAnotherHostsRegistrySeesThemGoneAtOnce()
    {
        // The registry's state outlives the stopping host only in a store the two hosts share.
        await using var redis = await RedisServerFixture.StartAsync();
        var prefix = MeshCaller.NewPrefix();
        string[] store = ["--GameSystem:Store:Redis", $"127.0.0.1:{redis.Port}"];

        // A lease far longer than the test: an instance gone was deregistered, not expired.
        await using var stopped = await IdentityHost.StartServingAsync(nats, prefix, "all", Cancellation, [.. StopSettings, .. store, "--GameSystem:Capabilities:Ttl", "00:02:00"]);
        await using var observer = await IdentityHost.StartServingAsync(nats, prefix, "auth,capability-registry", Cancellation, store);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var invoker = new NatsMeshClient(caller.Connection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var bearer = await IdentityHost.LoginAsync(new AuthServiceClient(invoker), "aria", Cancellation);
        var registry = new CapabilityRegistryServiceClient(invoker);
        var registered = IdentityHost.Registered(stopped);
        var hostId = TimeManagerHost.InstanceId(stopped);
        Assert.Equal(registered.Order(StringComparer.Ordinal), (await InstancesOfAsync(registry, bearer, hostId)).Order(StringComparer.Ordinal));

        var stopping = Stopwatch.StartNew();
        stopped.Terminate();
        Assert.Equal(0, await stopped.WaitForExitAsync(ExitTimeout, Cancellation));
        Assert.True(stopping.Elapsed < QuickStop, $"The stop took {stopping.Elapsed.TotalSeconds:0.0} s.\n{stopped.Transcript}");

        // Asked of the observer's registry (the only one left), right away.
        Assert.Empty(await InstancesOfAsync(registry, bearer, hostId));
        var clocks = await registry.ListProvidersAsync(new ListProvidersRequest { Capability = "time.clock" }, bearer, cancellationToken: Cancellation);
        Assert.Empty(clocks.Providers);
        Assert.False(observer.HasExited, $"The observer stopped too.\n{observer.Transcript}");
    }

    [Fact(Timeout = 150_000)]
    public async Task ACrashedHostsInstances_StayUntilTheirLeaseEnds_ThenAreGone()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var prefix = MeshCaller.NewPrefix();
        string[] store = ["--GameSystem:Store:Redis", $"127.0.0.1:{redis.Port}"];
        await using var registryHost = await IdentityHost.StartServingAsync(nats, prefix, "auth,capability-registry", Cancellation, store);

        // The shortest lease the registry grants, so the test waits seconds, not minutes.
        var lease = TimeSpan.FromSeconds(5);
        await using var crashed = await IdentityHost.StartServingAsync(nats, prefix, "time-manager,language-system", Cancellation, ["--GameSystem:Capabilities:Ttl", "00:00:05"]);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var invoker = new NatsMeshClient(caller.Connection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var bearer = await IdentityHost.LoginAsync(new AuthServiceClient(invoker), "aria", Cancellation);
        var registry = new CapabilityRegistryServiceClient(invoker);
        var hostId = TimeManagerHost.InstanceId(crashed);
        var registered = IdentityHost.Registered(crashed);
        for (var waited = Stopwatch.StartNew(); registered.Count < 2; registered = IdentityHost.Registered(crashed))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"The host did not register both its instances.\n{crashed.Transcript}");
            await Task.Delay(100, Cancellation);
        }

        crashed.Crash();
        await crashed.WaitForExitAsync(ExitTimeout, Cancellation);
        var crashedAt = Stopwatch.StartNew();

        // Nothing deregistered them: they are still there (unless the lease already ran out).
        var listed = await InstancesOfAsync(registry, bearer, hostId);
        if (crashedAt.Elapsed < lease - TimeSpan.FromSeconds(1))
        {
            Assert.Equal(registered.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        }

        // Then the store's TTL ends them: gone within the lease (plus a margin for a busy machine), never returned after.
        while (listed.Count > 0)
        {
            Assert.True(crashedAt.Elapsed < lease + TimeSpan.FromSeconds(15), $"The crashed host's instances outlived their lease: {string.Join(", ", listed)}");
            await Task.Delay(250, Cancellation);
            listed = await InstancesOfAsync(registry, bearer, hostId);
        }

        var clocks = await registry.ListProvidersAsync(new ListProvidersRequest { Capability = "time.clock" }, bearer, cancellationToken: Cancellation);
        Assert.Empty(clocks.Providers);
    }

    /// <summary>Every registered instance of the host <paramref name="hostId"/>, read through every page.</summary>
    private static async Task<List<string>> InstancesOfAsync(CapabilityRegistryServiceClient registry, Grpc.Core.Metadata bearer, string hostId)
    {
        var found = new List<string>();
        var request = new ListInstancesRequest { PageSize = 500 };
        for (var page = 0; page < 100; page++)
        {
            var response = await registry.ListInstancesAsync(request, bearer, cancellationToken: Cancellation);
            found.AddRange(response.Instances.Select(i => i.InstanceId).Where(id => id.EndsWith("-" + hostId, StringComparison.Ordinal)));
            if (response.NextPageToken.Length == 0)
            {
                return found;
            }

            request.PageToken = response.NextPageToken;
        }

        throw new InvalidOperationException("ListInstances did not reach its last page.");
    }

    /// <summary>Waits until the JetStream stream behind event-bus's <c>events</c> has a consumer: a Subscribe is open on it.</summary>
    private static async Task WaitForASubscriptionAsync(MeshCaller caller, string prefix, HostProcess host)
    {
        var js = new NatsJSContext(caller.Connection);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var stream = await js.GetStreamAsync($"{prefix}-eventbus-events", cancellationToken: Cancellation);
                if (stream.Info.State.ConsumerCount > 0)
                {
                    return;
                }
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                // event-bus declares its streams as it starts.
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"No Subscribe stream opened on event-bus within 30 s.\n{host.Transcript}");
            }

            await Task.Delay(100, Cancellation);
        }
    }
}
