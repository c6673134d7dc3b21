using GameSystem.CapabilityRegistry.V1;
using GameSystem.Services.CapabilityRegistry.Internal;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.CapabilityRegistry.Tests;

public sealed class InstanceRulesTests
{
    [Theory]
    [InlineData("ai.generate.dialogue", true)]
    [InlineData("weather.forecast", true)]
    [InlineData("world_state.region2", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData("Weather.forecast", false)]
    [InlineData("weather..forecast", false)]
    [InlineData(".weather", false)]
    [InlineData("weather.", false)]
    [InlineData("weather.2d", false)]
    [InlineData("weather-forecast", false)]
    [InlineData("weather forecast", false)]
    [InlineData("weather.forecast\n", false)]
    public void CapabilityNames_AreDottedLowerSnake(string name, bool valid) => Assert.Equal(valid, InstanceRules.IsCapabilityName(name));

    [Fact]
    public void CapabilityNames_AreAtMost128Characters()
    {
        Assert.True(InstanceRules.IsCapabilityName("a" + new string('b', 127)));
        Assert.False(InstanceRules.IsCapabilityName("a" + new string('b', 128)));
    }

    [Theory]
    [InlineData("weather-manager-7f9c2", true)]
    [InlineData("host.local:4222", true)]
    [InlineData("A_1", true)]
    [InlineData("", false)]
    [InlineData("-leading", false)]
    [InlineData("with space", false)]
    [InlineData("with/slash", false)]
    [InlineData("brace{", false)]
    [InlineData("bang!", false)]
    public void InstanceIds_AreKeySafe(string id, bool valid) => Assert.Equal(valid, InstanceRules.IsInstanceId(id));

    [Theory]
    [InlineData(0.0, true)]
    [InlineData(1.0, true)]
    [InlineData(0.5, true)]
    [InlineData(-0.01, false)]
    [InlineData(1.01, false)]
    [InlineData(double.NaN, false)]
    [InlineData(double.PositiveInfinity, false)]
    public void Load_IsZeroToOne(double load, bool valid) => Assert.Equal(valid, InstanceRules.IsLoad(load));

    [Theory]
    [InlineData(4_999, false)]
    [InlineData(5_000, true)]
    [InlineData(300_000, true)]
    [InlineData(300_001, false)]
    public void Ttl_IsWithinTheConfiguredRange(int milliseconds, bool valid)
    {
        var violations = new Violations();
        var instance = new Instance { InstanceId = "i-1", ServiceName = "svc", Endpoint = "gs.svc", Ttl = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(milliseconds)) };
        instance.Capabilities.Add(new Capability { Name = "x.y" });

        InstanceRules.Check(instance, "instance", TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), violations);

        Assert.Equal(valid, !violations.Any);
    }

    [Fact]
    public void Input_KeepsTheCallersFields_AndDropsTheOutputOnlyOnes()
    {
        var instance = new Instance
        {
            InstanceId = "i-1",
            ServiceName = "svc",
            ServiceVersion = "1.0",
            Endpoint = "gs.svc",
            Health = InstanceHealth.Degraded,
            Load = 0.5,
            LeaseId = "forged",
            RegisterTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
            ExpireTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
        };
        instance.Capabilities.Add(new Capability { Name = "x.y", Version = "v1" });
        instance.Metadata.Add("host", "h1");

        var input = InstanceRules.Input(instance, TimeSpan.FromSeconds(7));

        Assert.Equal(("", null, null), (input.LeaseId, input.RegisterTime, input.ExpireTime));
        Assert.Equal(("i-1", "svc", "1.0", "gs.svc", InstanceHealth.Degraded, 0.5), (input.InstanceId, input.ServiceName, input.ServiceVersion, input.Endpoint, input.Health, input.Load));
        Assert.Equal(TimeSpan.FromSeconds(7), input.Ttl.ToTimeSpan());
        Assert.Equal(instance.Capabilities, input.Capabilities);
        Assert.Equal(instance.Metadata, input.Metadata);
    }
}

public sealed class StoreKeysTests
{
    [Fact]
    public void ExpiryMembers_SortByTime_AndParseBack()
    {
        var early = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        var late = early.AddMilliseconds(1);

        var members = new[] { StoreKeys.ExpiryMember(late, "a"), StoreKeys.ExpiryMember(early, "z") };

        Assert.Equal([members[1], members[0]], members.Order(StringComparer.Ordinal));
        Assert.Equal((early, "z"), StoreKeys.ParseExpiryMember(members[1]));
        Assert.True(string.CompareOrdinal(members[1], StoreKeys.ExpiryBound(early)) < 0);
        Assert.True(string.CompareOrdinal(members[0], StoreKeys.ExpiryBound(early)) >= 0);
    }

    [Fact]
    public void CapabilityMembers_ListCapabilitiesInNameOrder()
    {
        // '!' sorts before every character of a name, so a name's members precede its longer siblings'.
        var members = new[] { StoreKeys.CapabilityMember("ai.gen.x", "i-1"), StoreKeys.CapabilityMember("ai.gen", "i-9"), StoreKeys.CapabilityMember("ai.gen_2", "i-1") };

        Assert.Equal(["ai.gen", "ai.gen.x", "ai.gen_2"], members.Order(StringComparer.Ordinal).Select(m => StoreKeys.ParseCapabilityMember(m).Capability));
        Assert.Equal(("ai.gen", "i-9"), StoreKeys.ParseCapabilityMember(members[1]));
    }

    [Fact]
    public void EveryKey_IsInTheOnePartition()
    {
        Assert.All(
            [StoreKeys.Live("i-1"), StoreKeys.Last("i-1"), StoreKeys.ByIdIndex, StoreKeys.ByServiceIndex, StoreKeys.ByCapabilityIndex, StoreKeys.ExpiryIndex],
            key => Assert.Equal(StoreKeys.Partition, State.StateKeys.PartitionOf(key)));
    }
}
