using GameSystem.Mesh.Nats;
using GameSystem.Settings;
using Grpc.Core;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Host.Tests;

/// <summary><c>GameSystem:Resilience</c>: defaults for every called service, sections per service, precise errors.</summary>
public sealed class ResilienceSettingsTests
{
    private const string AuthService = "gamesystem.auth.v1.AuthService";

    [Fact]
    public void Unset_GivesTheClientsDefaults()
    {
        var settings = Read();

        Assert.Equal(MeshResilienceOptions.Default, settings.Client.Resilience);
        Assert.Empty(settings.ServiceResilience);
    }

    [Fact]
    public void Default_AppliesToEveryService_AndAServiceSectionChangesOnlyWhatItSets()
    {
        var settings = Read(
            ("GameSystem:Resilience:Default:Retry:MaxRetryAttempts", "4"),
            ("GameSystem:Resilience:Default:Retry:RetryableStatusCodes", "UNAVAILABLE, resource_exhausted"),
            ("GameSystem:Resilience:Default:CircuitBreaker:BreakDuration", "00:00:10"),
            ("GameSystem:Resilience:Services:auth:CircuitBreaker:FailureRatio", "0.25"),
            ("GameSystem:Resilience:Services:auth:Hedging:Enabled", "true"),
            ("GameSystem:Resilience:Services:auth:Hedging:Delay", "00:00:00"));

        var defaults = settings.Client.Resilience;
        Assert.Equal(4, defaults.Retry.MaxRetryAttempts);
        Assert.Equal([StatusCode.Unavailable, StatusCode.ResourceExhausted], defaults.Retry.RetryableStatusCodes);
        Assert.Equal(TimeSpan.FromSeconds(10), defaults.CircuitBreaker.BreakDuration);
        Assert.False(defaults.Hedging.Enabled);

        var auth = settings.ServiceResilience["auth"];
        Assert.Equal(0.25, auth.CircuitBreaker.FailureRatio);
        Assert.True(auth.Hedging.Enabled);
        Assert.Equal(TimeSpan.Zero, auth.Hedging.Delay);
        Assert.Equal(4, auth.Retry.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(10), auth.CircuitBreaker.BreakDuration);
    }

    [Fact]
    public void ServiceSections_ResolveByShortOrFullName_ToTheNamesTheClientKeysBy()
    {
        var catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);
        var settings = Read(
            ("GameSystem:Resilience:Services:auth:Retry:MaxRetryAttempts", "0"),
            ("GameSystem:Resilience:Services:gamesystem.time_manager.v1.TimeManagerService:CircuitBreaker:Enabled", "false"));

        var resolved = ResilienceSettings.Resolve(settings.ServiceResilience, catalog.Contracts);
        var client = settings.Client with { ServiceResilience = resolved };

