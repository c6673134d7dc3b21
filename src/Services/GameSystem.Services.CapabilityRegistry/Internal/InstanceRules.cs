using System.Globalization;
using System.Text.RegularExpressions;
using GameSystem.CapabilityRegistry.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>What a registration may hold: the contract's limits, checked field by field.</summary>
internal static partial class InstanceRules
{
    public const int MaxCapabilities = 256;
    public const int MaxAttributes = 32;
    public const int MaxMetadata = 32;
    public const int MaxValueLength = 256;
    public const int MaxEndpointLength = 512;
    public const int MaxWatchedCapabilities = 64;

    public static bool IsInstanceId(string value) => InstanceIdPattern().IsMatch(value);

    public static bool IsServiceName(string value) => ServiceNamePattern().IsMatch(value);

    /// <summary>Dotted lower_snake, 1-128 characters: <c>ai.generate.dialogue</c>.</summary>
    public static bool IsCapabilityName(string value) => value.Length <= 128 && CapabilityNamePattern().IsMatch(value);

    public static bool IsLeaseId(string value) => LeaseIdPattern().IsMatch(value);

    public static string InstanceIdRule => "must be 1-128 characters of [A-Za-z0-9._:-] starting with a letter or digit, e.g. 'weather-manager-7f9c2'";

    public static string CapabilityNameRule => "must be a dotted lower_snake name of 1-128 characters, e.g. 'ai.generate.dialogue' (segments of [a-z0-9_] starting with a letter, separated by '.')";

    /// <summary>Checks the instance of a Register against every limit, recording each violation under <paramref name="field"/>.</summary>
    public static void Check(Instance? instance, string field, TimeSpan minTtl, TimeSpan maxTtl, Violations violations)
    {
        if (!violations.Check(instance is not null, field, "is required: the instance to register, with instance_id, service_name, endpoint and capabilities."))
        {
            return;
        }

        violations.Check(IsInstanceId(instance!.InstanceId), field + ".instance_id", $"{InstanceIdRule}; got '{instance.InstanceId}'.");
        violations.Check(IsServiceName(instance.ServiceName), field + ".service_name", $"must be a service name of 1-63 characters of [a-z0-9-] starting with a letter, e.g. 'weather-manager'; got '{instance.ServiceName}'.");
        violations.Check(VersionPattern().IsMatch(instance.ServiceVersion), field + ".service_version", $"must be at most 64 characters of [A-Za-z0-9._+-], e.g. '1.4.2'; got '{instance.ServiceVersion}'.");
        violations.Check(
            instance.Endpoint.Length is > 0 and <= MaxEndpointLength && !instance.Endpoint.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)),
            field + ".endpoint",
            $"is required: the NATS subject prefix or URL the instance listens on, 1-{MaxEndpointLength} characters without whitespace.");
        CheckCapabilities(instance, field + ".capabilities", violations);
        CheckMap(instance.Metadata, field + ".metadata", MetadataKeyPattern(), "1-64 characters of [A-Za-z0-9._/-]", MaxMetadata, violations);
        violations.Check(System.Enum.IsDefined(instance.Health), field + ".health", $"{(int)instance.Health} is not an InstanceHealth.");
        violations.Check(IsLoad(instance.Load), field + ".load", $"must be 0.0 (idle) to 1.0 (saturated); got {instance.Load.ToString(CultureInfo.InvariantCulture)}.");
        if (instance.Ttl is { } ttl)
        {
            violations.Check(
                ttl.Seconds >= 0 && ttl.Nanos is >= 0 and < 1_000_000_000 && ttl.ToTimeSpan() is var span && span >= minTtl && span <= maxTtl,
                field + ".ttl",
                $"must be {Describe(minTtl)} to {Describe(maxTtl)} (unset means the default); got {ttl}.");
        }
    }

    public static bool IsLoad(double load) => load is >= 0.0 and <= 1.0;

    /// <summary>A duration as a person writes it: <c>5s</c>, <c>1.5s</c>, <c>5m</c>.</summary>
    public static string Describe(TimeSpan span) =>
        span.TotalSeconds >= 60 && span.TotalSeconds % 60 == 0
            ? span.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "m"
            : span.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";

    /// <summary>The registrable part of a Register's instance: the caller's fields, none of the output-only ones.</summary>
    public static Instance Input(Instance instance, TimeSpan ttl)
    {
        var input = new Instance
        {
            InstanceId = instance.InstanceId,
            ServiceName = instance.ServiceName,
            ServiceVersion = instance.ServiceVersion,
            Endpoint = instance.Endpoint,
            Health = instance.Health,
            Load = instance.Load,
            Ttl = Duration.FromTimeSpan(ttl),
        };
        input.Capabilities.AddRange(instance.Capabilities.Select(c => c.Clone()));
        input.Metadata.Add(instance.Metadata);
        return input;
    }

    private static void CheckCapabilities(Instance instance, string field, Violations violations)
    {
        if (!violations.Check(instance.Capabilities.Count is > 0 and <= MaxCapabilities, field, $"must hold 1-{MaxCapabilities} capabilities; got {instance.Capabilities.Count}."))
        {
            return;
        }

        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < instance.Capabilities.Count; i++)
        {
            var capability = instance.Capabilities[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]");
            violations.Check(IsCapabilityName(capability.Name), at + ".name", $"{CapabilityNameRule}; got '{capability.Name}'.");
            violations.Check(CapabilityVersionPattern().IsMatch(capability.Version), at + ".version", $"must be at most 32 characters of [A-Za-z0-9._-], e.g. 'v1', or empty for unversioned; got '{capability.Version}'.");
            violations.Check(seen.Add((capability.Name, capability.Version)), at, $"repeats capability '{capability.Name}' version '{capability.Version}'; capabilities are unique by (name, version).");
            CheckMap(capability.Attributes, at + ".attributes", AttributeKeyPattern(), "lower_snake, 1-64 characters", MaxAttributes, violations);
        }
    }

    private static void CheckMap(Google.Protobuf.Collections.MapField<string, string> map, string field, Regex keyPattern, string keyRule, int max, Violations violations)
    {
        violations.Check(map.Count <= max, field, $"must hold at most {max} entries; got {map.Count}.");
        foreach (var (key, value) in map.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            violations.Check(keyPattern.IsMatch(key), $"{field}[{key}]", $"key must be {keyRule}; got '{key}'.");
            violations.Check(value.Length <= MaxValueLength, $"{field}[{key}]", $"value must be at most {MaxValueLength} characters; got {value.Length}.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex InstanceIdPattern();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceNamePattern();

    [GeneratedRegex("^[A-Za-z0-9._+-]{0,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();

    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex CapabilityNamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{0,32}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex CapabilityVersionPattern();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex AttributeKeyPattern();

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex MetadataKeyPattern();

    [GeneratedRegex("^[0-9a-f]{32}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex LeaseIdPattern();
}
