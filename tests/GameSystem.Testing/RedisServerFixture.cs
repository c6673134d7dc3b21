using Xunit;

namespace GameSystem.Testing;

/// <summary>A real <c>redis-server</c> on a free loopback port, without persistence.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    /// <summary>A StackExchange.Redis connection string for the server.</summary>
    public string ConnectionString => $"127.0.0.1:{Server.Port}";

    /// <summary>The server process.</summary>
    public ServerProcess Server => _server ?? throw new InvalidOperationException("The Redis server has not started.");

    internal const string InstallHint = "Install it with 'sudo apt-get install -y redis-server' (eng/install-prereqs.sh does this).";

    /// <inheritdoc/>
    public async ValueTask InitializeAsync() => _server = await StartAsync().ConfigureAwait(false);

    /// <summary>
    /// Starts another, independent redis-server. With <paramref name="durable"/> it writes an
    /// append-only file synced on every write (<c>appendfsync always</c>), so a server killed
    /// with SIGKILL and restarted on the same <paramref name="workDirectory"/> and port keeps
    /// every write it acknowledged.
    /// </summary>
    public static Task<ServerProcess> StartAsync(bool durable = false, int? port = null, string? workDirectory = null) => ServerProcess.StartAsync(
        "redis-server",
        InstallHint,
        (p, dir) => [
            "--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--dir", dir,
            .. durable ? (string[])["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]],
        TimeSpan.FromSeconds(20),
        port,
        workDirectory);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