        Assert.Equal(0, client.ResilienceOf(AuthService).Retry.MaxRetryAttempts);
        Assert.False(client.ResilienceOf("gamesystem.time_manager.v1.TimeManagerService").CircuitBreaker.Enabled);
        Assert.Equal(MeshResilienceOptions.Default, client.ResilienceOf("gamesystem.language_system.v1.LanguageSystemService"));
    }

    [Fact]
    public void ServiceSection_NamingNoService_StopsStartUpListingTheServices()
    {
        var catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);
        var settings = Read(("GameSystem:Resilience:Services:teleporter:Retry:MaxRetryAttempts", "1"));

        var error = Assert.Throws<SettingException>(() => ResilienceSettings.Resolve(settings.ServiceResilience, catalog.Contracts));

        Assert.Equal("GameSystem:Resilience:Services:teleporter", error.Setting);
        Assert.Contains("time-manager", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GameSystem:Resilience:Default:Retry:MaxRetryAttempts", "-1", "'-1' must be a whole number of at least 0.")]
    [InlineData("GameSystem:Resilience:Default:Retry:MaxRetryAttempts", "11", "'11' must be between 0 and 10.")]
    [InlineData("GameSystem:Resilience:Default:Retry:InitialBackoff", "soon", "'soon' must be a positive duration such as 00:00:15.")]
    [InlineData("GameSystem:Resilience:Default:Retry:MaxBackoff", "00:00:00.010", "'00:00:00.010' must be at least Retry.InitialBackoff.")]
    [InlineData("GameSystem:Resilience:Default:Retry:BackoffMultiplier", "0.5", "'0.5' must be 1 or more.")]
    [InlineData("GameSystem:Resilience:Default:Retry:BackoffMultiplier", "twice", "'twice' must be a number such as 0.5.")]
    [InlineData("GameSystem:Resilience:Default:Retry:RetryableStatusCodes", "UNAVAILABLE,BROKEN", "'BROKEN' is not a gRPC error status; use names such as UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED.")]
    [InlineData("GameSystem:Resilience:Default:Retry:RetryableStatusCodes", "OK", "'OK' is not a gRPC error status; use names such as UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED.")]
    [InlineData("GameSystem:Resilience:Default:Retry:RetryableStatusCodes", "14", "'14' is not a gRPC error status; use names such as UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED.")]
    [InlineData("GameSystem:Resilience:Default:Hedging:Enabled", "perhaps", "'perhaps' must be true or false.")]
    [InlineData("GameSystem:Resilience:Default:Hedging:MaxHedgedAttempts", "11", "'11' must be between 1 and 10.")]
    [InlineData("GameSystem:Resilience:Default:Hedging:Delay", "-00:00:01", "'-00:00:01' must be a duration of zero or more such as 00:00:00.100.")]
    [InlineData("GameSystem:Resilience:Default:CircuitBreaker:FailureRatio", "1.5", "'1.5' must be above 0 and at most 1.")]
    [InlineData("GameSystem:Resilience:Default:CircuitBreaker:FailureRatio", "0", "'0' must be above 0 and at most 1.")]
    [InlineData("GameSystem:Resilience:Default:CircuitBreaker:MinimumThroughput", "1", "'1' must be a whole number of at least 2.")]
    [InlineData("GameSystem:Resilience:Default:CircuitBreaker:SamplingDuration", "00:00:00.200", "'00:00:00.200' must be longer than 0.5 s.")]
    [InlineData("GameSystem:Resilience:Services:auth:CircuitBreaker:BreakDuration", "00:00:00.500", "'00:00:00.500' must be longer than 0.5 s.")]
    [InlineData("GameSystem:Resilience:Services:auth:CircuitBreaker:BreakDurration", "00:00:05", "is not a setting of CircuitBreaker; it has BreakDuration, Enabled, FailureRatio, MinimumThroughput, SamplingDuration.")]
    [InlineData("GameSystem:Resilience:Default:Breaker:Enabled", "false", "is not a setting: a resilience section has Retry, Hedging and CircuitBreaker.")]
    [InlineData("GameSystem:Resilience:Defaults:Retry:MaxRetryAttempts", "1", "is not a setting: GameSystem:Resilience has Default and Services:<service>.")]
    public void BadSetting_StopsStartUpNamingTheSettingAndWhy(string key, string value, string problem)
    {
        var error = Assert.Throws<SettingException>(() => Read((key, value)));

        var named = key.EndsWith(":Enabled", StringComparison.Ordinal) && key.Contains(":Breaker:", StringComparison.Ordinal) ? key[..key.LastIndexOf(':')]
            : key.Contains(":Defaults:", StringComparison.Ordinal) ? "GameSystem:Resilience:Defaults"
            : key;
        Assert.Equal(named, error.Setting);
        Assert.Equal($"Configuration error: {named} {problem}", error.Message);
    }

    private static readonly string TestSecret = Convert.ToBase64String([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);

    private static HostSettings Read(params (string Key, string Value)[] values) =>
        HostSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new("GameSystem:Nats:Servers:0", "nats://127.0.0.1:4222"), new("GameSystem:Identity:ServiceSecret", TestSecret)])
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());
}
