using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Bogus;
using GameSystem.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace GameSystem.Telemetry.Tests;

/// <summary>
/// One HTTP request through the gateway is one trace: the gateway's server span, its mesh call to
/// clock-relay, clock-relay's server span, its call to time-manager, time-manager's server span and
/// the store operations under it, each the parent of the next, with the RPC conventions' attributes
/// and the status code, collected with the SDK wired as the host and the gateway wire it.
/// </summary>
public sealed class CrossServiceTraceTests(NatsServerFixture nats)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly Faker _faker = new() { Random = new Randomizer(20261203) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task ARequestThroughTheGateway_IsOneTrace_FromTheHttpSpanToTheStore()
    {
        await using var harness = await TelemetryHarness.StartAsync(nats);
        var world = "w-" + _faker.Random.AlphaNumeric(10).ToLowerInvariant();
        await harness.CreateClockAsync(world, 60, Ct);
        var spans = new Collected<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddGameSystemInstrumentation().AddInMemoryExporter(spans).Build();

        using var response = await harness.Http.GetAsync(new Uri($"/v1/relay/worlds/{world}/clock", UriKind.Relative), Ct);

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Equal(60, JsonDocument.Parse(body).RootElement.GetProperty("timeScale").GetDouble());
        var trace = await TraceOfAsync(spans, $"/v1/relay/worlds/{world}/clock");

        var http = Assert.Single(trace, s => s.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(ActivityKind.Server, http.Kind);
        Assert.Equal(200, http.GetTagItem("http.response.status_code"));
        var gatewayCall = Child(trace, http, ActivityKind.Client, "gamesystem.telemetrytest.v1.ClockRelayService/ReadClock");
        var relayServed = Child(trace, gatewayCall, ActivityKind.Server, "gamesystem.telemetrytest.v1.ClockRelayService/ReadClock");
        var relayCall = Child(trace, relayServed, ActivityKind.Client, "gamesystem.time_manager.v1.TimeManagerService/GetClock");
        var timeServed = Child(trace, relayCall, ActivityKind.Server, "gamesystem.time_manager.v1.TimeManagerService/GetClock");
        var store = Assert.Single(trace, s => s.ParentSpanId == timeServed.SpanId);
        Assert.Equal("GameSystem.State", store.Source.Name);
        Assert.Equal(ActivityKind.Client, store.Kind);
        Assert.Equal("state.get_many", store.DisplayName);
        Assert.Equal("memory", store.GetTagItem("db.system.name"));
        Assert.Equal("get_many", store.GetTagItem("db.operation.name"));
        Assert.Equal(ActivityStatusCode.Unset, store.Status);

        AssertRpc(gatewayCall, TelemetryHarness.ClockRelayService, "ReadClock", 0, ActivityStatusCode.Unset);
        AssertRpc(relayServed, TelemetryHarness.ClockRelayService, "ReadClock", 0, ActivityStatusCode.Unset);
        AssertRpc(relayCall, TelemetryHarness.TimeManagerService, "GetClock", 0, ActivityStatusCode.Unset);
        AssertRpc(timeServed, TelemetryHarness.TimeManagerService, "GetClock", 0, ActivityStatusCode.Unset);
        Assert.Equal(6, trace.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task AFailureDeepInTheTrace_CarriesItsCodeOnEverySpan_AndMarksTheClientsAsErrors()
    {
        await using var harness = await TelemetryHarness.StartAsync(nats);
        var missing = "w-" + _faker.Random.AlphaNumeric(10).ToLowerInvariant();
        var spans = new Collected<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddGameSystemInstrumentation().AddInMemoryExporter(spans).Build();

        using var response = await harness.Http.GetAsync(new Uri($"/v1/relay/worlds/{missing}/clock", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var trace = await TraceOfAsync(spans, $"/v1/relay/worlds/{missing}/clock");
        var http = Assert.Single(trace, s => s.Source.Name == "Microsoft.AspNetCore");
        var gatewayCall = Child(trace, http, ActivityKind.Client, "gamesystem.telemetrytest.v1.ClockRelayService/ReadClock");
        var relayServed = Child(trace, gatewayCall, ActivityKind.Server, "gamesystem.telemetrytest.v1.ClockRelayService/ReadClock");
        var relayCall = Child(trace, relayServed, ActivityKind.Client, "gamesystem.time_manager.v1.TimeManagerService/GetClock");
        var timeServed = Child(trace, relayCall, ActivityKind.Server, "gamesystem.time_manager.v1.TimeManagerService/GetClock");

        // NOT_FOUND is the caller's problem: an error on the client side, not on the server's.
        AssertRpc(gatewayCall, TelemetryHarness.ClockRelayService, "ReadClock", 5, ActivityStatusCode.Error);
        AssertRpc(relayServed, TelemetryHarness.ClockRelayService, "ReadClock", 5, ActivityStatusCode.Unset);
        AssertRpc(relayCall, TelemetryHarness.TimeManagerService, "GetClock", 5, ActivityStatusCode.Error);
        AssertRpc(timeServed, TelemetryHarness.TimeManagerService, "GetClock", 5, ActivityStatusCode.Unset);
        Assert.Contains(missing, gatewayCall.StatusDescription, StringComparison.Ordinal);
    }

    private static void AssertRpc(Activity span, string service, string method, int code, ActivityStatusCode status)
    {
        Assert.Equal(MeshTelemetryNames.RpcSystem, span.GetTagItem("rpc.system"));
        Assert.Equal(service, span.GetTagItem("rpc.service"));
        Assert.Equal(method, span.GetTagItem("rpc.method"));
        Assert.Equal(code, span.GetTagItem("rpc.grpc.status_code"));
        Assert.Equal(status, span.Status);
    }

    private static Activity Child(List<Activity> trace, Activity parent, ActivityKind kind, string name)
    {
        var child = Assert.Single(trace, s => s.ParentSpanId == parent.SpanId && s.Kind == kind);
        Assert.Equal(name, child.DisplayName);
        Assert.Equal(parent.TraceId, child.TraceId);
        Assert.Equal(MeshTelemetryNames.SourceName, child.Source.Name);
        return child;
    }

    /// <summary>The spans of the trace whose HTTP span served <paramref name="path"/>, once its last span (the HTTP one) has ended.</summary>
    private static async Task<List<Activity>> TraceOfAsync(Collected<Activity> spans, string path)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var collected = spans.Snapshot();
            if (collected.FirstOrDefault(s => s.Source.Name == "Microsoft.AspNetCore" && (s.GetTagItem("url.path") as string) == path) is { } http)
            {
                return [.. collected.Where(s => s.TraceId == http.TraceId)];
            }

            Assert.True(DateTime.UtcNow < deadline, $"no HTTP span for {path} within {Wait}; spans: {string.Join(", ", spans.Snapshot().Select(s => s.DisplayName))}");
            await Task.Delay(50, Ct);
        }
    }
}
