using System.Text.Json;
using System.Text.RegularExpressions;
using Bogus;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.TelemetryTest.V1;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Telemetry.Tests;

/// <summary>
/// The gateway's <c>/metrics</c>, scraped after the mesh, the store, the outbox and a consumer
/// have worked: the Prometheus names every metric is exported under, and the dashboard and
/// alert rules in <c>deploy/</c> naming only what a scrape really has.
/// </summary>
public sealed partial class PrometheusScrapeTests(NatsServerFixture nats)
{
    /// <summary>
    /// Exported only once a retry happened, which no call of this harness needs; the mesh's
    /// resilience tests cover the counter.
    /// </summary>
    private static readonly string[] OnRetryOnly = ["gamesystem_mesh_client_retries_total"];

    /// <summary>
    /// Exported only once an outbox publish has failed (event-bus down or refusing), which this
    /// harness, with event-bus serving, does not do; the relay's own tests cover the counter.
    /// </summary>
    private static readonly string[] OnPublishFailureOnly = ["gamesystem_events_outbox_failed_total", "status"];

    // What Prometheus adds itself (the scrape's own series and target labels), not the process.
    private static readonly string[] PrometheusOwn = ["up", "job", "instance"];

    private static readonly string[] Expected =
    [
        "rpc_server_duration_seconds_bucket", "rpc_server_duration_seconds_count", "rpc_server_duration_seconds_sum",
        "rpc_client_duration_seconds_bucket", "rpc_client_duration_seconds_count",
        "gamesystem_mesh_server_active_calls", "gamesystem_mesh_server_shed_total", "gamesystem_mesh_health_status", "gamesystem_mesh_client_breaker_state",
        "db_client_operation_duration_seconds_bucket", "db_client_operation_duration_seconds_count",
        "gamesystem_events_outbox_pending", "gamesystem_events_outbox_oldest_age_seconds", "gamesystem_events_outbox_delivered_total",
        "gamesystem_events_consumer_pending", "gamesystem_events_consumer_handled_total", "gamesystem_events_consumer_failed_total", "gamesystem_events_consumer_parked_total",
        "gateway_requests_total", "gateway_request_duration_seconds_bucket", "http_server_request_duration_seconds_bucket",
    ];

