using System.Collections.Immutable;
using GameSystem.Mesh.Nats;
using GameSystem.Settings;
using Microsoft.Extensions.Configuration;
using NATS.Client.Core;

namespace GameSystem.Cli.Internal;

/// <summary>A NATS connection and the mesh client on it, as the command line and the host's environment variables configure them.</summary>
internal sealed class MeshConnection : IAsyncDisposable
{
    private const string ServersKey = "GameSystem:Nats:Servers";
    private const string PrefixKey = "GameSystem:Mesh:SubjectPrefix";
    private readonly NatsConnection _connection;

    private MeshConnection(NatsConnection connection, NatsMeshClient invoker)
    {
        _connection = connection;
        Invoker = invoker;
    }

    public NatsMeshClient Invoker { get; }

    /// <summary>Connects, or writes why it cannot to <paramref name="error"/> and returns null.</summary>
    public static async Task<MeshConnection?> OpenAsync(CommandLine line, IConfiguration environment, TextWriter error)
    {
        var servers = line.Servers.IsEmpty ? ReadList(environment.GetSection(ServersKey)) : line.Servers;
        MeshNatsOptions natsOptions;
        try
        {
            // Credentials and TLS as the host reads them (GameSystem__Nats__User, …__Tls__CaFile, …),
            // so the CLI reaches a secured mesh with the same environment as its processes.
            var nats = new ConfigurationBuilder()
                .AddConfiguration(environment)
                .AddInMemoryCollection([new(ServersKey, string.Join(',', servers.IsEmpty ? MeshNatsOptions.Default.Servers : servers))])
                .Build();
            natsOptions = MeshSettings.ReadNats(nats) with { Name = "gamesystem-cli" };
        }
        catch (SettingException ex)
        {
            throw new UsageException(ex.Message);
        }

        var clientOptions = MeshClientOptions.Default with { SubjectPrefix = Prefix(line.Prefix ?? environment[PrefixKey]) };
        NatsOpts natsOpts;
        try
        {
            natsOpts = natsOptions.ToNatsOpts();
        }
        catch (InvalidOperationException ex)
        {
            throw new UsageException(ex.Message);
        }

        var connection = new NatsConnection(natsOpts);
        try
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (NatsException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            await error.WriteLineAsync(
                $"error: cannot reach NATS at {natsOpts.Url}: is the mesh running? Start it with eng/run-mesh.sh (or pass --nats url).").ConfigureAwait(false);
            return null;
        }

        return new MeshConnection(connection, new NatsMeshClient(connection, clientOptions));
    }

    public async ValueTask DisposeAsync()
    {
        await Invoker.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    // As the host reads it: `a,b` in one value (an environment variable) or indexed entries (…__0, …__1).
    private static ImmutableArray<string> ReadList(IConfigurationSection section) => section.Value is { } single
        ? CommandLine.SplitList(single)
        : [.. section.GetChildren().SelectMany(c => CommandLine.SplitList(c.Value ?? ""))];

    private static string Prefix(string? prefix)
    {
        prefix ??= MeshSubjects.DefaultPrefix;
        return MeshSubjects.IsValidPrefix(prefix)
            ? prefix
            : throw new UsageException($"the subject prefix '{prefix}' must be one NATS subject token: no dots, wildcards or spaces.");
    }
}
