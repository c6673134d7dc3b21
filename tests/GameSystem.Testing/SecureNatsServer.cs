using System.Globalization;
using NATS.Client.Core;

namespace GameSystem.Testing;

/// <summary>
/// A real nats-server that requires TLS with a client certificate (<c>verify: true</c>) and
/// authenticates users from an <c>authorization</c> block (such as generated NATS permissions),
/// with a CA and certificates made by the test (<see cref="TestCertificates"/>).
/// </summary>
public sealed class SecureNatsServer : IAsyncDisposable
{
    private readonly ServerProcess _server;

    private SecureNatsServer(ServerProcess server, TestCertificates certificates)
    {
        _server = server;
        Certificates = certificates;
    }

    /// <summary>The client URL, e.g. <c>tls://127.0.0.1:41234</c>.</summary>
    public string Url => $"tls://127.0.0.1:{_server.Port}";

    /// <summary>The same server with the plain scheme, for a client that must be refused without TLS.</summary>
    public string PlainUrl => $"nats://127.0.0.1:{_server.Port}";

    /// <summary>The CA, server and client certificates.</summary>
    public TestCertificates Certificates { get; }

    /// <summary>What the server printed so far (its permission violations among it).</summary>
    public string Output => _server.Output;

    /// <summary>
    /// Starts nats-server with TLS and <paramref name="authorization"/> (a config fragment, e.g. a
    /// generated <c>authorization { users = [...] }</c> block, written to its own file and included),
    /// with <paramref name="environment"/> (the users' password variables) in its environment.
    /// </summary>
    public static async Task<SecureNatsServer> StartAsync(string authorization, IReadOnlyDictionary<string, string> environment, bool jetStream = false)
    {
        TestCertificates? certificates = null;
        var server = await ServerProcess.StartAsync(
            "nats-server",
            "Install it with 'sudo apt-get install -y nats-server' (eng/install-prereqs.sh does this).",
            (port, dir) =>
            {
                certificates = TestCertificates.Create(Path.Combine(dir, "tls"));
                File.WriteAllText(Path.Combine(dir, "authorization.conf"), authorization);
                var config = Path.Combine(dir, "nats-server.conf");
                File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture, $$"""
                    listen: "127.0.0.1:{{port}}"
                    {{(jetStream ? $"jetstream {{ store_dir: \"{Path.Combine(dir, "jetstream")}\" }}" : "")}}
                    tls {
                      cert_file: "{{certificates.ServerCertFile}}"
                      key_file: "{{certificates.ServerKeyFile}}"
                      ca_file: "{{certificates.CaFile}}"
                      verify: true
                      timeout: 2
                    }
                    include "authorization.conf"
                    """));
                return ["-c", config];
            },
            TimeSpan.FromSeconds(20),
            environment: environment).ConfigureAwait(false);
        return new SecureNatsServer(server, certificates!);
    }

    /// <summary>Options of a client that trusts the test CA and presents the client certificate, as <paramref name="user"/>.</summary>
    public NatsOpts ClientOpts(string? user, string? password, string inboxPrefix = "_INBOX", string name = "test") => NatsOpts.Default with
    {
        Url = Url,
        Name = name,
        InboxPrefix = inboxPrefix,
        AuthOpts = NatsAuthOpts.Default with { Username = user, Password = password },
        TlsOpts = new NatsTlsOpts { Mode = TlsMode.Require, CaFile = Certificates.CaFile, CertFile = Certificates.ClientCertFile, KeyFile = Certificates.ClientKeyFile },

        // A refused connection should fail the test at once, not retry for the default minutes.
        MaxReconnectRetry = 0,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