    private readonly Faker _faker = new() { Random = new Randomizer(20261205) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task TheScrape_HasEveryMetric_UnderItsPrometheusName_AndTheDeployFilesNameOnlyThose()
    {
        await using var harness = await TelemetryHarness.StartAsync(nats);
        var scrape = Parse(await ExerciseAndScrapeAsync(harness));

        Assert.All(Expected, name => Assert.True(scrape.Metrics.Contains(name), $"{name} is not in the scrape; it has: {string.Join(' ', scrape.Metrics.Order(StringComparer.Ordinal))}"));
        Assert.Contains("rpc_service", scrape.Labels);
        Assert.Contains("rpc_method", scrape.Labels);
        Assert.Contains("rpc_grpc_status_code", scrape.Labels);
        Assert.Contains(scrape.Samples, s => s.StartsWith("rpc_server_duration_seconds_count{", StringComparison.Ordinal)
            && s.Contains($"rpc_service=\"{TelemetryHarness.ClockRelayService}\"", StringComparison.Ordinal) && s.Contains("rpc_method=\"ReadClock\"", StringComparison.Ordinal)
            && s.Contains("rpc_grpc_status_code=\"5\"", StringComparison.Ordinal));

        var known = scrape.Metrics.Concat(scrape.Labels).Concat(OnRetryOnly).Concat(OnPublishFailureOnly).Concat(PrometheusOwn).ToHashSet(StringComparer.Ordinal);
        foreach (var expression in DashboardExpressions().Concat(RuleExpressions()))
        {
            foreach (var name in NamesIn(expression))
            {
                Assert.True(known.Contains(name), $"'{name}' in `{expression}` is neither a metric nor a label of the scrape");
            }
        }
    }

    [Fact(Timeout = 10_000)]
    public void TheDashboard_IsGrafanaJson_WithAQueryOnEveryPanel()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DeployFile("grafana", "gamesystem-dashboard.json")));
        var root = dashboard.RootElement;
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("uid").GetString()));
        var panels = root.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.True(panels.Count >= 10, $"{panels.Count} panels");
        Assert.All(panels, panel =>
        {
            var title = panel.GetProperty("title").GetString();
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel '{title}' has no query");
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()), $"panel '{title}' has an empty query"));
        });
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
    }

    private async Task<string> ExerciseAndScrapeAsync(TelemetryHarness harness)
    {
        var world = "w-" + _faker.Random.AlphaNumeric(10).ToLowerInvariant();
        await harness.CreateClockAsync(world, 30, Ct);
        using (var ok = await harness.Http.GetAsync(new Uri($"/v1/relay/worlds/{world}/clock", UriKind.Relative), Ct))
        using (var missing = await harness.Http.GetAsync(new Uri($"/v1/relay/worlds/{world}-missing/clock", UriKind.Relative), Ct))
        {
            Assert.True(ok.IsSuccessStatusCode);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        }

        var relay = new ClockRelayServiceClient(harness.Invoker);
        var held = relay.ReadClockAsync(new ReadClockRequest { WorldId = world, Hold = true }, cancellationToken: Ct).AsTask();
        await harness.Relay.Held.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var shed = await Assert.ThrowsAsync<RpcException>(async () => await relay.ReadClockAsync(new ReadClockRequest { WorldId = world }, cancellationToken: Ct));
        Assert.Equal(StatusCode.ResourceExhausted, shed.StatusCode);
        harness.Relay.Release();
        await held;

        // The consumer parks the first event (its handler fails) and handles the rest.
        var type = "telemetry.scrape." + _faker.Random.AlphaNumeric(8).ToLowerInvariant();
        var attempted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = new EventSubscription("lag", [type], (_, _) =>
        {
            if (attempted.TrySetResult())
            {
                throw new InvalidOperationException("a handler failure the consumer parks at once");
            }

            handled.TrySetResult();
            return ValueTask.CompletedTask;
        }) { MaxAttempts = 1 };
        await using var consumer = new EventConsumer("telemetry-scrape", subscription, harness.EventBus);
        await using var health = new MeshHealthService([new MeshHealthTarget(TelemetryHarness.TimeManagerService, true, null, [])], []);
        await health.StartAsync(Ct);
        await consumer.StartAsync(Ct);
        await TelemetryMetricsTests.PublishUntilAsync(harness, type, attempted.Task);

        // The next one goes through time-manager's outbox, which the relay delivers to event-bus.
        var written = await harness.Store.ExecuteAsync(
            harness.Outbox.Publish(new GameSystem.State.StateTransaction().Set("telemetry-scrape/{" + type + "}/marker", new byte[] { 1 }), new GameSystem.Common.V1.DomainEvent { Type = type }), Ct);
        Assert.True(written.Succeeded);
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        await Assert.ThrowsAsync<ArgumentException>(async () => await harness.Store.GetAsync(string.Empty, Ct));

        // The relay, event-bus and the consumer report as they go: scrape until all three have.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var text = await harness.ScrapeAsync(Ct);
            string[] awaited = ["gamesystem_events_outbox_delivered_total", "gamesystem_events_consumer_pending{", "gamesystem_events_consumer_parked_total", "gamesystem_events_consumer_handled_total"];
            if (awaited.All(name => text.Contains(name, StringComparison.Ordinal)) || DateTime.UtcNow > deadline)
            {
                return text;
            }

            await Task.Delay(200, Ct);
        }
    }

    private static (HashSet<string> Metrics, HashSet<string> Labels, List<string> Samples) Parse(string exposition)
    {
        var metrics = new HashSet<string>(StringComparer.Ordinal);
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var samples = new List<string>();
        foreach (var line in exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            samples.Add(line);
            var end = line.IndexOfAny(['{', ' ']);
            metrics.Add(line[..end]);
            if (line[end] == '{')
            {
                foreach (Match label in LabelName().Matches(line[end..line.LastIndexOf('}')]))
                {
                    labels.Add(label.Groups[1].Value);
                }
            }
        }

        return (metrics, labels, samples);
    }

    private static List<string> DashboardExpressions()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DeployFile("grafana", "gamesystem-dashboard.json")));
        return [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)];
    }

    // The rules file keeps each expression on the line of its `expr:` key (promtool checks the YAML itself).
    private static List<string> RuleExpressions()
    {
        var expressions = File.ReadAllLines(DeployFile("prometheus", "gamesystem-alerts.yml"))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("expr:", StringComparison.Ordinal))
            .Select(l => l["expr:".Length..].Trim())
            .ToList();
        Assert.True(expressions.Count >= 8, $"{expressions.Count} rules");
        Assert.DoesNotContain(expressions, e => e is "|" or ">" or "|-" or ">-");
        return expressions;
    }

    /// <summary>Identifiers of an expression that are metric or label names: not functions, keywords, strings or durations.</summary>
    private static IEnumerable<string> NamesIn(string expression)
    {
        var stripped = QuotedString().Replace(expression, " ");
        stripped = RangeOrDuration().Replace(stripped, " ");
        stripped = GrafanaVariable().Replace(stripped, " ");
        foreach (Match identifier in Identifier().Matches(stripped))
        {
            var name = identifier.Value;
            var next = stripped[(identifier.Index + name.Length)..].TrimStart();
            if (next.StartsWith('(') || PromQlWords.Contains(name))
            {
                continue;
            }

            yield return name;
        }
    }

    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan",
        "sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    };

    private static string DeployFile(string folder, string name) => Path.Combine(AppContext.BaseDirectory, "deploy", folder, name);

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)=""")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"""(\\.|[^""\\])*""|'(\\.|[^'\\])*'")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"\[[^\]]*\]|\b\d+(\.\d+)?(ms|s|m|h|d|w|y)?\b")]
    private static partial Regex RangeOrDuration();

    [GeneratedRegex(@"\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}
