using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
        var mesh = root.GetSection("Mesh");

        var natsOptions = ReadNats(configuration);
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

    /// <summary>
    /// Reads and validates <c>GameSystem:Nats</c> alone (what a pure client such as <c>gs</c> needs):
    /// servers, one way to authenticate, TLS files that exist, can be read and hold what they should.
    /// Messages name the setting and the file, never a secret.
    /// </summary>
    /// <exception cref="SettingException">A value is missing or malformed.</exception>
    public static MeshNatsOptions ReadNats(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var nats = configuration.GetSection(Section).GetSection("Nats");
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

            // A URL's user:password would end up in every log line that names the servers.
            if (!string.IsNullOrEmpty(uri.UserInfo))
            {
                throw new SettingException("GameSystem:Nats:Servers", $"'{uri.Scheme}://{uri.Authority[(uri.Authority.IndexOf('@', StringComparison.Ordinal) + 1)..]}' carries credentials in the URL: set GameSystem:Nats:User and Password (or Token) instead, so they stay out of logs.");
            }
        }

        var tls = nats.GetSection("Tls");
        var options = MeshNatsOptions.Default with
        {
            Servers = servers,
            Name = nats["Name"] ?? MeshNatsOptions.Default.Name,
            CredentialsFile = nats.ReadableFile("CredentialsFile"),
            NKeyFile = nats.ReadableFile("NKeyFile"),
            User = NullIfEmpty(nats["User"]),
            Password = NullIfEmpty(nats["Password"]),
            Token = NullIfEmpty(nats["Token"]),
            InboxPrefix = nats["InboxPrefix"] ?? MeshNatsOptions.Default.InboxPrefix,
            Tls = new MeshTlsOptions
            {
                Required = tls.ReadBool("Required", false),
                CaFile = tls.ReadableFile("CaFile"),
                CertFile = tls.ReadableFile("CertFile"),
                KeyFile = tls.ReadableFile("KeyFile"),
                InsecureSkipVerify = tls.ReadBool("InsecureSkipVerify", false),
            },
        };
        if ((options.User is null) != (options.Password is null))
        {
            throw new SettingException("GameSystem:Nats:User", "and GameSystem:Nats:Password go together: set both or neither.");
        }

        var ways = new[]
        {
            options.User is null ? null : "User/Password",
            options.Token is null ? null : "Token",
            options.CredentialsFile is null ? null : "CredentialsFile",
            options.NKeyFile is null ? null : "NKeyFile",
        }.OfType<string>().ToList();
        if (ways.Count > 1)
        {
            throw new SettingException("GameSystem:Nats", $"sets {string.Join(" and ", ways)}: choose one way to authenticate to NATS.");
        }

        if (!MeshNatsOptions.IsValidInboxPrefix(options.InboxPrefix))
        {
            throw new SettingException("GameSystem:Nats:InboxPrefix", $"'{options.InboxPrefix}' must be dot-separated subject tokens without wildcards or spaces, e.g. _INBOX.game-host.");
        }

        CheckTls(options.Tls);
        return options;
    }

    // What NATS.Net would only find at connect time, and then as a bare handshake failure.
    private static void CheckTls(MeshTlsOptions tls)
    {
        if ((tls.CertFile is null) != (tls.KeyFile is null))
        {
            throw new SettingException("GameSystem:Nats:Tls:CertFile", "and GameSystem:Nats:Tls:KeyFile go together: set both for mutual TLS, or neither.");
        }

        if (tls.InsecureSkipVerify && tls.CaFile is not null)
        {
            throw new SettingException("GameSystem:Nats:Tls:InsecureSkipVerify", "is true while GameSystem:Nats:Tls:CaFile names a CA to verify the server with: drop one (InsecureSkipVerify is for local experiments only).");
        }

        var now = DateTime.UtcNow;
        if (tls.CaFile is { } caFile)
        {
            var authorities = new X509Certificate2Collection();
            try
            {
                authorities.ImportFromPemFile(caFile);
            }
            catch (CryptographicException ex)
            {
                throw new SettingException("GameSystem:Nats:Tls:CaFile", $"file '{caFile}' is not a PEM file of CA certificates ({ex.Message}).");
            }

            if (authorities.Count == 0)
            {
                throw new SettingException("GameSystem:Nats:Tls:CaFile", $"file '{caFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            }

            if (authorities.All(c => c.NotAfter.ToUniversalTime() < now))
            {
                throw new SettingException("GameSystem:Nats:Tls:CaFile", $"file '{caFile}' holds only expired certificates (the last expired {authorities.Max(c => c.NotAfter.ToUniversalTime()):u}).");
            }

            foreach (var authority in authorities)
            {
                authority.Dispose();
            }
        }

        if (tls.CertFile is { } certFile && tls.KeyFile is { } keyFile)
        {
            X509Certificate2 certificate;
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                throw new SettingException("GameSystem:Nats:Tls:CertFile", $"file '{certFile}' with key file '{keyFile}' (GameSystem:Nats:Tls:KeyFile) is not a PEM certificate and its private key ({ex.Message}).");
            }

            using (certificate)
            {
                if (certificate.NotAfter.ToUniversalTime() < now)
                {
                    throw new SettingException("GameSystem:Nats:Tls:CertFile", $"file '{certFile}' holds a certificate that expired {certificate.NotAfter.ToUniversalTime():u} ({certificate.Subject}).");
                }
            }
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

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
