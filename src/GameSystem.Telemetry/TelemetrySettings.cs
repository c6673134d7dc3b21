using System.Globalization;
using GameSystem.Settings;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;

namespace GameSystem.Telemetry;

/// <summary>
/// How a process reports itself (<c>GameSystem:Telemetry</c>, with the standard
/// <c>OTEL_*</c> variables as fallbacks). Reading validates.
/// </summary>
/// <param name="ServiceName">The resource's <c>service.name</c>: <c>GameSystem:Telemetry:ServiceName</c>, else <c>OTEL_SERVICE_NAME</c>, else the process's own name.</param>
/// <param name="InstanceId">The resource's <c>service.instance.id</c>: <c>GameSystem:Telemetry:InstanceId</c>, else <c>&lt;machine&gt;-&lt;pid&gt;</c>.</param>
/// <param name="OtlpEndpoint">Where OTLP goes (<c>GameSystem:Telemetry:Otlp:Endpoint</c>); null to leave it to <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</param>
/// <param name="OtlpProtocol">The OTLP protocol (<c>GameSystem:Telemetry:Otlp:Protocol</c>, <c>grpc</c> or <c>http/protobuf</c>); null to leave it to <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>.</param>
/// <param name="ExportOtlp">True when either endpoint setting is given: without one, nothing is sent anywhere and no span is recorded.</param>
/// <param name="TraceSampleRatio">The share of new traces recorded (<c>GameSystem:Telemetry:TraceSampleRatio</c>, 0 to 1); a caller's sampling decision is always followed.</param>
public sealed record TelemetrySettings(string ServiceName, string InstanceId, Uri? OtlpEndpoint, OtlpExportProtocol? OtlpProtocol, bool ExportOtlp, double TraceSampleRatio)
{
    /// <summary>The configuration section.</summary>
    public const string Section = MeshSettings.Section + ":Telemetry";

    /// <summary>Reads and validates the settings; <paramref name="defaultServiceName"/> names the process when nothing else does.</summary>
    /// <exception cref="SettingException">A value is malformed.</exception>
    public static TelemetrySettings Read(IConfiguration configuration, string defaultServiceName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(defaultServiceName);
        var root = configuration.GetSection(Section);
        var otlp = root.GetSection("Otlp");

        Uri? endpoint = null;
        if (otlp["Endpoint"] is { Length: > 0 } text)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https"))
            {
                throw new SettingException($"{Section}:Otlp:Endpoint", $"'{text}' is not an http:// or https:// URL, e.g. http://otel-collector:4317 (gRPC) or http://otel-collector:4318 (http/protobuf).");
            }
        }

        OtlpExportProtocol? protocol = otlp["Protocol"] switch
        {
            null or "" => null,
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new SettingException($"{Section}:Otlp:Protocol", $"'{other}' must be grpc or http/protobuf."),
        };

        var ratio = 1.0;
        if (root["TraceSampleRatio"] is { } ratioText
            && (!double.TryParse(ratioText, NumberStyles.Float, CultureInfo.InvariantCulture, out ratio) || ratio is < 0 or > 1 || double.IsNaN(ratio)))
        {
            throw new SettingException($"{Section}:TraceSampleRatio", $"'{ratioText}' must be a number from 0 (record no new trace) to 1 (record all).");
        }

        var name = Nonempty(root["ServiceName"]) ?? Nonempty(configuration["OTEL_SERVICE_NAME"]) ?? defaultServiceName;
        var instance = Nonempty(root["InstanceId"]) ?? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}");
        var export = endpoint is not null || Nonempty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) is not null;
        return new TelemetrySettings(name, instance, endpoint, protocol, export, ratio);
    }

    private static string? Nonempty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
