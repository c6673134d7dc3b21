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

    /// <inheritdoc/>
    public async ValueTask InitializeAsync() => _server = await ServerProcess.StartAsync(
        "redis-server",
        "Install it with 'sudo apt-get install -y redis-server' (eng/install-prereqs.sh does this).",
        (port, dir) => ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--dir", dir],
        TimeSpan.FromSeconds(20)).ConfigureAwait(false);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
