using System.Collections.Immutable;
using System.Globalization;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using Grpc.Core;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Settings;

/// <summary>
/// <c>GameSystem:Resilience</c>: how a process's mesh clients (the host's services', the
/// gateway's) protect their calls. <c>Default</c> holds
/// the options of every target service; <c>Services:&lt;name&gt;</c> (short or proto full name)
/// changes what it sets for one service, over <c>Default</c>. Every key is checked: an unknown
/// one, a malformed value or one out of range stops start-up naming it.
/// </summary>
public static class ResilienceSettings
{
    private static readonly ImmutableDictionary<string, ImmutableHashSet<string>> Keys = new Dictionary<string, ImmutableHashSet<string>>(StringComparer.OrdinalIgnoreCase)
    {
        ["Retry"] = Set("MaxRetryAttempts", "InitialBackoff", "MaxBackoff", "BackoffMultiplier", "RetryableStatusCodes"),
        ["Hedging"] = Set("Enabled", "MaxHedgedAttempts", "Delay"),
        ["CircuitBreaker"] = Set("Enabled", "FailureRatio", "MinimumThroughput", "SamplingDuration", "BreakDuration"),
    }.ToImmutableDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Reads <c>Default</c> and each <c>Services:&lt;name&gt;</c> (keyed by the name as configured).</summary>
    public static (MeshResilienceOptions Default, ImmutableDictionary<string, MeshResilienceOptions> Services) Read(IConfigurationSection resilience)
    {
        foreach (var child in resilience.GetChildren())
        {
            if (!child.Key.Equals("Default", StringComparison.OrdinalIgnoreCase) && !child.Key.Equals("Services", StringComparison.OrdinalIgnoreCase))
            {
                throw new SettingException(child.Path, "is not a setting: GameSystem:Resilience has Default and Services:<service>.");
            }
        }

        var defaults = ReadOne(resilience.GetSection("Default"), MeshResilienceOptions.Default);
        var services = ImmutableDictionary.CreateBuilder<string, MeshResilienceOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var service in resilience.GetSection("Services").GetChildren())
        {
            services[service.Key] = ReadOne(service, defaults);
        }

