using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GameSystem.Telemetry;

/// <summary>
/// The OpenTelemetry SDK as every GameSystem process runs it: every <c>GameSystem.*</c>
/// activity source and meter, ASP.NET Core and runtime instrumentation, a resource naming the
/// service and the instance, metrics always on for the Prometheus scrape endpoint
/// (<see cref="MetricsPath"/>), and traces and logs exported by OTLP when an endpoint is
/// configured (<see cref="TelemetrySettings"/>).
/// </summary>
public static class GameSystemTelemetry
{
    /// <summary>Where <see cref="MapGameSystemMetrics"/> serves the Prometheus text format.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// The sources and meters the SDK listens to: the runtime's (<c>GameSystem.Mesh</c>,
    /// <c>GameSystem.State</c>, <c>GameSystem.Events</c>), the gateway's and any service's own,
    /// so a service that names its meter <c>GameSystem.Services.&lt;Name&gt;</c> is exported
    /// without a line here.
    /// </summary>
    public const string SourcePattern = "GameSystem.*";

    // Seconds, from a Redis round trip on loopback (~100 µs) to a deadline (30 s): the SDK's
    // default boundaries (0, 5, 10 … 10000) are milliseconds and would put every call in one bucket.
    private static readonly double[] SecondsBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>
    /// Wires the SDK for <paramref name="builder"/>'s process, named <paramref name="defaultServiceName"/>
    /// unless a setting names it. Reads <see cref="TelemetrySettings"/> (which validates).
    /// </summary>
    /// <exception cref="Settings.SettingException">A telemetry setting is malformed.</exception>
    public static TelemetrySettings AddGameSystemTelemetry(this IHostApplicationBuilder builder, string defaultServiceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var settings = TelemetrySettings.Read(builder.Configuration, defaultServiceName);
        builder.Services.AddSingleton(settings);

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(settings.ServiceName, serviceInstanceId: settings.InstanceId, autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
                .AddGameSystemInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());

        if (!settings.ExportOtlp)
        {
            // Nothing would receive them: no span is recorded (the gateway still carries a
            // caller's traceparent on) and logs go only to the usual providers.
            return settings;
        }

        otel.WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(settings.TraceSampleRatio)))
                .AddGameSystemInstrumentation())
            .WithLogging(configureBuilder: null, configureOptions: logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });

        if (settings.OtlpEndpoint is null && settings.OtlpProtocol is null)
        {
            // OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS … as the exporter reads them.
            otel.UseOtlpExporter();
        }
        else
        {
            var endpoint = settings.OtlpEndpoint ?? new Uri(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]!);
            otel.UseOtlpExporter(settings.OtlpProtocol ?? OtlpExportProtocol.Grpc, endpoint);
        }

        return settings;
    }

    /// <summary>Every GameSystem activity source, and ASP.NET Core's server spans (the scrape itself left out).</summary>
    public static TracerProviderBuilder AddGameSystemInstrumentation(this TracerProviderBuilder tracing)
    {
        ArgumentNullException.ThrowIfNull(tracing);
        return tracing
            .AddSource(SourcePattern)
            .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !context.Request.Path.StartsWithSegments(MetricsPath, StringComparison.Ordinal));
    }

    /// <summary>Every GameSystem meter with second-scale histogram boundaries, and ASP.NET Core's <c>http.server.*</c> metrics.</summary>
    public static MeterProviderBuilder AddGameSystemInstrumentation(this MeterProviderBuilder metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics
            .AddMeter(SourcePattern)
            .AddAspNetCoreInstrumentation()
            .AddView(instrument =>
                instrument.Meter.Name.StartsWith("GameSystem.", StringComparison.Ordinal) && instrument.Unit == "s" && instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal)
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBoundaries }
                    : null);
    }

    /// <summary>
    /// Serves the metrics in the Prometheus text format at <see cref="MetricsPath"/> on
    /// <paramref name="endpoints"/> (the gateway's Kestrel, the host's probe listener).
    /// </summary>
    public static IEndpointConventionBuilder MapGameSystemMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPrometheusScrapingEndpoint(MetricsPath);
    }
}
