using System.Net;
using System.Text.Json;
using GameSystem.Testing;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Host.Tests;

/// <summary>The host's circuit breakers, as an operator sees them: in its log and in its services' health.</summary>
public sealed class HostResilienceTests(NatsServerFixture nats)
{
    private const string Registry = "gamesystem.capability_registry.v1.CapabilityRegistryService";
    private const string Auth = "gamesystem.auth.v1.AuthService";
    private const string EventBus = "gamesystem.event_bus.v1.EventBusService";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 90_000)]
    public async Task Health_WhileTheBreakerForADependencyIsOpen_TheServiceThatCallsItIsNotServing_AndTheOthersServe()
    {
        // capability-registry registers itself, and its outbox relay then publishes to event-bus,
        // which nothing serves: the host's breaker for event-bus opens after two failed calls.
        var prefix = MeshCaller.NewPrefix();
        await using var host = await IdentityHost.StartServingAsync(nats, prefix, "auth,capability-registry", Cancellation,
            "--GameSystem:Health:PollInterval", "00:00:00.2",
            "--GameSystem:Resilience:Services:event-bus:CircuitBreaker:MinimumThroughput", "2",
            "--GameSystem:Resilience:Services:event-bus:CircuitBreaker:BreakDuration", "00:01:00");
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        await host.WaitForOutputAsync(line => line.Contains($"Circuit for {EventBus} opened for 60 s", StringComparison.Ordinal), TimeSpan.FromSeconds(45), Cancellation);
        var registry = ServingStatus.Serving;
        for (var i = 0; i < 50 && registry != ServingStatus.NotServing; i++)
        {
            await Task.Delay(100, Cancellation);
            registry = (await caller.Health.CheckAsync(new HealthCheckRequest { Service = Registry }, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: Cancellation)).Status;
        }

        Assert.Equal(ServingStatus.NotServing, registry);
        Assert.Equal(ServingStatus.Serving, (await caller.Health.CheckAsync(new HealthCheckRequest { Service = Auth }, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: Cancellation)).Status);
        await host.WaitForOutputAsync(line => line.Contains($"{Registry}: the circuit breaker for {EventBus} is not ready", StringComparison.Ordinal), TimeSpan.FromSeconds(5), Cancellation);

        // Over HTTP the host stays ready: every instance shares event-bus's outage, so taking this
        // one out of rotation would help nobody. The check says Degraded and why.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var ready = await http.GetAsync(new Uri(await HostHttpHealthTests.HttpAddressAsync(host), "/healthz/ready"), Cancellation);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var check = body.RootElement.GetProperty("checks").GetProperty("capability-registry");
        Assert.Equal("Degraded", check.GetProperty("status").GetString());
        Assert.Contains(EventBus, check.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("auth").GetProperty("status").GetString());
    }
}
