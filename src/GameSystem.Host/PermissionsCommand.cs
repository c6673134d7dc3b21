using System.Collections.Immutable;
using GameSystem.Mesh.Nats;
using GameSystem.Settings;

namespace GameSystem.Host;

/// <summary>
/// <c>GameSystem.Host permissions</c>: writes the nats-server authorization of a deployment from
/// the contracts and the implementations beside the host (<see cref="NatsPermissions"/>).
/// </summary>
internal static class PermissionsCommand
{
    public const string Name = "permissions";

    public const string Usage = """
        Usage: GameSystem.Host permissions [--host <user>=<services>]... [--gateway <user>] [--operator <user>]
                                           [--prefix <subject prefix>] [--out <file>]
          --host      a host process's NATS user and the services it runs (all, or a comma-separated list, as
                      GameSystem:Services); repeat for each kind of host. Default: --host gs-host=all
          --gateway   the HTTP gateway's NATS user (it may call only methods with an HTTP binding)
          --operator  a user for gs from a shell (any call, $SRV discovery)
          --prefix    the mesh's subject prefix (GameSystem:Mesh:SubjectPrefix), default gs
          --out       the file to write (default: standard output); include it in nats-server.conf
        Each process then connects as its user: GameSystem:Nats:User, Password, and InboxPrefix=_INBOX.<user>.
        """;

    /// <summary>Runs the command; returns the process exit code (0, or 2 for a usage error).</summary>
    public static int Run(IReadOnlyList<string> args, string directory, TextWriter output, TextWriter error)
    {
        try
        {
            var (hosts, gateway, @operator, prefix, file) = Parse(args);
            var catalog = ServiceCatalog.Discover(directory);
            var users = ImmutableArray.CreateBuilder<NatsUser>();
            foreach (var (user, services) in hosts)
            {
                ImmutableArray<SelectedService> selection;
                try
                {
                    selection = catalog.Select(services.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                }
                catch (SettingException ex)
                {
                    throw new ArgumentException($"--host {user}={services}: {ex.Message[(ex.Message.IndexOf("names", StringComparison.Ordinal) is var at and >= 0 ? at : 0)..]}", ex);
                }

                users.Add(NatsPermissions.ForHost(user, selection, catalog.Contracts, prefix));
            }

            if (gateway is not null)
            {
                users.Add(NatsPermissions.ForGateway(gateway, catalog.Contracts, prefix));
            }

            if (@operator is not null)
            {
                users.Add(NatsPermissions.ForOperator(@operator, prefix));
            }

            var config = NatsPermissions.ToServerConfig(users, $"GameSystem.Host permissions {string.Join(' ', args)}");
            if (file is null)
            {
                output.Write(config);
            }
            else
            {
                File.WriteAllText(file, config);
                foreach (var user in users)
                {
                    error.WriteLine($"{user.Name}: {user.Role}; password from ${user.PasswordVariable}; GameSystem:Nats:InboxPrefix={user.InboxPrefix}");
                }

                error.WriteLine($"Wrote the permissions of {users.Count} NATS users to {file}.");
            }

            return 0;
        }
        catch (ArgumentException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            error.WriteLine(Usage);
            return 2;
        }
        catch (InvalidOperationException ex)
        {
            // A service whose use of NATS cannot be derived: no permissions rather than wrong ones.
            error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    private static (List<(string User, string Services)> Hosts, string? Gateway, string? Operator, string Prefix, string? File) Parse(IReadOnlyList<string> args)
    {
        var hosts = new List<(string, string)>();
        string? gateway = null, @operator = null, file = null;
        var prefix = MeshSubjects.DefaultPrefix;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var option = args[i];
            var value = i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{option} needs a value.");
            switch (option)
            {
                case "--host":
                    var equals = value.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0 || equals == value.Length - 1)
                    {
                        throw new ArgumentException($"--host '{value}' must be <user>=<services>, e.g. --host game-host=time-manager,language-system.");
                    }

                    hosts.Add((User(value[..equals], names), value[(equals + 1)..]));
                    break;
                case "--gateway":
                    gateway = User(value, names);
                    break;
                case "--operator":
                    @operator = User(value, names);
                    break;
                case "--prefix":
                    prefix = MeshSubjects.IsValidPrefix(value) ? value : throw new ArgumentException($"--prefix '{value}' must be one NATS subject token: no dots, wildcards or spaces.");
                    break;
                case "--out":
                    file = value;
                    break;
                default:
                    throw new ArgumentException($"unknown option '{option}'.");
            }
        }

        if (hosts.Count == 0)
        {
            hosts.Add((User("gs-host", names), "all"));
        }

        return (hosts, gateway, @operator, prefix, file);
    }

    private static string User(string name, HashSet<string> seen)
    {
        if (!NatsPermissions.IsValidUserName(name))
        {
            throw new ArgumentException($"user '{name}' must be letters, digits, '-' and '_' only (it is also the token of its inbox prefix).");
        }

        return seen.Add(name) ? name : throw new ArgumentException($"user '{name}' is given twice; each process kind needs a user of its own.");
    }
}
