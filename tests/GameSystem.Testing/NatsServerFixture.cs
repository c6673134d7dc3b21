using NATS.Client.Core;
using Xunit;

namespace GameSystem.Testing;

/// <summary>
/// A real <c>nats-server</c> (JetStream on) on a free loopback port, shared by the tests of
/// one assembly (<c>[assembly: AssemblyFixture(typeof(NatsServerFixture))]</c>). Tests keep
/// apart by using unique subject prefixes.
/// </summary>
public sealed class NatsServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    /// <summary>The client URL, e.g. <c>nats://127.0.0.1:41234</c>.</summary>
    public string Url => $"nats://127.0.0.1:{Server.Port}";

    /// <summary>The server process.</summary>
    public ServerProcess Server => _server ?? throw new InvalidOperationException("The NATS server has not started.");

    /// <summary>Largest message the server accepts: nats-server's default <c>max_payload</c>.</summary>
    public const int MaxPayload = 1024 * 1024;

    /// <inheritdoc/>
    public async ValueTask InitializeAsync() => _server = await StartAsync().ConfigureAwait(false);

    /// <summary>
    /// Starts another, independent nats-server (for tests that kill or restart one). JetStream
    /// keeps its files in <paramref name="storeDirectory"/> when given (the caller owns it, so a
    /// restart on the same port and directory finds what was stored), else in the server's
    /// scratch directory; <paramref name="jetStream"/> false starts a server without JetStream.
    /// </summary>
    public static Task<ServerProcess> StartAsync(int? port = null, string? storeDirectory = null, bool jetStream = true) => ServerProcess.StartAsync(
        "nats-server",
        "Install it with 'sudo apt-get install -y nats-server' (eng/install-prereqs.sh does this).",
        (port, dir) => jetStream
            ? ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", storeDirectory ?? Path.Combine(dir, "jetstream")]
            : ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        TimeSpan.FromSeconds(20),
        port);

    /// <summary>Opens a connection to the server.</summary>
    public async Task<NatsConnection> ConnectAsync(string name = "test")
    {
        var connection = new NatsConnection(NatsOpts.Default with { Url = Url, Name = name });
        await connection.ConnectAsync().ConfigureAwait(false);
        return connection;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
