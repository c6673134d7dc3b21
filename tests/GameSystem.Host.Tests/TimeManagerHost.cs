using System.Text.RegularExpressions;
using GameSystem.Testing;

namespace GameSystem.Host.Tests;

/// <summary>Starts the host serving time-manager on a subject prefix of its own, and reads its banner.</summary>
internal static partial class TimeManagerHost
{
    /// <summary>Start-up includes JIT on a CPU shared with other test processes.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public static string[] Arguments(NatsServerFixture nats, string prefix, params string[] more) =>
        ["--services", "time-manager", "--nats", nats.Url, "--GameSystem:Mesh:SubjectPrefix", prefix, .. more];

    public static string Subject(string prefix) => $"{prefix}.gamesystem.time_manager.v1.TimeManagerService.*";

    /// <summary>
    /// Starts the host and returns once it serves: the banner lists a service only after
    /// its subscription is confirmed by the server.
    /// </summary>
    public static async Task<HostProcess> StartServingAsync(NatsServerFixture nats, string prefix, CancellationToken cancellationToken, params string[] more)
    {
        var host = HostProcess.Start(Arguments(nats, prefix, more));
        try
        {
            await host.WaitForOutputAsync(line => line.Contains(Subject(prefix), StringComparison.Ordinal), StartTimeout, cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>The instance id the banner names, as the NATS Services API reports it.</summary>
    public static string InstanceId(HostProcess host)
    {
        var match = host.Output.Select(line => ConnectedLine().Match(line)).FirstOrDefault(m => m.Success);
        return match?.Groups["id"].Value ?? throw new InvalidOperationException($"The banner names no instance id.\n{host.Transcript}");
    }

    [GeneratedRegex(@"GameSystem host (?<id>[0-9a-f]+) connected to ")]
    private static partial Regex ConnectedLine();
}
