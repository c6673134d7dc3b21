using GameSystem.CapabilityRegistry.V1;
using GameSystem.Services.CapabilityRegistry.Internal;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>Expiry as every reader sees it, and the listings.</summary>
public abstract partial class CapabilityRegistryContract
{
    // ---- Expiry ----

    [Fact(Timeout = 30_000)]
    public async Task ExpiredRegistration_IsNeverReturned_ByAnyRead()
    {
        await using var mesh = await StartAsync();
        var lapsing = (await RegisterAsync(mesh.Client, NewInstance(ttl: ShortTtl, capabilities: ["ai.generate.dialogue"]))).Instance;
        var staying = (await RegisterAsync(mesh.Client, NewInstance(service: "ai-router", capabilities: ["ai.generate.dialogue"]))).Instance;

        await Task.Delay(lapsing.ExpireTime.ToDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50), Timeout);

        Assert.False(await IsRegisteredAsync(mesh.ClientB, lapsing.InstanceId));
        Assert.Equal([staying.InstanceId], (await mesh.ClientB.ListInstancesAsync(new ListInstancesRequest(), cancellationToken: Timeout)).Instances.Select(i => i.InstanceId));
        Assert.Empty((await mesh.ClientB.ListInstancesAsync(new ListInstancesRequest { ServiceName = "weather-manager" }, cancellationToken: Timeout)).Instances);
        Assert.Equal([staying.InstanceId], (await mesh.ClientB.ListProvidersAsync(new ListProvidersRequest { Capability = "ai.generate.dialogue" }, cancellationToken: Timeout)).Providers.Select(p => p.Instance.InstanceId));
        var summary = Assert.Single((await mesh.ClientB.ListCapabilitiesAsync(new ListCapabilitiesRequest(), cancellationToken: Timeout)).Capabilities);
        Assert.Equal(1, summary.ProviderCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task ExpiredRegistration_IsSweptFromEveryIndex_AndReportedOnce()
    {
        await using var mesh = await StartAsync();
        var lapsing = (await RegisterAsync(mesh.Client, NewInstance(ttl: ShortTtl, capabilities: ["weather.forecast", "weather.alerts"]))).Instance;

        // No read touches it: the sweepers (two instances racing) find the lapse by themselves.
        await EventuallyAsync(async () => (await mesh.MembersAsync(StoreKeys.ByIdIndex, Timeout)).Count == 0, "the sweeper to process the lapse", TimeSpan.FromSeconds(5));

        Assert.Empty(await mesh.MembersAsync(StoreKeys.ByCapabilityIndex, Timeout));
        Assert.Empty(await mesh.MembersAsync(StoreKeys.ByServiceIndex, Timeout));
        Assert.Empty(await mesh.MembersAsync(StoreKeys.ExpiryIndex, Timeout));
        Assert.Null(await mesh.Store.GetAsync(StoreKeys.Last(lapsing.InstanceId), Timeout));
        var events = await mesh.StoredEventsAsync(2, Timeout);
        var changes = events.Select(e => GameSystem.CapabilityRegistry.V1.InstanceChanged.Parser.ParseFrom(e.Payload)).ToList();
        Assert.Equal([ProviderChangeType.Registered, ProviderChangeType.Expired], changes.Select(c => c.ChangeType));
        Assert.All(events, e => Assert.Equal(("capability.instance.changed", "instances/" + lapsing.InstanceId, "capability-registry"), (e.Type, e.Subject, e.Source)));
        Assert.Equal(2, events.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(lapsing.LeaseId, changes[1].Instance.LeaseId);
    }

    [Fact(Timeout = 30_000)]
    public async Task IndexMembersOutlivingTheirEntry_AreDroppedByReaders_AndCleanedUp()
    {
        // No sweeper runs: only readers find the lapse.
        await using var mesh = await StartAsync(TestOptions with { RunSweeper = false });
        var lapsing = (await RegisterAsync(mesh.Client, NewInstance(ttl: ShortTtl))).Instance;
        await Task.Delay(lapsing.ExpireTime.ToDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100), Timeout);
        Assert.Equal([lapsing.InstanceId], await mesh.MembersAsync(StoreKeys.ByIdIndex, Timeout));

        var listed = await mesh.Client.ListInstancesAsync(new ListInstancesRequest(), cancellationToken: Timeout);

        Assert.Empty(listed.Instances);
        Assert.Empty(await mesh.MembersAsync(StoreKeys.ByIdIndex, Timeout));
        Assert.Empty(await mesh.MembersAsync(StoreKeys.ByCapabilityIndex, Timeout));
        Assert.Empty(await mesh.MembersAsync(StoreKeys.ExpiryIndex, Timeout));
        Assert.Null(await mesh.Store.GetAsync(StoreKeys.Last(lapsing.InstanceId), Timeout));
        var expired = (await mesh.StoredEventsAsync(2, Timeout))[1];
        Assert.Equal(ProviderChangeType.Expired, GameSystem.CapabilityRegistry.V1.InstanceChanged.Parser.ParseFrom(expired.Payload).ChangeType);
    }

    [Fact(Timeout = 30_000)]
    public async Task Sweep_OfALiveLeaseWithAStaleExpiryMember_RemovesOnlyTheMember()
    {
        await using var mesh = await StartAsync(TestOptions with { RunSweeper = false });
        var live = (await RegisterAsync(mesh.Client, NewInstance())).Instance;
        var stale = StoreKeys.ExpiryMember(DateTimeOffset.UtcNow.AddSeconds(-1), live.InstanceId);
        await mesh.Store.ExecuteAsync(new State.StateTransaction().IndexAdd(StoreKeys.ExpiryIndex, stale), Timeout);

        var next = await mesh.ServiceA.SweepAsync(Timeout);

        Assert.Equal([StoreKeys.ExpiryMember(live)], await mesh.MembersAsync(StoreKeys.ExpiryIndex, Timeout));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(live.ExpireTime.ToDateTimeOffset().ToUnixTimeMilliseconds()), next);
        Assert.True(await IsRegisteredAsync(mesh.Client, live.InstanceId));
    }

