using GameSystem.CapabilityRegistry.V1;
using GameSystem.Services.CapabilityRegistry.Internal;

namespace GameSystem.Services.CapabilityRegistry.Tests;

public sealed class ProviderWatchTests
{
    private static Instance Instance(string id, string lease, InstanceHealth health = InstanceHealth.Serving, params string[] capabilities)
    {
        var instance = new Instance { InstanceId = id, ServiceName = "svc", Endpoint = "gs.svc", LeaseId = lease, Health = health };
        instance.Capabilities.AddRange(capabilities.Select(c => new Capability { Name = c }));
        return instance;
    }

    private static InstanceChanged Change(ProviderChangeType type, Instance instance) => new() { ChangeType = type, Instance = instance };

    private static List<(ProviderChangeType, string, string)> Of(IEnumerable<WatchProvidersResponse> responses) =>
        [.. responses.Select(r => (r.ChangeType, r.Provider.Instance.InstanceId, r.Provider.Capability.Name))];

    [Fact]
    public void AfterASnapshot_TheSameLeaseReplayed_IsDropped_AndANewLeaseIsReported()
    {
        var watch = new ProviderWatch(new HashSet<string> { "a.b" }, fromSnapshot: true);
        var first = Instance("i-1", "l1", capabilities: ["a.b", "c.d"]);
        Assert.Equal([(ProviderChangeType.Registered, "i-1", "a.b")], Of(watch.Snapshot(first)));

        Assert.Empty(watch.Apply(Change(ProviderChangeType.Registered, first)));
        Assert.Equal([(ProviderChangeType.Registered, "i-1", "a.b")], Of(watch.Apply(Change(ProviderChangeType.Registered, Instance("i-1", "l2", capabilities: ["a.b"])))));
    }

    [Fact]
    public void LeavesOfAnOlderLease_OrOfUnknownInstancesAfterASnapshot_AreDropped()
    {
        var watch = new ProviderWatch(new HashSet<string>(), fromSnapshot: true);
        watch.Snapshot(Instance("i-1", "l2", capabilities: ["a.b"]));

        Assert.Empty(watch.Apply(Change(ProviderChangeType.Expired, Instance("i-1", "l1", capabilities: ["a.b"]))));
        Assert.Empty(watch.Apply(Change(ProviderChangeType.Deregistered, Instance("i-9", "l1", capabilities: ["a.b"]))));
        Assert.Equal([(ProviderChangeType.Expired, "i-1", "a.b")], Of(watch.Apply(Change(ProviderChangeType.Expired, Instance("i-1", "l2", capabilities: ["a.b"])))));
        Assert.Equal(0, watch.KnownCount);
    }

    [Fact]
    public void WithoutASnapshot_EveryChangeOfAWatchedCapability_IsReported()
    {
        var watch = new ProviderWatch(new HashSet<string> { "a.b" }, fromSnapshot: false);

        Assert.Equal([(ProviderChangeType.Deregistered, "i-9", "a.b")], Of(watch.Apply(Change(ProviderChangeType.Deregistered, Instance("i-9", "l1", capabilities: ["a.b"])))));
        Assert.Equal([(ProviderChangeType.HealthChanged, "i-8", "a.b")], Of(watch.Apply(Change(ProviderChangeType.HealthChanged, Instance("i-8", "l1", InstanceHealth.Degraded, "a.b")))));
        Assert.Empty(watch.Apply(Change(ProviderChangeType.Registered, Instance("i-7", "l1", capabilities: ["c.d"]))));
    }

    [Fact]
    public void AReRegistration_ReportsTheLeaveOfWhatItDropped_BeforeItsJoins()
    {
        var watch = new ProviderWatch(new HashSet<string>(), fromSnapshot: false);
        watch.Apply(Change(ProviderChangeType.Registered, Instance("i-1", "l1", capabilities: ["a.b", "c.d"])));

        var changes = Of(watch.Apply(Change(ProviderChangeType.Registered, Instance("i-1", "l2", capabilities: ["a.b"]))));

        Assert.Equal([(ProviderChangeType.Deregistered, "i-1", "c.d"), (ProviderChangeType.Registered, "i-1", "a.b")], changes);
    }

    [Fact]
    public void AHealthChange_AlreadyReflectedInTheSnapshot_IsDropped()
    {
        var watch = new ProviderWatch(new HashSet<string>(), fromSnapshot: true);
        watch.Snapshot(Instance("i-1", "l1", InstanceHealth.Degraded, "a.b"));

        Assert.Empty(watch.Apply(Change(ProviderChangeType.HealthChanged, Instance("i-1", "l1", InstanceHealth.Degraded, "a.b"))));
        Assert.Equal([(ProviderChangeType.HealthChanged, "i-1", "a.b")], Of(watch.Apply(Change(ProviderChangeType.HealthChanged, Instance("i-1", "l1", InstanceHealth.Serving, "a.b")))));
    }

    [Fact]
    public void ReportedInstances_CarryNoLease()
    {
        var watch = new ProviderWatch(new HashSet<string>(), fromSnapshot: false);

        var reported = Assert.Single(watch.Apply(Change(ProviderChangeType.Registered, Instance("i-1", "secret", capabilities: ["a.b"]))));

        Assert.Equal("", reported.Provider.Instance.LeaseId);
    }
}
