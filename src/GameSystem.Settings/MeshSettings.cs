using System.Globalization;
using GameSystem.Identity;
using GameSystem.Mesh.Nats;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Settings;

/// <summary>
/// What every GameSystem process (the host, the gateway) reads the same way from the
/// <c>GameSystem</c> section: how to reach NATS (<c>Nats</c>), the mesh's client and server
/// options (<c>Mesh</c>), and how callers are verified (<c>Identity</c>). Reading validates.
/// </summary>
/// <param name="Nats">The NATS connection.</param>
/// <param name="Server">The mesh server options (for a process that serves).</param>
/// <param name="Client">The mesh client options.</param>
/// <param name="Identity">How callers are verified; null when <c>GameSystem:Identity:Mode</c> is <c>Off</c> (tests, local experiments).</param>
public sealed record MeshSettings(MeshNatsOptions Nats, MeshServerOptions Server, MeshClientOptions Client, IdentityOptions? Identity)
{
    /// <summary>The configuration section every GameSystem setting lives under.</summary>
    public const string Section = "GameSystem";

    /// <summary>Reads and validates the shared settings from <paramref name="configuration"/>'s <c>GameSystem</c> section.</summary>
    /// <exception cref="SettingException">A value is missing or malformed.</exception>
    public static MeshSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = configuration.GetSection(Section);
        var nats = root.GetSection("Nats");
        var mesh = root.GetSection("Mesh");

        var servers = nats.GetSection("Servers").ReadList();
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
            CredentialsFile = nats.ExistingFile("CredentialsFile"),
            NKeyFile = nats.ExistingFile("NKeyFile"),
            User = nats["User"],
            Password = nats["Password"],
            Token = nats["Token"],
            Tls = new MeshTlsOptions
            {
                Required = tls.ReadBool("Required", false),
                CaFile = tls.ExistingFile("CaFile"),
                CertFile = tls.ExistingFile("CertFile"),
                KeyFile = tls.ExistingFile("KeyFile"),
                InsecureSkipVerify = tls.ReadBool("InsecureSkipVerify", false),
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
            MaxConcurrentCalls = mesh.ReadInt("MaxConcurrentCalls", MeshServerOptions.Default.MaxConcurrentCalls, 1),
            MaxConcurrentStreams = mesh.ReadInt("MaxConcurrentStreams", MeshServerOptions.Default.MaxConcurrentStreams, 1),
            MaxRequestBytes = mesh["MaxRequestBytes"] is null ? null : mesh.ReadInt("MaxRequestBytes", 0, 1),
            ShutdownTimeout = mesh.ReadDuration("ShutdownTimeout", MeshServerOptions.Default.ShutdownTimeout),
        };
        var client = MeshClientOptions.Default with
        {
            SubjectPrefix = prefix,
            DefaultTimeout = mesh.ReadDuration("DefaultTimeout", MeshClientOptions.Default.DefaultTimeout),
        };

        return new MeshSettings(natsOptions, server, client, ReadIdentity(root.GetSection("Identity")));
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
}
