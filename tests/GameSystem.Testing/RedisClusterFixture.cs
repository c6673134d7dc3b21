using System.Globalization;
using Xunit;

namespace GameSystem.Testing;

/// <summary>
/// A real 3-primary Redis Cluster on loopback: three <c>redis-server --cluster-enabled yes</c>
/// on free ports joined by <c>redis-cli --cluster create</c>, every slot assigned, torn down
/// after the run. Tests keep apart by key prefix.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private readonly List<ServerProcess> _nodes = [];

    /// <summary>A StackExchange.Redis connection string naming every node (the client discovers the cluster from any).</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>The node processes, in port order of creation.</summary>
    public IReadOnlyList<ServerProcess> Nodes => _nodes;

    /// <inheritdoc/>
    public async ValueTask InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            // The cluster bus port is set explicitly: the default (port + 10000) may be taken or out of range.
            var busPort = ServerProcess.FreePort();
            _nodes.Add(await ServerProcess.StartAsync(
                "redis-server",
                RedisServerFixture.InstallHint,
                (port, dir) => [
                    "--port", Text(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-port", Text(busPort),
                    "--cluster-config-file", Path.Combine(dir, "nodes.conf"), "--cluster-node-timeout", "5000",
                    "--save", string.Empty, "--appendonly", "no", "--dir", dir],
                TimeSpan.FromSeconds(20)).ConfigureAwait(false));
        }

        var (exitCode, output) = await ServerProcess.RunAsync(
            "redis-cli",
            ["--cluster", "create", .. _nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "0", "--cluster-yes"],
            TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({exitCode}):\n{output}");
        }

        // Every node must agree the cluster is up before a client connects.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var node in _nodes)
        {
            while (true)
            {
                var (_, info) = await ServerProcess.RunAsync("redis-cli", ["-p", Text(node.Port), "cluster", "info"], TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal) && info.Contains("cluster_slots_assigned:16384", StringComparison.Ordinal))
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The Redis Cluster on ports {ConnectionString} did not reach cluster_state:ok within 30 s:\n{info}");
                }

                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