    // ---- ListInstances ----

    [Fact(Timeout = 60_000)]
    public async Task ListInstances_IsOrderedById_InPagesThatJoinUp()
    {
        await using var mesh = await StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            var service = i % 3 == 0 ? "ai-router" : "weather-manager";
            ids.Add((await RegisterAsync(i % 2 == 0 ? mesh.Client : mesh.ClientB, NewInstance(service: service))).Instance.InstanceId);
        }

        var pages = new List<ListInstancesResponse>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListInstancesAsync(new ListInstancesRequest { PageSize = 5, PageToken = token }, cancellationToken: Timeout);
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal([5, 5, 5, 5, 3], pages.Select(p => p.Instances.Count));
        Assert.Equal(ids.Order(StringComparer.Ordinal), pages.SelectMany(p => p.Instances).Select(i => i.InstanceId));
        var routers = await mesh.Client.ListInstancesAsync(new ListInstancesRequest { ServiceName = "ai-router", PageSize = 500 }, cancellationToken: Timeout);
        Assert.Equal(ids.Where(id => id.StartsWith("ai-router-", StringComparison.Ordinal)).Order(StringComparer.Ordinal), routers.Instances.Select(i => i.InstanceId));
        Assert.Equal("", routers.NextPageToken);
        var exact = await mesh.Client.ListInstancesAsync(new ListInstancesRequest { PageSize = 23 }, cancellationToken: Timeout);
        Assert.Equal(("", 23), (exact.NextPageToken, exact.Instances.Count));
    }

    [Fact(Timeout = 30_000)]
    public async Task ListInstances_FiltersByServiceAndHealth_AcrossPages()
    {
        await using var mesh = await StartAsync();
        var degraded = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var instance = NewInstance();
            instance.Health = i % 2 == 0 ? InstanceHealth.Degraded : InstanceHealth.Serving;
            var id = (await RegisterAsync(mesh.Client, instance)).Instance.InstanceId;
            if (i % 2 == 0)
            {
                degraded.Add(id);
            }
        }

        await RegisterAsync(mesh.Client, NewInstance(service: "weather-managers"));
        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListInstancesAsync(new ListInstancesRequest { ServiceName = "weather-manager", Health = InstanceHealth.Degraded, PageSize = 3, PageToken = token }, cancellationToken: Timeout);
            seen.AddRange(page.Instances.Select(i => i.InstanceId));
            Assert.All(page.Instances, i => Assert.Equal(("weather-manager", InstanceHealth.Degraded), (i.ServiceName, i.Health)));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(degraded.Order(StringComparer.Ordinal), seen);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListInstances_Malformed_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        var providersToken = await ProvidersTokenAsync(mesh);

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListInstancesAsync(new ListInstancesRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask(), "page_size");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListInstancesAsync(new ListInstancesRequest { PageSize = -1 }, cancellationToken: Timeout).AsTask(), "page_size");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListInstancesAsync(new ListInstancesRequest { PageToken = "not a token" }, cancellationToken: Timeout).AsTask(), "page_token");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListInstancesAsync(new ListInstancesRequest { PageToken = providersToken }, cancellationToken: Timeout).AsTask(), "ListInstances");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListInstancesAsync(new ListInstancesRequest { ServiceName = "Bad Name" }, cancellationToken: Timeout).AsTask(), "service_name");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListInstancesAsync(new ListInstancesRequest { Health = (InstanceHealth)7 }, cancellationToken: Timeout).AsTask(), "health");
    }

    private async Task<string> ProvidersTokenAsync(RegistryHarness mesh)
    {
        await RegisterAsync(mesh.Client, NewInstance());
        await RegisterAsync(mesh.Client, NewInstance());
        var page = await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast", PageSize = 1 }, cancellationToken: Timeout);
        Assert.NotEqual("", page.NextPageToken);
        return page.NextPageToken;
    }

    // ---- ListProviders ----

    [Fact(Timeout = 30_000)]
    public async Task ListProviders_ReturnsTheBestFirst_LeavingDrainingOutUnlessAsked()
    {
        await using var mesh = await StartAsync();
        async Task<string> AddAsync(InstanceHealth health, double load)
        {
            var instance = NewInstance(capabilities: ["weather.forecast"]);
            instance.Health = health;
            instance.Load = load;
            return (await RegisterAsync(mesh.Client, instance)).Instance.InstanceId;
        }

        var degraded = await AddAsync(InstanceHealth.Degraded, 0.0);
        var busy = await AddAsync(InstanceHealth.Serving, 0.9);
        var idle = await AddAsync(InstanceHealth.Unspecified, 0.1);
        var draining = await AddAsync(InstanceHealth.Draining, 0.0);
        var calm = await AddAsync(InstanceHealth.Serving, 0.3);
        await RegisterAsync(mesh.Client, NewInstance(capabilities: ["weather.alerts"]));

        var providers = await mesh.ClientB.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout);
        var all = await mesh.ClientB.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast", IncludeDraining = true }, cancellationToken: Timeout);

        Assert.Equal([idle, calm, busy, degraded], providers.Providers.Select(p => p.Instance.InstanceId));
        Assert.Equal([idle, calm, busy, degraded, draining], all.Providers.Select(p => p.Instance.InstanceId));
        Assert.All(all.Providers, p => Assert.Equal(("weather.forecast", ""), (p.Capability.Name, p.Instance.LeaseId)));
        Assert.Empty((await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.unknown" }, cancellationToken: Timeout)).Providers);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListProviders_FiltersByVersionAndAttributes()
    {
        await using var mesh = await StartAsync();
        var both = NewInstance(capabilities: ["ai.generate.dialogue"]);
        both.Capabilities.Add(new Capability { Name = "ai.generate.dialogue", Version = "v2", Attributes = { ["locale"] = "en", ["model"] = "local-markov" } });
        var english = NewInstance(service: "ai-integration", capabilities: ["ai.generate.dialogue"]);
        english.Capabilities[0].Attributes.Add("locale", "en");
        await RegisterAsync(mesh.Client, both);
        await RegisterAsync(mesh.Client, english);

        async Task<List<(string, string)>> ProvidersAsync(string version, params (string Key, string Value)[] filter)
        {
            var request = new ListProvidersRequest { Capability = "ai.generate.dialogue", CapabilityVersion = version };
            foreach (var (key, value) in filter)
            {
                request.AttributeFilter.Add(key, value);
            }

            return [.. (await mesh.Client.ListProvidersAsync(request, cancellationToken: Timeout)).Providers.Select(p => (p.Instance.InstanceId, p.Capability.Version))];
        }

        Assert.Equal([(english.InstanceId, "v1"), (both.InstanceId, "v1"), (both.InstanceId, "v2")], await ProvidersAsync(""));
        Assert.Equal([(both.InstanceId, "v2")], await ProvidersAsync("v2"));
        Assert.Equal([(english.InstanceId, "v1"), (both.InstanceId, "v2")], await ProvidersAsync("", ("locale", "en")));
        Assert.Equal([(both.InstanceId, "v2")], await ProvidersAsync("", ("locale", "en"), ("model", "local-markov")));
        Assert.Empty(await ProvidersAsync("v1", ("model", "local-markov")));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListProviders_PagesInRankOrder()
    {
        await using var mesh = await StartAsync();
        var expected = new List<(double Load, string Id)>();
        for (var i = 0; i < 12; i++)
        {
            var instance = NewInstance();
            instance.Load = Math.Round(_faker.Random.Double(0, 1), 2);
            expected.Add((instance.Load, (await RegisterAsync(mesh.Client, instance)).Instance.InstanceId));
        }

        var seen = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast", PageSize = 5, PageToken = token }, cancellationToken: Timeout);
            seen.AddRange(page.Providers.Select(p => p.Instance.InstanceId));
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(expected.OrderBy(e => e.Load).ThenBy(e => e.Id, StringComparer.Ordinal).Select(e => e.Id), seen);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListProviders_Malformed_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "AI.Dialogue", PageSize = 1000 }, cancellationToken: Timeout).AsTask(), "capability");
        Assert.Equal(["capability", "page_size"], ViolatedFields(error));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "", }, cancellationToken: Timeout).AsTask(), "capability");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast", PageToken = "AAAA" }, cancellationToken: Timeout).AsTask(), "page_token");
    }

    // ---- ListCapabilities ----

    [Fact(Timeout = 60_000)]
    public async Task ListCapabilities_IsOrderedByName_WithVersionsAndCounts_InPages()
    {
        await using var mesh = await StartAsync();
        var draining = NewInstance(capabilities: ["weather.forecast", "weather.forecast.hourly"]);
        draining.Health = InstanceHealth.Draining;
        var degraded = NewInstance(capabilities: ["weather.forecast", "ai.generate.dialogue"]);
        degraded.Health = InstanceHealth.Degraded;
        degraded.Capabilities[0].Version = "v2";
        await RegisterAsync(mesh.Client, draining);
        await RegisterAsync(mesh.Client, degraded);
        await RegisterAsync(mesh.ClientB, NewInstance(capabilities: ["weather.forecast", "ai.generate.narration", "world.state"]));
        await RegisterAsync(mesh.ClientB, NewInstance(capabilities: ["ai.generate"]));

        var pages = new List<ListCapabilitiesResponse>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListCapabilitiesAsync(new ListCapabilitiesRequest { PageSize = 2, PageToken = token }, cancellationToken: Timeout);
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        var all = pages.SelectMany(p => p.Capabilities).ToList();
        var ai = await mesh.Client.ListCapabilitiesAsync(new ListCapabilitiesRequest { NamePrefix = "ai.generate." }, cancellationToken: Timeout);

        // weather.forecast.hourly has only a DRAINING provider: not listed.
        Assert.Equal(["ai.generate", "ai.generate.dialogue", "ai.generate.narration", "weather.forecast", "world.state"], all.Select(c => c.Name));
        Assert.Equal([2, 2, 1], pages.Select(p => p.Capabilities.Count));
        var forecast = all.Single(c => c.Name == "weather.forecast");
        Assert.Equal((2, 1), (forecast.ProviderCount, forecast.ServingCount));
        Assert.Equal(["v1", "v2"], forecast.Versions);
        Assert.Equal(["ai.generate.dialogue", "ai.generate.narration"], ai.Capabilities.Select(c => c.Name));
        Assert.Equal("", ai.NextPageToken);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListCapabilities_Malformed_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListCapabilitiesAsync(new ListCapabilitiesRequest { NamePrefix = "AI" }, cancellationToken: Timeout).AsTask(), "name_prefix");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListCapabilitiesAsync(new ListCapabilitiesRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask(), "page_size");
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListCapabilitiesAsync(new ListCapabilitiesRequest { PageToken = Convert.ToBase64String("ListInstances\0x"u8.ToArray()) }, cancellationToken: Timeout).AsTask(), "page_token");
    }
}
