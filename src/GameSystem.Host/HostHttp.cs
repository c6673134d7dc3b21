using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using GameSystem.Mesh;
using GameSystem.Settings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Host;

/// <summary>
/// Where the host's management HTTP listener listens (<c>GameSystem:Host:Http</c>). It serves
/// operators and orchestrators, never players: health probes, and whatever else the host maps on
/// it (metrics). Off, the host runs no HTTP server at all.
/// </summary>
/// <param name="Enabled"><c>GameSystem:Host:Http:Enabled</c>, default true.</param>
/// <param name="Urls">
/// <c>GameSystem:Host:Http:Urls</c>, separated by ';' or ',' (or a JSON array); default
/// <c>http://127.0.0.1:8081</c>: the port beside the gateway's 8080, on loopback until an operator
/// opens it (<c>http://0.0.0.0:8081</c> in a container, so the kubelet reaches it). Port 0 takes a
/// free port, which the banner names.
/// </param>
internal sealed record HostHttpSettings(bool Enabled, ImmutableArray<string> Urls)
{
    public static HostHttpSettings Default { get; } = new(true, ["http://127.0.0.1:8081"]);

    public static HostHttpSettings Read(IConfigurationSection section)
    {
        var enabled = section.ReadBool("Enabled", Default.Enabled);
        var urls = section.GetSection("Urls").ReadList().SelectMany(u => u.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToImmutableArray();
        if (urls.IsEmpty)
        {
            return Default with { Enabled = enabled };
        }

        foreach (var url in urls)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException ex)
            {
                throw new SettingException($"{section.Path}:Urls", $"'{url}' is not a listen address ({ex.Message}); write it as http://127.0.0.1:8081, or http://0.0.0.0:8081 for every interface.");
            }

            if (!string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase) || address.Port is < 0 or > 65535)
            {
                throw new SettingException($"{section.Path}:Urls", $"'{url}' must be an http:// address with a port from 0 to 65535, e.g. http://127.0.0.1:8081: the management listener serves plain HTTP, for probes and scrapes inside the cluster.");
            }
        }

        return new HostHttpSettings(enabled, urls);
    }
}

/// <summary>
/// The host's management HTTP listener and its health endpoints: <c>GET /healthz/live</c> (the
/// process answers; never a dependency) and <c>GET /healthz/ready</c> (NATS, the state store, each
/// served service, and not stopping), both from Microsoft.Extensions.Diagnostics.HealthChecks.
/// </summary>
/// <remarks>
/// Readiness reads <see cref="MeshHealthService.Report"/>, the round the mesh health service runs
/// every poll interval, and probes nothing itself: the HTTP and mesh views never disagree, a probe
/// costs an orchestrator nothing however often it asks, and a slow Redis cannot make the probe
/// itself time out. The rounds' hysteresis (<see cref="MeshHealthOptions.FailureThreshold"/>)
/// keeps one slow ping from flapping either view.
/// </remarks>
internal static partial class HostHttp
{
    public const string LivePath = "/healthz/live";
    public const string ReadyPath = "/healthz/ready";
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";

    /// <summary>Kestrel on the configured addresses (or no server at all), and the health checks the endpoints run.</summary>
    public static WebApplicationBuilder AddHostHttp(this WebApplicationBuilder builder, HostHttpSettings http, ImmutableSelection selection)
    {
        if (http.Enabled)
        {
            builder.WebHost.UseUrls([.. http.Urls]);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        }
        else
        {
            builder.Services.AddSingleton<IServer, NoHttpServer>();
        }

        builder.Services.AddSingleton<HostHealthView>();
        var checks = builder.Services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy($"the host process {Environment.ProcessId} answers"), [LiveTag])
            .Add(Check("host", view => view.Lifecycle()))
            .Add(Check("nats", view => view.HostCheck(MeshHostedService.NatsProbe)))
            .Add(Check("store", view => view.HostCheck(MeshHostedService.StoreProbe)));
        foreach (var service in selection.Services)
        {
            checks.Add(Check(service.Info.Name, view => view.Service(service)));
        }

