using GameSystem.CapabilityRegistry.V1;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>WatchProviders: joins, health changes, leaves and expiries, across instances.</summary>
public abstract partial class CapabilityRegistryContract
{
    private const string Complete = "<snapshot complete>";

    [Fact(Timeout = 60_000)]
    public async Task Watch_OnOneInstance_SeesJoinsHealthChangesLeavesAndExpiries_MadeThroughAnother()
    {
        await using var mesh = await StartAsync();
        var present = (await RegisterAsync(mesh.Client, NewInstance(capabilities: ["weather.forecast"]))).Instance;
        await RegisterAsync(mesh.Client, NewInstance(service: "ai-router", capabilities: ["ai.route"]));
        await using var watch = new WatchReader(mesh.ClientB, new WatchProvidersRequest { Capabilities = { "weather.forecast" }, SendInitial = true }, Timeout);
        Assert.Equal([(ProviderChangeType.Registered, present.InstanceId, "weather.forecast"), (ProviderChangeType.Unspecified, "", Complete)], await watch.TakeAsync(2));

        var lapsing = (await RegisterAsync(mesh.Client, NewInstance(ttl: TimeSpan.FromMilliseconds(1500), capabilities: ["weather.forecast", "weather.alerts"]))).Instance;
        await RegisterAsync(mesh.Client, NewInstance(service: "ai-router", capabilities: ["ai.route"]));
        await mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = lapsing.InstanceId, LeaseId = lapsing.LeaseId, Load = 0.5 }, cancellationToken: Timeout);
        await mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = lapsing.InstanceId, LeaseId = lapsing.LeaseId, Health = InstanceHealth.Degraded }, cancellationToken: Timeout);
        await mesh.Client.DeregisterAsync(new DeregisterRequest { InstanceId = present.InstanceId }, cancellationToken: Timeout);

        Assert.Equal(
            [
                (ProviderChangeType.Registered, lapsing.InstanceId, "weather.forecast"),
                (ProviderChangeType.HealthChanged, lapsing.InstanceId, "weather.forecast"),
                (ProviderChangeType.Deregistered, present.InstanceId, "weather.forecast"),
                (ProviderChangeType.Expired, lapsing.InstanceId, "weather.forecast"),
            ],
            await watch.TakeAsync(4));
        Assert.Null(await watch.NextOrNullAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Watch_ReportsTheLastKnownState_OfAnExpiredProvider()
    {
        await using var mesh = await StartAsync();
        await using var watch = new WatchReader(mesh.Client, new WatchProvidersRequest { SendInitial = true }, Timeout);
        Assert.True((await watch.NextAsync()).InitialSnapshotComplete);
        var instance = NewInstance(ttl: ShortTtl);
        instance.Load = 0.25;

        var registered = (await RegisterAsync(mesh.ClientB, instance)).Instance;
        var joined = await watch.NextAsync();
        var expired = await watch.NextAsync();

        Assert.Equal((ProviderChangeType.Registered, ProviderChangeType.Expired), (joined.ChangeType, expired.ChangeType));
        var expected = registered.Clone();
        expected.LeaseId = "";
        Assert.Equal(expected, expired.Provider.Instance);
        Assert.Equal(instance.Capabilities[0], expired.Provider.Capability);
        Assert.True(DateTimeOffset.UtcNow >= registered.ExpireTime.ToDateTimeOffset());
    }

    [Fact(Timeout = 60_000)]
    public async Task Watch_OfEveryCapability_SeesAReRegistrationDropACapability()
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance(capabilities: ["weather.forecast", "weather.alerts"]);
        await RegisterAsync(mesh.Client, instance);
        await using var all = new WatchReader(mesh.Client, new WatchProvidersRequest { SendInitial = true }, Timeout);
        await using var alerts = new WatchReader(mesh.ClientB, new WatchProvidersRequest { Capabilities = { "weather.alerts" }, SendInitial = true }, Timeout);
        Assert.Equal(3, (await all.TakeAsync(3)).Count);
        Assert.Equal([(ProviderChangeType.Registered, instance.InstanceId, "weather.alerts"), (ProviderChangeType.Unspecified, "", Complete)], await alerts.TakeAsync(2));

        instance.Capabilities.RemoveAt(1);
        await RegisterAsync(mesh.ClientB, instance);

        Assert.Equal(
            [(ProviderChangeType.Deregistered, instance.InstanceId, "weather.alerts"), (ProviderChangeType.Registered, instance.InstanceId, "weather.forecast")],
            await all.TakeAsync(2));
        Assert.Equal([(ProviderChangeType.Deregistered, instance.InstanceId, "weather.alerts")], await alerts.TakeAsync(1));
    }

    [Fact(Timeout = 60_000)]
    public async Task Watch_WithoutInitial_StreamsOnlyChangesAfterItStarted()
    {
        await using var mesh = await StartAsync();
        var before = (await RegisterAsync(mesh.Client, NewInstance(capabilities: ["world.state"]))).Instance;
        await using var watch = new WatchReader(mesh.ClientB, new WatchProvidersRequest { Capabilities = { "world.state" } }, Timeout);

        // Until the stream's subscription is in place a change may precede it: re-register a probe until one shows.
        var probe = NewInstance(service: "world-state", capabilities: ["world.state"]);
        WatchProvidersResponse? first = null;
        for (var attempt = 0; attempt < 40 && first is null; attempt++)
        {
            await RegisterAsync(mesh.Client, probe);
            first = await watch.NextOrNullAsync(TimeSpan.FromMilliseconds(250));
        }

        Assert.NotNull(first);
        Assert.Equal((ProviderChangeType.Registered, probe.InstanceId), (first.ChangeType, first.Provider.Instance.InstanceId));
        var later = (await RegisterAsync(mesh.Client, NewInstance(capabilities: ["world.state"]))).Instance;
        var seen = new List<WatchProvidersResponse>();
        while (await watch.NextOrNullAsync(TimeSpan.FromMilliseconds(500)) is { } message)
        {
            seen.Add(message);
        }

        Assert.Contains(seen, m => m.Provider.Instance.InstanceId == later.InstanceId && m.ChangeType == ProviderChangeType.Registered);
        Assert.DoesNotContain(seen, m => m.Provider.Instance.InstanceId == before.InstanceId);
        Assert.All(seen, m => Assert.False(m.InitialSnapshotComplete));
    }

    [Fact(Timeout = 30_000)]
    public async Task Watch_Malformed_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        await using var watch = new WatchReader(mesh.Client, new WatchProvidersRequest { Capabilities = { "weather.forecast", "Weather" } }, Timeout);

        var error = await watch.FailureAsync();

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["capabilities[1]"], ViolatedFields(error));
    }

    // ---- CapabilityRegistration (the host's side) ----

    private static CapabilityRegistration NewRegistration(RegistryHarness mesh, string instanceId, TimeSpan ttl) =>
        new(mesh.Client, "weather-manager", instanceId, "gs.weather-manager", [new Capability { Name = "weather.forecast", Version = "v1" }], ttl);

    [Fact(Timeout = 30_000)]
    public async Task Registration_HeartbeatsKeepItAlive_PastItsTtl_OnOneLease()
    {
        await using var mesh = await StartAsync();
        var id = NewInstanceId();
        await using var registration = NewRegistration(mesh, id, ShortTtl);
        await registration.StartAsync(Timeout);
        var lease = registration.Current!.LeaseId;

        await Task.Delay(ShortTtl * 2.5, Timeout);

        var read = (await mesh.Client.GetInstanceAsync(new GetInstanceRequest { InstanceId = id }, cancellationToken: Timeout)).Instance;
        Assert.Equal(lease, registration.Current!.LeaseId);
        Assert.True(read.LastHeartbeatTime.ToDateTimeOffset() > read.RegisterTime.ToDateTimeOffset() + ShortTtl);
        Assert.Single((await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout)).Providers);
    }

    [Fact(Timeout = 30_000)]
    public async Task Registration_Stop_DeregistersAtOnce()
    {
        await using var mesh = await StartAsync();
        var id = NewInstanceId();
        await using var registration = NewRegistration(mesh, id, TimeSpan.FromSeconds(30));
        await registration.StartAsync(Timeout);
        Assert.True(await IsRegisteredAsync(mesh.Client, id));

        await registration.StopAsync(Timeout);

        Assert.False(await IsRegisteredAsync(mesh.Client, id));
        Assert.Null(registration.Current);
    }

    [Fact(Timeout = 30_000)]
    public async Task Registration_DisposedWithoutStop_ExpiresAtItsTtl_AsAfterACrash()
    {
        await using var mesh = await StartAsync();
        var id = NewInstanceId();
        var registration = NewRegistration(mesh, id, ShortTtl);
        await registration.StartAsync(Timeout);
        var expireTime = registration.Current!.ExpireTime.ToDateTimeOffset();

        await registration.DisposeAsync();

        Assert.True(await IsRegisteredAsync(mesh.Client, id));
        await EventuallyAsync(async () => !await IsRegisteredAsync(mesh.Client, id), "the crashed registration to expire", ShortTtl * 3);
        Assert.True(DateTimeOffset.UtcNow >= expireTime - TimeSpan.FromMilliseconds(50));
    }

    [Fact(Timeout = 30_000)]
    public async Task Registration_WhoseLeaseIsLost_RegistersAgain()
    {
        await using var mesh = await StartAsync();
        var id = NewInstanceId();
        await using var registration = NewRegistration(mesh, id, ShortTtl);
        await registration.StartAsync(Timeout);
        var first = registration.Current!.LeaseId;

        await mesh.ClientB.DeregisterAsync(new DeregisterRequest { InstanceId = id }, cancellationToken: Timeout);

        await EventuallyAsync(async () => await IsRegisteredAsync(mesh.Client, id), "the registration to register again", ShortTtl * 3);
        Assert.NotEqual(first, registration.Current?.LeaseId);
        await registration.StopAsync(Timeout);
        Assert.False(await IsRegisteredAsync(mesh.Client, id));
    }
}
