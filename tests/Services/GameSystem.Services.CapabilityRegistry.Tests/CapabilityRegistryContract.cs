using Bogus;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.Mesh;
using GameSystem.State;
using GameSystem.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>The capability-registry contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class CapabilityRegistryContract(NatsServerFixture nats)
{
    /// <summary>Short leases (the store's TTLs are real time), with the contract's default kept for unset TTLs.</summary>
    internal static readonly CapabilityRegistryOptions TestOptions = CapabilityRegistryOptions.Default with
    {
        MinTtl = TimeSpan.FromMilliseconds(500),
        WatchReplayMargin = TimeSpan.FromMilliseconds(500),
    };

    private static readonly TimeSpan ShortTtl = TimeSpan.FromSeconds(1);

    private readonly Faker _faker = new() { Random = new Randomizer(20261202) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<RegistryHarness> StartAsync(CapabilityRegistryOptions? options = null) =>
        await RegistryHarness.StartAsync(nats, await CreateStoreAsync(), await CreateStoreAsync(), options ?? TestOptions);

    private string NewInstanceId(string service = "weather-manager") => $"{service}-{_faker.Random.Hexadecimal(6, prefix: "").ToLowerInvariant()}";

    private Instance NewInstance(string? instanceId = null, string service = "weather-manager", TimeSpan? ttl = null, params string[] capabilities)
    {
        var instance = new Instance
        {
            InstanceId = instanceId ?? NewInstanceId(service),
            ServiceName = service,
            ServiceVersion = _faker.System.Semver(),
            Endpoint = $"gs.{service}",
            Ttl = Duration.FromTimeSpan(ttl ?? TimeSpan.FromSeconds(30)),
        };
        instance.Metadata.Add("host", _faker.Internet.DomainWord());
        instance.Capabilities.AddRange((capabilities.Length == 0 ? ["weather.forecast"] : capabilities).Select(name => new Capability { Name = name, Version = "v1" }));
        return instance;
    }

    private static async Task<RegisterResponse> RegisterAsync(CapabilityRegistryServiceClient client, Instance instance) =>
        await client.RegisterAsync(new RegisterRequest { Instance = instance }, cancellationToken: Timeout);

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, error.StatusCode);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The fields a <c>google.rpc.BadRequest</c> detail of <paramref name="error"/> names.</summary>
    private static List<string> ViolatedFields(RpcException error)
    {
        var status = error.GetRpcStatus();
        var detail = Assert.Single(status.Details, d => d.Is(Google.Rpc.BadRequest.Descriptor));
        return [.. detail.Unpack<Google.Rpc.BadRequest>().FieldViolations.Select(v => v.Field)];
    }

    /// <summary>Waits (bounded) for <paramref name="condition"/> instead of sleeping a guessed time.</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(25, Timeout);
        }
    }

    private static async Task<bool> IsRegisteredAsync(CapabilityRegistryServiceClient client, string instanceId)
    {
        try
        {
            await client.GetInstanceAsync(new GetInstanceRequest { InstanceId = instanceId }, cancellationToken: Timeout);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    // ---- Register ----

    [Fact(Timeout = 30_000)]
    public async Task Register_ThenGetInstance_ReturnsTheRegistrationWithItsTimes_AndNoLease()
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance(capabilities: ["weather.forecast", "weather.alerts"]);
        instance.Capabilities[0].Attributes.Add("region", "north");

        var registered = await RegisterAsync(mesh.Client, instance);
        var read = (await mesh.ClientB.GetInstanceAsync(new GetInstanceRequest { InstanceId = instance.InstanceId }, cancellationToken: Timeout)).Instance;

        Assert.Matches("^[0-9a-f]{32}$", registered.Instance.LeaseId);
        Assert.Equal(TimeSpan.FromSeconds(10), registered.HeartbeatInterval.ToTimeSpan());
        Assert.Equal(registered.Instance.RegisterTime.ToDateTimeOffset() + TimeSpan.FromSeconds(30), registered.Instance.ExpireTime.ToDateTimeOffset());
        Assert.Equal(registered.Instance.RegisterTime, registered.Instance.LastHeartbeatTime);
        Assert.InRange(registered.Instance.RegisterTime.ToDateTimeOffset(), DateTimeOffset.UtcNow.AddSeconds(-5), DateTimeOffset.UtcNow);
        Assert.Equal("", read.LeaseId);
        var expected = registered.Instance.Clone();
        expected.LeaseId = "";
        Assert.Equal(expected, read);
        Assert.Equal(instance.Capabilities, read.Capabilities);
        Assert.Equal(instance.Metadata, read.Metadata);
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_WithoutTtl_LeasesForThirtySeconds_AndIgnoresOutputOnlyFields()
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance();
        instance.Ttl = null;
        instance.LeaseId = "0123456789abcdef0123456789abcdef";
        instance.RegisterTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch);

        var registered = (await RegisterAsync(mesh.Client, instance)).Instance;

        Assert.Equal(TimeSpan.FromSeconds(30), registered.Ttl.ToTimeSpan());
        Assert.NotEqual(instance.LeaseId, registered.LeaseId);
        Assert.NotEqual(instance.RegisterTime, registered.RegisterTime);
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_Again_IsIdempotent_ReplacingTheRegistrationWithAFreshLease()
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance(capabilities: ["weather.forecast", "weather.alerts"]);
        var first = (await RegisterAsync(mesh.Client, instance)).Instance;
        instance.Capabilities.RemoveAt(1);
        instance.ServiceVersion = "9.9.9";

        var second = (await RegisterAsync(mesh.ClientB, instance)).Instance;

        Assert.NotEqual(first.LeaseId, second.LeaseId);
        Assert.Equal("9.9.9", (await mesh.Client.GetInstanceAsync(new GetInstanceRequest { InstanceId = instance.InstanceId }, cancellationToken: Timeout)).Instance.ServiceVersion);
        Assert.Single((await mesh.Client.ListInstancesAsync(new ListInstancesRequest(), cancellationToken: Timeout)).Instances);
        Assert.Empty((await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.alerts" }, cancellationToken: Timeout)).Providers);
        Assert.Single((await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout)).Providers);
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = instance.InstanceId, LeaseId = first.LeaseId }, cancellationToken: Timeout).AsTask(), "not its current lease");
        Assert.Equal(
            [instance.InstanceId, CapabilityMember(instance.InstanceId, "weather.forecast")],
            [.. await mesh.MembersAsync(Internal.StoreKeys.ByIdIndex, Timeout), .. await mesh.MembersAsync(Internal.StoreKeys.ByCapabilityIndex, Timeout)]);
        Assert.Single(await mesh.MembersAsync(Internal.StoreKeys.ExpiryIndex, Timeout));
    }

    private static string CapabilityMember(string instanceId, string capability) => Internal.StoreKeys.CapabilityMember(capability, instanceId);

    public static TheoryData<string, string> InvalidRegistrations => new()
    {
        { "no-instance", "instance" },
        { "bad-id", "instance.instance_id" },
        { "long-id", "instance.instance_id" },
        { "bad-service", "instance.service_name" },
        { "no-endpoint", "instance.endpoint" },
        { "spaced-endpoint", "instance.endpoint" },
        { "no-capabilities", "instance.capabilities" },
        { "upper-capability", "instance.capabilities[0].name" },
        { "trailing-dot", "instance.capabilities[0].name" },
        { "empty-capability", "instance.capabilities[0].name" },
        { "duplicate-capability", "instance.capabilities[1]" },
        { "bad-version", "instance.capabilities[0].version" },
        { "bad-attribute", "instance.capabilities[0].attributes[Region]" },
        { "ttl-too-short", "instance.ttl" },
        { "ttl-too-long", "instance.ttl" },
        { "negative-ttl", "instance.ttl" },
        { "overloaded", "instance.load" },
        { "nan-load", "instance.load" },
        { "bad-health", "instance.health" },
        { "too-much-metadata", "instance.metadata" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(InvalidRegistrations))]
    public async Task Register_Malformed_FailsInvalidArgument_NamingTheField(string problem, string field)
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance();
        switch (problem)
        {
            case "no-instance": instance = null; break;
            case "bad-id": instance.InstanceId = "-starts-with-dash"; break;
            case "long-id": instance.InstanceId = new string('a', 129); break;
            case "bad-service": instance.ServiceName = "Weather_Manager"; break;
            case "no-endpoint": instance.Endpoint = ""; break;
            case "spaced-endpoint": instance.Endpoint = "gs weather"; break;
            case "no-capabilities": instance.Capabilities.Clear(); break;
            case "upper-capability": instance.Capabilities[0].Name = "Weather.Forecast"; break;
            case "trailing-dot": instance.Capabilities[0].Name = "weather."; break;
            case "empty-capability": instance.Capabilities[0].Name = ""; break;
            case "duplicate-capability": instance.Capabilities.Add(instance.Capabilities[0].Clone()); break;
            case "bad-version": instance.Capabilities[0].Version = "v 1"; break;
            case "bad-attribute": instance.Capabilities[0].Attributes.Add("Region", "north"); break;
            case "ttl-too-short": instance.Ttl = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)); break;
            case "ttl-too-long": instance.Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(6)); break;
            case "negative-ttl": instance.Ttl = new Duration { Seconds = -5 }; break;
            case "overloaded": instance.Load = 1.5; break;
            case "nan-load": instance.Load = double.NaN; break;
            case "bad-health": instance.Health = (InstanceHealth)42; break;
            case "too-much-metadata":
                for (var i = 0; i < 33; i++)
                {
                    instance.Metadata[$"k{i}"] = "v";
                }

                break;
        }

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.RegisterAsync(new RegisterRequest { Instance = instance }, cancellationToken: Timeout).AsTask(), field);

        Assert.Contains(field, ViolatedFields(error));
        Assert.Empty((await mesh.Client.ListInstancesAsync(new ListInstancesRequest(), cancellationToken: Timeout)).Instances);
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_WithSeveralProblems_NamesEveryField()
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance();
        instance.InstanceId = "";
        instance.Endpoint = "";
        instance.Capabilities[0].Name = "a..b";

        var error = await FailsAsync(StatusCode.InvalidArgument, () => RegisterAsync(mesh.Client, instance), "instance.instance_id", "2 more");

        Assert.Equal(["instance.instance_id", "instance.endpoint", "instance.capabilities[0].name"], ViolatedFields(error));
    }

    // ---- Heartbeat ----

    [Fact(Timeout = 30_000)]
    public async Task Heartbeat_ExtendsTheLease_PastItsTtl()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance(ttl: ShortTtl))).Instance;
        var heartbeat = new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId };
        var until = DateTime.UtcNow + ShortTtl * 2.5;
        HeartbeatResponse? last = null;
        while (DateTime.UtcNow < until)
        {
            await Task.Delay(ShortTtl / 4, Timeout);
            last = await mesh.ClientB.HeartbeatAsync(heartbeat, cancellationToken: Timeout);
        }

        var read = (await mesh.Client.GetInstanceAsync(new GetInstanceRequest { InstanceId = registered.InstanceId }, cancellationToken: Timeout)).Instance;

        Assert.Equal(last!.ExpireTime, read.ExpireTime);
        Assert.True(read.ExpireTime.ToDateTimeOffset() > registered.ExpireTime.ToDateTimeOffset() + ShortTtl);
        Assert.Equal(read.ExpireTime.ToDateTimeOffset() - ShortTtl, read.LastHeartbeatTime.ToDateTimeOffset());
        Assert.Equal(registered.RegisterTime, read.RegisterTime);
    }

    [Fact(Timeout = 30_000)]
    public async Task Heartbeat_ReportsHealthAndLoad_AndUnsetKeepsThem()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance())).Instance;

        await mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId, Health = InstanceHealth.Degraded, Load = 0.75 }, cancellationToken: Timeout);
        await mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout);
        var read = (await mesh.Client.GetInstanceAsync(new GetInstanceRequest { InstanceId = registered.InstanceId }, cancellationToken: Timeout)).Instance;

        Assert.Equal((InstanceHealth.Degraded, 0.75), (read.Health, read.Load));
    }

    [Fact(Timeout = 30_000)]
    public async Task Heartbeat_OfAnUnknownOrExpiredInstance_FailsNotFound_SoTheCallerRegistersAgain()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance(ttl: ShortTtl))).Instance;
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = NewInstanceId(), LeaseId = registered.LeaseId }, cancellationToken: Timeout).AsTask(), "Register it again");

        await Task.Delay(ShortTtl + TimeSpan.FromMilliseconds(200), Timeout);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout).AsTask(), registered.InstanceId);
        Assert.False(await IsRegisteredAsync(mesh.Client, registered.InstanceId));
    }

    [Fact(Timeout = 30_000)]
    public async Task Heartbeat_Malformed_FailsInvalidArgument_NamingTheFields()
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = "bad id", LeaseId = "not-a-lease", Health = (InstanceHealth)9, Load = -0.1 }, cancellationToken: Timeout).AsTask());

        Assert.Equal(["instance_id", "lease_id", "health", "load"], ViolatedFields(error));
    }

    // ---- Deregister ----

    [Fact(Timeout = 30_000)]
    public async Task Deregister_RemovesAtOnce_AndRepeatingItSucceeds()
    {
        await using var mesh = await StartAsync();
        var registered = (await RegisterAsync(mesh.Client, NewInstance())).Instance;

        var first = await mesh.ClientB.DeregisterAsync(new DeregisterRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout);
        var again = await mesh.ClientB.DeregisterAsync(new DeregisterRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout);
        var unknown = await mesh.Client.DeregisterAsync(new DeregisterRequest { InstanceId = NewInstanceId() }, cancellationToken: Timeout);

        Assert.True(first.Deregistered);
        Assert.False(again.Deregistered);
        Assert.False(unknown.Deregistered);
        Assert.False(await IsRegisteredAsync(mesh.Client, registered.InstanceId));
        Assert.Empty((await mesh.Client.ListProvidersAsync(new ListProvidersRequest { Capability = "weather.forecast" }, cancellationToken: Timeout)).Providers);
        Assert.Empty(await mesh.MembersAsync(Internal.StoreKeys.ByIdIndex, Timeout));
        Assert.Empty(await mesh.MembersAsync(Internal.StoreKeys.ExpiryIndex, Timeout));
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.HeartbeatAsync(new HeartbeatRequest { InstanceId = registered.InstanceId, LeaseId = registered.LeaseId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Deregister_WithAStaleLease_LeavesTheNewRegistration()
    {
        await using var mesh = await StartAsync();
        var instance = NewInstance();
        var stale = (await RegisterAsync(mesh.Client, instance)).Instance;
        await RegisterAsync(mesh.ClientB, instance);

        var response = await mesh.Client.DeregisterAsync(new DeregisterRequest { InstanceId = instance.InstanceId, LeaseId = stale.LeaseId }, cancellationToken: Timeout);

        Assert.False(response.Deregistered);
        Assert.True(await IsRegisteredAsync(mesh.Client, instance.InstanceId));
        Assert.True((await mesh.Client.DeregisterAsync(new DeregisterRequest { InstanceId = instance.InstanceId }, cancellationToken: Timeout)).Deregistered);
    }

    [Fact(Timeout = 30_000)]
    public async Task Deregister_Malformed_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.DeregisterAsync(new DeregisterRequest { InstanceId = "bad id", LeaseId = "nope" }, cancellationToken: Timeout).AsTask());

        Assert.Equal(["instance_id", "lease_id"], ViolatedFields(error));
    }

    // ---- GetInstance ----

    [Fact(Timeout = 30_000)]
    public async Task GetInstance_UnknownOrMalformed_FailsNotFoundOrInvalidArgument()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetInstanceAsync(new GetInstanceRequest { InstanceId = NewInstanceId() }, cancellationToken: Timeout).AsTask(), "not registered");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.GetInstanceAsync(new GetInstanceRequest { InstanceId = "a/b" }, cancellationToken: Timeout).AsTask(), "instance_id");
        Assert.Equal(["instance_id"], ViolatedFields(error));
    }
}
