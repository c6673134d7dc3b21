using GameSystem.Settings;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Host.Tests;

/// <summary>A bad or missing setting stops start-up naming the setting and the reason.</summary>
public sealed class HostSettingsTests
{
    [Fact]
    public void Defaults_RunEveryServiceAgainstALocalNatsWithTheInMemoryStore()
    {
        var settings = Read();

        Assert.Equal(["all"], settings.Services);
        Assert.Equal(["nats://127.0.0.1:4222"], settings.Nats.Servers);
        Assert.Null(settings.StoreRedis);
        Assert.Equal("gs", settings.Server.SubjectPrefix);
    }

    [Fact]
    public void Lists_ComeFromArraysOrCommaSeparatedValues()
    {
        var settings = Read(
            ("GameSystem:Services", "time-manager, language-system"),
            ("GameSystem:Nats:Servers:0", "nats://10.1.0.1:4222"),
            ("GameSystem:Nats:Servers:1", "nats://10.1.0.2:4222,nats://10.1.0.3:4222"));

        Assert.Equal(["time-manager", "language-system"], settings.Services);
        Assert.Equal(["nats://10.1.0.1:4222", "nats://10.1.0.2:4222", "nats://10.1.0.3:4222"], settings.Nats.Servers);
    }

    [Fact]
    public void PerServiceConcurrency_OverridesTheDefault()
    {
        var settings = Read(("GameSystem:Mesh:MaxConcurrentCalls", "64"), ("GameSystem:Mesh:Services:payment:MaxConcurrentCalls", "8"));

        Assert.Equal(64, settings.Server.MaxConcurrentCalls);
        Assert.Equal(8, settings.ServiceConcurrency["payment"]);
    }

    [Theory]
    [InlineData("GameSystem:Nats:Servers", "http://127.0.0.1:4222", "GameSystem:Nats:Servers")]
    [InlineData("GameSystem:Nats:Servers", "", "GameSystem:Nats:Servers")]
    [InlineData("GameSystem:Mesh:MaxConcurrentCalls", "lots", "GameSystem:Mesh:MaxConcurrentCalls")]
    [InlineData("GameSystem:Mesh:MaxConcurrentCalls", "0", "GameSystem:Mesh:MaxConcurrentCalls")]
    [InlineData("GameSystem:Mesh:ShutdownTimeout", "soon", "GameSystem:Mesh:ShutdownTimeout")]
    [InlineData("GameSystem:Mesh:SubjectPrefix", "gs.prod", "GameSystem:Mesh:SubjectPrefix")]
    [InlineData("GameSystem:Nats:CredentialsFile", "/nonexistent/gamesystem.creds", "GameSystem:Nats:CredentialsFile")]
    [InlineData("GameSystem:Nats:Tls:Required", "perhaps", "GameSystem:Nats:Tls:Required")]
    [InlineData("GameSystem:Nats:User", "game", "GameSystem:Nats:User")]
    [InlineData("GameSystem:Store:Redis", "127.0.0.1:6379,nosuchoption=1", "GameSystem:Store:Redis")]
    public void BadSetting_StopsStartUpNamingTheSetting(string key, string value, string named)
    {
        var error = Assert.Throws<SettingException>(() => Read((key, value)));

        Assert.Equal(named, error.Setting);
        Assert.StartsWith($"Configuration error: {named}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownServiceName_IsRejectedListingTheServices()
    {
        var catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);

        var error = Assert.Throws<SettingException>(() => catalog.Select(["time-manager", "teleporter"]));

        Assert.Equal("GameSystem:Services", error.Setting);
        Assert.Contains("'teleporter'", error.Message, StringComparison.Ordinal);
        Assert.Contains("language-system", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_HoldsEveryContractAndSelectsByShortOrFullName()
    {
        var catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);

        Assert.Equal(22, catalog.Select(["all"]).Length);
        var selected = catalog.Select(["time-manager", "gamesystem.language_system.v1.LanguageSystemService", "time-manager"]);
        Assert.Equal(["time-manager", "language-system"], selected.Select(s => s.Info.Name));
    }

    private static readonly string TestSecret = Convert.ToBase64String([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);

    [Fact]
    public void Identity_IsEnforcedByDefault_WithAuthsIssuerAndAudience()
    {
        var identity = Read().Identity;

        Assert.NotNull(identity);
        Assert.Equal("gamesystem-auth", identity.Issuer);
        Assert.Equal("gamesystem", identity.Audience);
        Assert.Equal(TestSecret, identity.ServiceSecret);
    }

    [Fact]
    public void Identity_Off_IsTheOnlyWayToRunWithoutIt()
    {
        Assert.Null(Read(("GameSystem:Identity:Mode", "off")).Identity);
        var error = Assert.Throws<SettingException>(() => Read(("GameSystem:Identity:Mode", "trust-everyone")));
        Assert.Equal("Configuration error: GameSystem:Identity:Mode 'trust-everyone' must be Enforce (the default) or Off.", error.Message);
    }

    [Fact]
    public void Identity_VerifiedTokenCacheSize_IsReadOrRefusedPrecisely()
    {
        Assert.Equal(10_000, Read().Identity!.VerifiedTokenCacheSize);
        Assert.Equal(0, Read(("GameSystem:Identity:VerifiedTokenCacheSize", "0")).Identity!.VerifiedTokenCacheSize);
        var error = Assert.Throws<SettingException>(() => Read(("GameSystem:Identity:VerifiedTokenCacheSize", "-1")));
        Assert.Equal("Configuration error: GameSystem:Identity:VerifiedTokenCacheSize '-1' must be a whole number of tokens, 0 or more (0: verify every call).", error.Message);
    }

    private static HostSettings Read(params (string Key, string Value)[] values) =>
        HostSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new("GameSystem:Nats:Servers:0", "nats://127.0.0.1:4222"), new("GameSystem:Identity:ServiceSecret", TestSecret)])
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());
}
