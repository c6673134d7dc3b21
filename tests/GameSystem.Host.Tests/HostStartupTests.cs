using System.Text.RegularExpressions;
using GameSystem.Testing;

namespace GameSystem.Host.Tests;

/// <summary>What an operator sees when the real host starts, or cannot.</summary>
public sealed class HostStartupTests(NatsServerFixture nats, RedisServerFixture redis)
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Banner_NamesTheServerEachServiceWithItsSubject_AndWarnsOfTheInMemoryStore()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = HostProcess.Start(["--services", "time-manager,weather-manager", "--nats", nats.Url, "--GameSystem:Mesh:SubjectPrefix", prefix]);

        await host.WaitForOutputAsync(ServiceLine("weather-manager", "UNIMPLEMENTED", $"{prefix}.gamesystem.weather_manager.v1.WeatherManagerService.*").IsMatch, TimeManagerHost.StartTimeout, Cancellation);

        var output = host.Output;
        Assert.Contains(output, line => line.Contains($"connected to {nats.Url} (nats-server ", StringComparison.Ordinal));
        Assert.Contains(output, line => line.Contains("Serving 2 services: 1 implemented, 1 answering UNIMPLEMENTED", StringComparison.Ordinal));
        Assert.Contains(output, ServiceLine("time-manager", "implemented", TimeManagerHost.Subject(prefix)).IsMatch);
        Assert.Contains(output, line => line.Contains("State store: in memory (GameSystem:Store:Redis is not set); service state is lost when the host stops", StringComparison.Ordinal));
        host.Terminate();
        Assert.Equal(0, await host.WaitForExitAsync(ExitTimeout, Cancellation));
    }

    [Fact(Timeout = 60_000)]
    public async Task Banner_WithRedisSet_NamesRedisAsTheStore()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Store:Redis", redis.ConnectionString);

        Assert.Contains(host.Output, line => line.Contains($"State store: Redis at {redis.ConnectionString}", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Output, line => line.Contains("in memory", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task UnreachableNats_ExitsWithCode3AndOneLineSayingWhere()
    {
        var url = $"nats://127.0.0.1:{ServerProcess.FreePort()}";
        await using var host = HostProcess.Start(["--services", "time-manager", "--nats", url]);

        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);

        Assert.True(exitCode == 3, $"Exit code {exitCode}.\n{host.Transcript}");
        var message = Assert.Single(host.Errors, line => line.Length > 0);
        Assert.StartsWith($"GameSystem host could not start: Cannot connect to NATS at {url} ", message, StringComparison.Ordinal);
        Assert.Contains("GameSystem:Nats:Servers", message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Output, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task BadSetting_ExitsWithCode2AndOneLineNamingTheSetting()
    {
        await using var host = HostProcess.Start(TimeManagerHost.Arguments(nats, MeshCaller.NewPrefix(), "--GameSystem:Mesh:MaxConcurrentCalls", "lots"));

        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);

        Assert.True(exitCode == 2, $"Exit code {exitCode}.\n{host.Transcript}");
        var message = Assert.Single(host.Errors, line => line.Length > 0);
        Assert.Equal("Configuration error: GameSystem:Mesh:MaxConcurrentCalls 'lots' must be a whole number of at least 1.", message);
        Assert.Empty(host.Output);
    }

    [Fact(Timeout = 60_000)]
    public async Task BadServiceOption_ExitsWithCode2AndOneLineNamingTheSetting()
    {
        await using var host = HostProcess.Start(["--services", "event-bus", "--nats", nats.Url, "--GameSystem:Mesh:SubjectPrefix", MeshCaller.NewPrefix(),
            "--GameSystem:EventBus:Streams:0:Name", "quests", "--GameSystem:EventBus:Streams:0:TypePatterns:0", "quest.>", "--GameSystem:EventBus:Streams:0:Replicas", "9"]);

        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);

        Assert.True(exitCode == 2, $"Exit code {exitCode}.\n{host.Transcript}");
        var message = Assert.Single(host.Errors, line => line.Length > 0);
        Assert.Equal("Configuration error: GameSystem:EventBus:Streams:0:Replicas '9' must be 1-5 (JetStream's limit; a single nats-server needs 1).", message);
    }

    // The console logger pads the service name and state into columns.
    private static Regex ServiceLine(string service, string state, string subject) =>
        new($@"^\s+{Regex.Escape(service)}\s+{state}\s+{Regex.Escape(subject)}$");
}