        return builder;
    }

    /// <summary>Maps <c>/healthz/live</c> and <c>/healthz/ready</c>, and names them in the log once the listener is up.</summary>
    public static WebApplication MapHostHealth(this WebApplication app)
    {
        app.MapHealthChecks(LivePath, Options(LiveTag));
        app.MapHealthChecks(ReadyPath, Options(ReadyTag));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HostHttp).FullName!);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            if (addresses is null || addresses.Count == 0)
            {
                LogHttpOff(logger);
                return;
            }

            foreach (var address in addresses)
            {
                LogHttpHealth(logger, address, LivePath, ReadyPath);
            }
        });
        return app;
    }

    private static HealthCheckRegistration Check(string name, Func<HostHealthView, HealthCheckResult> evaluate) =>
        new(name, provider => new ViewCheck(provider.GetRequiredService<HostHealthView>(), evaluate), failureStatus: HealthStatus.Unhealthy, tags: [ReadyTag]);

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResponseWriter = WriteAsync,
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
    };

    /// <summary>What an operator reads at 3 a.m.: the verdict, and each check with what it found.</summary>
    private static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var view = context.RequestServices.GetRequiredService<HostHealthView>();
        var json = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Indented = true });
        await using var disposing = json.ConfigureAwait(false);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        if (view.InstanceId is { } instance)
        {
            json.WriteString("instance", instance);
        }

        if (view.CheckedAt is { } checkedAt)
        {
            json.WriteString("checkedAt", checkedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }

        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteString("description", entry.Description);
            foreach (var (key, value) in entry.Data)
            {
                switch (value)
                {
                    case int number:
                        json.WriteNumber(key, number);
                        break;
                    case double number:
                        json.WriteNumber(key, number);
                        break;
                    default:
                        json.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Health over HTTP: {Address}{Live} and {Address}{Ready}")]
    private static partial void LogHttpHealth(ILogger logger, string address, string live, string ready);

    [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "Health over HTTP: off (GameSystem:Host:Http:Enabled is false)")]
    private static partial void LogHttpOff(ILogger logger);

    private sealed class ViewCheck(HostHealthView view, Func<HostHealthView, HealthCheckResult> evaluate) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(evaluate(view));
    }

    /// <summary>Stands in for Kestrel when the listener is off: the host then opens no port at all.</summary>
    private sealed class NoHttpServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// The readiness checks' answers, from the mesh health service's latest round and the host's
/// lifetime: nothing here probes.
/// </summary>
internal sealed class HostHealthView(MeshHostedService mesh, IHostApplicationLifetime lifetime, HostSettings settings, INatsConnection connection, TimeProvider time)
{
    public string? InstanceId => mesh.InstanceId;

    public DateTimeOffset? CheckedAt => mesh.Health?.Report.CheckedAt;

    /// <summary>
    /// Unhealthy while the host starts, from the moment a graceful stop begins, and when the health
    /// rounds have stalled (then every other answer here is stale).
    /// </summary>
    public HealthCheckResult Lifecycle()
    {
        var health = mesh.Health;
        if (lifetime.ApplicationStopping.IsCancellationRequested || health?.Report.Stopping == true)
        {
            return HealthCheckResult.Unhealthy("a graceful stop began: this instance takes no new calls and finishes those in flight, then exits");
        }

        if (health?.Report is not { CheckedAt: { } checkedAt })
        {
            return HealthCheckResult.Unhealthy("starting: connecting to NATS and the state store, then starting the services");
        }

        var age = time.GetUtcNow() - checkedAt;
        var stale = (settings.Health.PollInterval + settings.Health.ProbeTimeout) * 3;
        var data = new Dictionary<string, object> { ["lastRoundSecondsAgo"] = Math.Round(age.TotalSeconds, 1) };
        return age > stale
            ? HealthCheckResult.Unhealthy($"the health rounds have stalled: the last ran {age.TotalSeconds:0.#} s ago (every {settings.Health.PollInterval.TotalSeconds:0.#} s expected), so nothing else here is current", data: data)
            : HealthCheckResult.Healthy($"running; health checked every {settings.Health.PollInterval.TotalSeconds:0.#} s", data);
    }

    /// <summary>One of the host's own checks (NATS, the state store), as the latest round found it.</summary>
    public HealthCheckResult HostCheck(string probe)
    {
        if (mesh.Health?.Report.HostChecks.FirstOrDefault(c => c.Name == probe) is not { } result)
        {
            return HealthCheckResult.Unhealthy($"{probe}: not checked yet (the host is starting)");
        }

        var data = new Dictionary<string, object> { ["consecutiveFailures"] = result.ConsecutiveFailures };
        var what = probe == MeshHostedService.NatsProbe
            ? $"NATS ({connection.ServerInfo?.Host}:{connection.ServerInfo?.Port}, nats-server {connection.ServerInfo?.Version ?? "?"})"
            : settings.StoreRedis is { } redis ? $"the state store (Redis at {redis})" : "the state store (in memory)";
        return (result.Healthy, result.Failure) switch
        {
            (true, null) => HealthCheckResult.Healthy($"{what}: ok", data),
            (true, { } failure) => HealthCheckResult.Healthy($"{what}: the last check failed ({failure}); tolerated until {settings.Health.FailureThreshold} rounds in a row fail", data),
            (false, var failure) => HealthCheckResult.Unhealthy($"{what}: {failure}, {result.ConsecutiveFailures} round(s) in a row", data: data),
        };
    }

    /// <summary>One served service, as the latest round found it.</summary>
    public HealthCheckResult Service(SelectedService service)
    {
        var data = new Dictionary<string, object> { ["service"] = service.Info.FullName };
        if (!service.IsImplemented)
        {
            // Not a reason to take the instance out of rotation: what it implements still works.
            return HealthCheckResult.Healthy("served from its contract only: every call answers UNIMPLEMENTED (no implementation in this deployment)", data);
        }

        if (mesh.Health?.Report.Services.GetValueOrDefault(service.Info.FullName) is not { } health)
        {
            return HealthCheckResult.Unhealthy("not checked yet (the host is starting)", data: data);
        }

        return health switch
        {
            { Status: ServingStatus.Serving } => HealthCheckResult.Healthy("SERVING", data),

            // A dependency's outage (its breaker open) is every instance's: failing readiness for it
            // would take them all out of rotation at once and fix nothing. Degraded answers 200 and says so.
            { OnlyDependenciesFailing: true } => HealthCheckResult.Degraded($"NOT_SERVING over the mesh because a service it calls is failing: {string.Join("; ", health.Failures)}; still ready, as restarting or removing this instance would not help", data: data),
            _ => HealthCheckResult.Unhealthy($"NOT_SERVING: {string.Join("; ", health.Failures)}", data: data),
        };
    }
}
