using System.Collections.Immutable;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats;

/// <summary>
/// Where and how the mesh connects to NATS. Immutable; adjust with <c>with</c>, as
/// NATS.Net's <see cref="NatsOpts"/>.
/// </summary>
public sealed record MeshNatsOptions
{
    /// <summary>Local defaults: one server on the standard port, no credentials, no TLS.</summary>
    public static MeshNatsOptions Default { get; } = new();

    /// <summary>Server URLs of the cluster (any of them will do; NATS learns the rest).</summary>
    public ImmutableArray<string> Servers { get; init; } = ["nats://127.0.0.1:4222"];

    /// <summary>Connection name shown by the server's monitoring.</summary>
    public string Name { get; init; } = "gamesystem";

    /// <summary>Path to a NATS <c>.creds</c> file (JWT + NKey seed), or null.</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>Path to an NKey seed file, or null.</summary>
    public string? NKeyFile { get; init; }

    /// <summary>User name for user/password authentication, or null.</summary>
    public string? User { get; init; }

    /// <summary>Password for user/password authentication, or null.</summary>
    public string? Password { get; init; }

    /// <summary>Authentication token, or null.</summary>
    public string? Token { get; init; }

    /// <summary>TLS settings.</summary>
    public MeshTlsOptions Tls { get; init; } = MeshTlsOptions.Default;

    /// <summary>
    /// Prefix of this connection's reply inboxes (NATS.Net's <see cref="NatsOpts.InboxPrefix"/>).
    /// Under generated permissions each process gets its own (<c>_INBOX.&lt;user&gt;</c>) and may
    /// subscribe only below it, so nobody reads replies meant for another.
    /// </summary>
    public string InboxPrefix { get; init; } = "_INBOX";

    /// <summary>True when <paramref name="prefix"/> can prefix inbox subjects: dot-separated non-empty tokens without wildcards or whitespace.</summary>
    public static bool IsValidInboxPrefix(string prefix) =>
        !string.IsNullOrEmpty(prefix)
        && prefix.Split('.').All(token => token.Length > 0 && !token.Any(c => c is '*' or '>' || char.IsWhiteSpace(c)));

    /// <summary>Builds NATS.Net's options from these.</summary>
    public NatsOpts ToNatsOpts()
    {
        if (Servers.IsDefaultOrEmpty)
        {
            throw new InvalidOperationException("MeshNatsOptions.Servers is empty: give at least one NATS server URL.");
        }

        foreach (var server in Servers)
        {
            if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
            {
                throw new InvalidOperationException($"NATS server URL '{server}' is not a nats://, tls://, ws:// or wss:// URL.");
            }
        }

        return NatsOpts.Default with
        {
            Url = string.Join(',', Servers),
            Name = Name,
            AuthOpts = NatsAuthOpts.Default with
            {
                CredsFile = CredentialsFile,
                NKeyFile = NKeyFile,
                Username = User,
                Password = Password,
                Token = Token,
            },
            TlsOpts = Tls.ToNatsTlsOpts(),
            InboxPrefix = IsValidInboxPrefix(InboxPrefix)
                ? InboxPrefix
                : throw new InvalidOperationException($"NATS inbox prefix '{InboxPrefix}' must be dot-separated subject tokens without wildcards or spaces, e.g. _INBOX.game-host."),
        };
    }
}

/// <summary>TLS to the NATS servers.</summary>
public sealed record MeshTlsOptions
{
    /// <summary>TLS when the server asks for it, system trust store.</summary>
    public static MeshTlsOptions Default { get; } = new();

    /// <summary>
    /// Require TLS even when the URL scheme is <c>nats://</c>. Implied by <see cref="CaFile"/> and
    /// <see cref="CertFile"/>: a connection given a CA to check the server with never falls back to plain text.
    /// </summary>
    public bool Required { get; init; }

    /// <summary>PEM file of the certificate authorities to trust, or null for the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate for mutual TLS, or null.</summary>
    public string? CertFile { get; init; }

    /// <summary>PEM private key of <see cref="CertFile"/>, or null.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Skips server certificate validation. For local experiments only.</summary>
    public bool InsecureSkipVerify { get; init; }

    internal NatsTlsOpts ToNatsTlsOpts()
    {
        if ((CertFile is null) != (KeyFile is null))
        {
            throw new InvalidOperationException("TLS CertFile and KeyFile go together: set both for mutual TLS, or neither.");
        }

        return NatsTlsOpts.Default with
        {
            Mode = Required || CaFile is not null || CertFile is not null ? TlsMode.Require : TlsMode.Auto,
            CaFile = CaFile,
            CertFile = CertFile,
            KeyFile = KeyFile,
            InsecureSkipVerify = InsecureSkipVerify,
        };
    }
}
