using GameSystem.Settings;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Host.Tests;

/// <summary>The management HTTP listener's settings (<c>GameSystem:Host:Http</c>), and the health rounds' hysteresis.</summary>
public sealed class HostHttpSettingsTests
{
    [Fact]
    public void Defaults_ListenOnLoopbackPort8081_BesideTheGateway_AndCountAFailureOnItsSecondRound()
    {
        var settings = Read();

        Assert.True(settings.Http.Enabled);
        Assert.Equal(["http://127.0.0.1:8081"], settings.Http.Urls);
        Assert.Equal(2, settings.Health.FailureThreshold);
    }

    [Fact]
    public void Urls_AreSeparatedBySemicolonsOrCommas_AndTheListenerTurnsOff()
    {
        var settings = Read(("GameSystem:Host:Http:Urls", "http://0.0.0.0:9101; http://[::1]:9102,http://localhost:0"), ("GameSystem:Host:Http:Enabled", "false"), ("GameSystem:Health:FailureThreshold", "1"));

        Assert.False(settings.Http.Enabled);
        Assert.Equal(["http://0.0.0.0:9101", "http://[::1]:9102", "http://localhost:0"], settings.Http.Urls);
        Assert.Equal(1, settings.Health.FailureThreshold);
    }

    [Theory]
    [InlineData("GameSystem:Host:Http:Urls", "127.0.0.1:8081", "GameSystem:Host:Http:Urls '127.0.0.1:8081' is not a listen address")]
    [InlineData("GameSystem:Host:Http:Urls", "https://127.0.0.1:8443", "GameSystem:Host:Http:Urls 'https://127.0.0.1:8443' must be an http:// address")]
    [InlineData("GameSystem:Host:Http:Enabled", "sometimes", "GameSystem:Host:Http:Enabled 'sometimes' must be true or false.")]
    [InlineData("GameSystem:Health:FailureThreshold", "0", "GameSystem:Health:FailureThreshold '0' must be a whole number of at least 1.")]
    public void BadValue_IsRefused_NamingTheSetting(string key, string value, string expected)
    {
        var error = Assert.Throws<SettingException>(() => Read((key, value)));

        Assert.StartsWith($"Configuration error: {expected}", error.Message, StringComparison.Ordinal);
    }

    private static HostSettings Read(params (string Key, string Value)[] values) =>
        HostSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new("GameSystem:Nats:Servers:0", "nats://127.0.0.1:4222"), new("GameSystem:Identity:Mode", "Off")])
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());
}