        return (defaults, services.ToImmutable());
    }

    /// <summary>Turns configured service names into the proto full names a client keys by; an unknown name stops start-up.</summary>
    public static ImmutableDictionary<string, MeshResilienceOptions> Resolve(ImmutableDictionary<string, MeshResilienceOptions> byName, IReadOnlyList<MeshServiceInfo> contracts)
    {
        var resolved = ImmutableDictionary.CreateBuilder<string, MeshResilienceOptions>(StringComparer.Ordinal);
        foreach (var (name, options) in byName)
        {
            var info = contracts.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase) || c.FullName.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new SettingException($"{MeshSettings.Section}:Resilience:Services:{name}",
                    $"names no service. Use a service's name or proto full name: {string.Join(", ", contracts.Select(c => c.Name))}.");
            if (!resolved.TryAdd(info.FullName, options))
            {
                throw new SettingException($"{MeshSettings.Section}:Resilience:Services:{name}", $"names {info.Name} again (by its other name); give each service one section.");
            }
        }

        return resolved.ToImmutable();
    }

    private static MeshResilienceOptions ReadOne(IConfigurationSection section, MeshResilienceOptions fallback)
    {
        foreach (var group in section.GetChildren())
        {
            if (!Keys.TryGetValue(group.Key, out var known))
            {
                throw new SettingException(group.Path, "is not a setting: a resilience section has Retry, Hedging and CircuitBreaker.");
            }

            if (group.GetChildren().FirstOrDefault(k => !known.Contains(k.Key)) is { } unknown)
            {
                throw new SettingException(unknown.Path, $"is not a setting of {group.Key}; it has {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
            }
        }

        var retry = section.GetSection("Retry");
        var hedging = section.GetSection("Hedging");
        var breaker = section.GetSection("CircuitBreaker");
        var options = new MeshResilienceOptions
        {
            Retry = new MeshRetryOptions
            {
                MaxRetryAttempts = retry.ReadInt("MaxRetryAttempts", fallback.Retry.MaxRetryAttempts, 0),
                InitialBackoff = retry.ReadDuration("InitialBackoff", fallback.Retry.InitialBackoff),
                MaxBackoff = retry.ReadDuration("MaxBackoff", fallback.Retry.MaxBackoff),
                BackoffMultiplier = ReadNumber(retry, "BackoffMultiplier", fallback.Retry.BackoffMultiplier),
                RetryableStatusCodes = ReadCodes(retry, "RetryableStatusCodes", fallback.Retry.RetryableStatusCodes),
            },
            Hedging = new MeshHedgingOptions
            {
                Enabled = hedging.ReadBool("Enabled", fallback.Hedging.Enabled),
                MaxHedgedAttempts = hedging.ReadInt("MaxHedgedAttempts", fallback.Hedging.MaxHedgedAttempts, 1),
                Delay = ReadDelay(hedging, "Delay", fallback.Hedging.Delay),
            },
            CircuitBreaker = new MeshCircuitBreakerOptions
            {
                Enabled = breaker.ReadBool("Enabled", fallback.CircuitBreaker.Enabled),
                FailureRatio = ReadNumber(breaker, "FailureRatio", fallback.CircuitBreaker.FailureRatio),
                MinimumThroughput = breaker.ReadInt("MinimumThroughput", fallback.CircuitBreaker.MinimumThroughput, 2),
                SamplingDuration = breaker.ReadDuration("SamplingDuration", fallback.CircuitBreaker.SamplingDuration),
                BreakDuration = breaker.ReadDuration("BreakDuration", fallback.CircuitBreaker.BreakDuration),
            },
        };

        // The ranges the client enforces, reported against the key (e.g. "CircuitBreaker.FailureRatio must be ...").
        if (options.Problem() is { } problem)
        {
            var property = problem[..problem.IndexOf(' ', StringComparison.Ordinal)];
            var key = property.Replace('.', ':');
            var value = section[key];
            throw new SettingException($"{section.Path}:{key}", (value is null ? "" : $"'{value}' ") + problem[(property.Length + 1)..]);
        }

        return options;
    }

    private static double ReadNumber(IConfigurationSection section, string key, double fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new SettingException($"{section.Path}:{key}", $"'{text}' must be a number such as 0.5.");
    }

    // Zero is a delay here (hedge at once), which ReadDuration refuses.
    private static TimeSpan ReadDelay(IConfigurationSection section, string key, TimeSpan fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= TimeSpan.Zero
            ? value
            : throw new SettingException($"{section.Path}:{key}", $"'{text}' must be a duration of zero or more such as 00:00:00.100.");
    }

    // gRPC's names (UNAVAILABLE, RESOURCE_EXHAUSTED) or Grpc.Core's (Unavailable), in any case.
    private static ImmutableArray<StatusCode> ReadCodes(IConfigurationSection section, string key, ImmutableArray<StatusCode> fallback)
    {
        var list = section.GetSection(key);
        if (list.Value is null && !list.GetChildren().Any())
        {
            return fallback;
        }

        var codes = ImmutableArray.CreateBuilder<StatusCode>();
        foreach (var name in list.ReadList())
        {
            if (!Enum.TryParse<StatusCode>(name.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var code)
                || !Enum.IsDefined(code) || code == StatusCode.OK || int.TryParse(name, CultureInfo.InvariantCulture, out _))
            {
                throw new SettingException($"{section.Path}:{key}", $"'{name}' is not a gRPC error status; use names such as UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED.");
            }

            codes.Add(code);
        }

        return codes.Count == 0
            ? throw new SettingException($"{section.Path}:{key}", "is empty: name at least one status, or set Retry:MaxRetryAttempts to 0 to turn retries off.")
            : codes.ToImmutable();
    }

    private static ImmutableHashSet<string> Set(params string[] keys) => keys.ToImmutableHashSet(StringComparer.OrdinalIgnoreCase);
}
