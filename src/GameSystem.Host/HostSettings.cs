using System.Collections.Immutable;
using System.Globalization;
using GameSystem.Identity;
using GameSystem.Mesh.Nats;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Host;

/// <summary>
/// The host's configuration, read from the <c>GameSystem</c> section (appsettings.json,
/// then <c>GameSystem__*</c> environment variables, then <c>--GameSystem:*</c> arguments).
/// Reading validates: a bad setting stops start-up naming the setting and why.
/// </summary>
internal sealed record HostSettings(
    ImmutableArray<string> Services,
    MeshNatsOptions Nats,
    MeshServerOptions Server,
    MeshClientOptions Client,
    ImmutableDictionary<string, int> ServiceConcurrency,
    string? StoreRedis)
{
    /// <summary>
    /// How callers are verified (<c>GameSystem:Identity</c>); null when <c>Mode</c> is <c>Off</c>,
    /// which only a test or a local experiment should set.
    /// </summary>
    public IdentityOptions? Identity { get; init; }

    /// <summary>The lease each served instance registers its capabilities with (<c>GameSystem:Capabilities:Ttl</c>).</summary>
    public TimeSpan CapabilityTtl { get; init; } = TimeSpan.FromSeconds(30);

    public const string Section = "GameSystem";

    public static HostSettings Read(IConfiguration configuration)
    {
        var root = configuration.GetSection(Section);
        var nats = root.GetSection("Nats");
        var mesh = root.GetSection("Mesh");

        var servers = ReadList(nats.GetSection("Servers"));
        if (servers.IsEmpty)
        {
            throw new SettingException("GameSystem:Nats:Servers", "is empty: give at least one NATS server URL, e.g. nats://127.0.0.1:4222.");
        }

        foreach (var url in servers)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
            {
                throw new SettingException("GameSystem:Nats:Servers", $"'{url}' is not a nats://, tls://, ws:// or wss:// URL.");
            }
        }

        var tls = nats.GetSection("Tls");
        var natsOptions = MeshNatsOptions.Default with
        {
            Servers = servers,
            Name = nats["Name"] ?? MeshNatsOptions.Default.Name,
            CredentialsFile = ExistingFile(nats, "CredentialsFile"),
            NKeyFile = ExistingFile(nats, "NKeyFile"),
            User = nats["User"],
            Password = nats["Password"],
            Token = nats["Token"],
            Tls = new MeshTlsOptions
            {
                Required = ReadBool(tls, "Required", false),
                CaFile = ExistingFile(tls, "CaFile"),
                CertFile = ExistingFile(tls, "CertFile"),
                KeyFile = ExistingFile(tls, "KeyFile"),
                InsecureSkipVerify = ReadBool(tls, "InsecureSkipVerify", false),
            },
        };
        if ((natsOptions.User is null) != (natsOptions.Password is null))
        {
            throw new SettingException("GameSystem:Nats:User", "and GameSystem:Nats:Password go together: set both or neither.");
        }

        if ((natsOptions.Tls.CertFile is null) != (natsOptions.Tls.KeyFile is null))
        {
            throw new SettingException("GameSystem:Nats:Tls:CertFile", "and GameSystem:Nats:Tls:KeyFile go together: set both for mutual TLS, or neither.");
        }

        var prefix = mesh["SubjectPrefix"] ?? MeshSubjects.DefaultPrefix;
        if (!MeshSubjects.IsValidPrefix(prefix))
        {
            throw new SettingException("GameSystem:Mesh:SubjectPrefix", $"'{prefix}' must be one NATS subject token: no dots, wildcards or spaces.");
        }

        var server = MeshServerOptions.Default with
        {
            SubjectPrefix = prefix,
            MaxConcurrentCalls = ReadInt(mesh, "MaxConcurrentCalls", MeshServerOptions.Default.MaxConcurrentCalls, 1),
            MaxConcurrentStreams = ReadInt(mesh, "MaxConcurrentStreams", MeshServerOptions.Default.MaxConcurrentStreams, 1),
            MaxRequestBytes = mesh["MaxRequestBytes"] is null ? null : ReadInt(mesh, "MaxRequestBytes", 0, 1),
            ShutdownTimeout = ReadDuration(mesh, "ShutdownTimeout", MeshServerOptions.Default.ShutdownTimeout),
        };
        var client = MeshClientOptions.Default with
        {
            SubjectPrefix = prefix,
            DefaultTimeout = ReadDuration(mesh, "DefaultTimeout", MeshClientOptions.Default.DefaultTimeout),
        };

        var concurrency = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var service in mesh.GetSection("Services").GetChildren())
        {
            concurrency[service.Key] = ReadInt(service, "MaxConcurrentCalls", server.MaxConcurrentCalls, 1);
        }

        var redis = root.GetSection("Store")["Redis"];
        if (!string.IsNullOrWhiteSpace(redis))
        {
            try
            {
                StackExchange.Redis.ConfigurationOptions.Parse(redis);
            }
            catch (ArgumentException ex)
            {
                throw new SettingException("GameSystem:Store:Redis", $"is not a StackExchange.Redis connection string ({ex.Message}), e.g. 127.0.0.1:6379.");
            }
        }

        var services = ReadList(root.GetSection("Services"));
        return new HostSettings(services.IsEmpty ? ["all"] : services, natsOptions, server, client, concurrency.ToImmutable(), string.IsNullOrWhiteSpace(redis) ? null : redis)
        {
            Identity = ReadIdentity(root.GetSection("Identity")),
            CapabilityTtl = ReadDuration(root.GetSection("Capabilities"), "Ttl", TimeSpan.FromSeconds(30)),
        };
    }

    // Enforced unless switched off: a call is never trusted because nobody configured otherwise.
    private static IdentityOptions? ReadIdentity(IConfigurationSection identity)
    {
        var mode = identity["Mode"] ?? "Enforce";
        if (string.Equals(mode, "Off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!string.Equals(mode, "Enforce", StringComparison.OrdinalIgnoreCase))
        {
            throw new SettingException("GameSystem:Identity:Mode", $"'{mode}' must be Enforce (the default) or Off.");
        }

        var options = IdentityOptions.Default with
        {
            Issuer = identity["Issuer"] ?? IdentityOptions.Default.Issuer,
            Audience = identity["Audience"] ?? IdentityOptions.Default.Audience,
            ServiceSecret = identity["ServiceSecret"],
            VerifiedTokenCacheSize = identity["VerifiedTokenCacheSize"] is { } size
                ? int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var entries) ? entries : throw new SettingException("GameSystem:Identity:VerifiedTokenCacheSize", $"'{size}' must be a whole number of tokens, 0 or more (0: verify every call).")
                : IdentityOptions.Default.VerifiedTokenCacheSize,
        };
        try
        {
            ServiceTokenProof.DecodeSecret(options.ServiceSecret, "GameSystem:Identity:ServiceSecret");
        }
        catch (ArgumentException ex)
        {
            throw new SettingException("GameSystem:Identity:ServiceSecret", ex.Message["GameSystem:Identity:ServiceSecret ".Length..] + " (or set GameSystem:Identity:Mode to Off, for tests only).");
        }

        return options;
    }

    // Accepts a JSON array, `a,b,c` in one value (environment variables, command line), or both.
    private static ImmutableArray<string> ReadList(IConfigurationSection section)
    {
        var values = section.Value is { } single ? [single] : section.GetChildren().Select(c => c.Value ?? string.Empty);
        return [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
    }

    private static int ReadInt(IConfigurationSection section, string key, int fallback, int minimum)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < minimum)
        {
            throw new SettingException($"{section.Path}:{key}", $"'{text}' must be a whole number of at least {minimum}.");
        }

        return value;
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        return bool.TryParse(text, out var value)
            ? value
            : throw new SettingException($"{section.Path}:{key}", $"'{text}' must be true or false.");
    }

    private static TimeSpan ReadDuration(IConfigurationSection section, string key, TimeSpan fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw new SettingException($"{section.Path}:{key}", $"'{text}' must be a positive duration such as 00:00:15.");
    }

    private static string? ExistingFile(IConfigurationSection section, string key)
    {
        var path = section[key];
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        return File.Exists(path)
            ? path
            : throw new SettingException($"{section.Path}:{key}", $"file '{path}' does not exist.");
    }
}

/// <summary>A configuration value that stops start-up; its message names the setting.</summary>
internal sealed class SettingException(string setting, string problem)
    : Exception($"Configuration error: {setting} {problem}")
{
    public string Setting { get; } = setting;
}
