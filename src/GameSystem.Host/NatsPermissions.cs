using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using System.Text;
using GameSystem.Auth.V1;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.Mesh.Contracts.V1;
using GameSystem.Mesh.Nats;
using Grpc.Health.V1;
using NATS.Client.Core;

namespace GameSystem.Host;

/// <summary>
/// One NATS user of a deployment and what it may do, with the reasons, so the generated file can
/// say why each subject is there.
/// </summary>
/// <param name="Name">The user name (and its inbox token).</param>
/// <param name="Role">What runs as this user, for the file's comment.</param>
/// <param name="InboxPrefix">The reply-inbox prefix its processes must set (<c>GameSystem:Nats:InboxPrefix</c>).</param>
/// <param name="Publish">Subjects it may publish to.</param>
/// <param name="Subscribe">Subjects it may subscribe to.</param>
/// <param name="Calls">The services it calls and why (declared dependency, or what of the runtime).</param>
internal sealed record NatsUser(
    string Name,
    string Role,
    string InboxPrefix,
    ImmutableSortedSet<string> Publish,
    ImmutableSortedSet<string> Subscribe,
    ImmutableArray<string> Calls)
{
    /// <summary>The environment variable nats-server reads this user's password from.</summary>
    public string PasswordVariable => "GS_NATS_PASSWORD_" + string.Concat(Name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_'));
}

/// <summary>
/// NATS permissions, generated from what the code declares rather than written by hand: a host
/// user may subscribe to the subjects of the services it serves (plus their <c>$SRV</c> discovery
/// and its own inbox) and publish to the services their implementations take the generated
/// clients of, plus what the host's runtime calls on their behalf (auth for identity, event-bus
/// for their outbox and subscriptions, capability-registry for their capabilities) and replies.
/// The gateway may publish only to methods with a <c>google.api.http</c> rule, plus what it calls
/// itself. A host process is one user (one connection serves all its services): its permissions
/// are the union of its services'.
/// </summary>
internal static class NatsPermissions
{
    /// <summary>Where replies go: every process may publish to any inbox (a server answers callers it does not know, a stream's client sends credit to the server's control inbox), but subscribe only under its own.</summary>
    public const string Inboxes = "_INBOX.>";

    /// <summary>The inbox prefix of <paramref name="user"/>: its own subtree of <c>_INBOX</c>.</summary>
    public static string InboxPrefixOf(string user) => $"_INBOX.{user}";

    /// <summary>True when <paramref name="user"/> is one subject token a nats-server user name can also be: letters, digits, '-' and '_'.</summary>
    public static bool IsValidUserName(string user) =>
        !string.IsNullOrEmpty(user) && user.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// What nats-server's environment variable must hold for <paramref name="password"/>: nats-server
    /// parses a variable's value as a configuration value, so a bare password starting with a digit
    /// would be read as a number (and fail); quoted, it is the string.
    /// </summary>
    public static string PasswordVariableValue(string password) =>
        "\"" + (password ?? throw new ArgumentNullException(nameof(password))).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>The services <paramref name="implementation"/> declares it calls: the generated clients its public constructors take.</summary>
    public static ImmutableArray<MeshServiceInfo> DeclaredDependencies(Type implementation, IEnumerable<MeshServiceInfo> catalog)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        var taken = implementation.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .SelectMany(c => c.GetParameters())
            .Select(p => p.ParameterType)
            .ToHashSet();
        return [.. catalog.Where(info => taken.Contains(info.ClientType)).OrderBy(info => info.FullName, StringComparer.Ordinal)];
    }

    /// <summary>The permissions of a host process running <paramref name="services"/> as <paramref name="user"/>.</summary>
    /// <exception cref="InvalidOperationException">An implementation uses the NATS connection without declaring its subjects (<see cref="NatsSubjectsAttribute"/>).</exception>
    public static NatsUser ForHost(string user, IReadOnlyList<SelectedService> services, IReadOnlyList<MeshServiceInfo> catalog, string prefix)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(catalog);
        var inbox = InboxPrefixOf(user);
        var publish = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
        var subscribe = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
        var calls = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        publish.Add(Inboxes);
        subscribe.Add($"{inbox}.>");

        // Every host serves health beside its services, and verifies each call against auth's keys.
        Serve(HealthDispatcher.Info, prefix, subscribe);
        Call(Method(AuthServiceDispatcher.Info, nameof(AuthServiceClient.ListSigningKeysAsync)), prefix, publish, calls, "for verifying callers' tokens (the host)");
        foreach (var service in services)
        {
            Serve(service.Info, prefix, subscribe);
            if (service.Implementation is not { } type)
            {
                continue;
            }

            var name = service.Info.Name;
            foreach (var dependency in DeclaredDependencies(type, catalog))
            {
                var all = $"{prefix}.{dependency.FullName}.>";
                publish.Add(all);
                Reason(calls, $"{dependency.FullName} (declared)", $"all methods: {name} takes {dependency.ClientType.Name}");
            }

            // What the host does for the service, whatever its constructor says.
            Call(Method(AuthServiceDispatcher.Info, nameof(AuthServiceClient.IssueServiceTokenAsync)), prefix, publish, calls, $"for {name}'s service account");
            if (ServiceEvents.TakesOutbox(type))
            {
                Call(Method(EventBusServiceDispatcher.Info, nameof(EventBusServiceClient.PublishAsync)), prefix, publish, calls, $"for {name}'s outbox relay");
            }

            if (typeof(IEventSubscriber).IsAssignableFrom(type))
            {
                foreach (var method in new[] { nameof(EventBusServiceClient.SubscribeAsync), nameof(EventBusServiceClient.AckAsync), nameof(EventBusServiceClient.PublishAsync) })
                {
                    Call(Method(EventBusServiceDispatcher.Info, method), prefix, publish, calls, $"for {name}'s event consumers");
                }
            }

            if (service.Info.Descriptor.GetOptions()?.GetExtension(OptionsExtensions.Service)?.Capabilities is { Count: > 0 })
            {
                foreach (var method in new[] { nameof(CapabilityRegistryServiceClient.RegisterAsync), nameof(CapabilityRegistryServiceClient.HeartbeatAsync), nameof(CapabilityRegistryServiceClient.DeregisterAsync) })
                {
                    Call(Method(CapabilityRegistryServiceDispatcher.Info, method), prefix, publish, calls, $"for {name}'s capability registration");
                }
            }

            var takesConnection = type.GetConstructors().SelectMany(c => c.GetParameters()).Any(p => typeof(INatsConnection).IsAssignableFrom(p.ParameterType));
            var raw = type.GetCustomAttribute<NatsSubjectsAttribute>();
            if (takesConnection && raw is null)
            {
                throw new InvalidOperationException(
                    $"{type.FullName} takes the NATS connection but does not say which subjects it uses: add [NatsSubjects(publish: [...], subscribe: [...])] to it, so its NATS user can be given them.");
            }

            if (raw is not null)
            {
                publish.UnionWith(raw.Publish.Select(s => s.Replace(NatsSubjectsAttribute.Prefix, prefix, StringComparison.Ordinal)));
                subscribe.UnionWith(raw.Subscribe.Select(s => s.Replace(NatsSubjectsAttribute.Prefix, prefix, StringComparison.Ordinal)));
                Reason(calls, $"NATS directly ({name}'s [NatsSubjects])", string.Join(", ", raw.Publish.Concat(raw.Subscribe).Distinct(StringComparer.Ordinal)));
            }
        }

        // A whole-service allow already covers that service's single methods.
        var covered = publish.Where(s => s.EndsWith(".>", StringComparison.Ordinal)).Select(s => s[..^1]).ToList();
        publish.ExceptWith([.. publish.Where(s => !s.EndsWith('>') && covered.Any(c => s.StartsWith(c, StringComparison.Ordinal)))]);
        return new NatsUser(user, $"host serving {string.Join(", ", services.Select(s => s.Info.Name + (s.IsImplemented ? "" : " (contract only)")))}", inbox,
            publish.ToImmutable(), subscribe.ToImmutable(), Describe(calls));
    }

    /// <summary>The gateway's permissions: the methods of <paramref name="catalog"/> with an HTTP binding, and what it calls itself.</summary>
    public static NatsUser ForGateway(string user, IEnumerable<MeshServiceInfo> catalog, string prefix)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var inbox = InboxPrefixOf(user);
        var publish = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
        var calls = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        publish.Add(Inboxes);
        foreach (var method in catalog.SelectMany(s => s.Methods).Where(m => m.Http is not null))
        {
            Call(method, prefix, publish, calls, "with an HTTP route");
        }

        Call(Method(AuthServiceDispatcher.Info, nameof(AuthServiceClient.ListSigningKeysAsync)), prefix, publish, calls, "for verifying callers' tokens");
        Call(Method(AuthServiceDispatcher.Info, nameof(AuthServiceClient.IssueServiceTokenAsync)), prefix, publish, calls, "for the gateway's service account");
        Call(Method(GameSystem.Router.V1.RouterServiceDispatcher.Info, nameof(GameSystem.Router.V1.RouterServiceClient.WatchRoutesAsync)), prefix, publish, calls, "for the cutover's route table");
        return new NatsUser(user, "HTTP gateway", inbox, publish.ToImmutable(), [$"{inbox}.>"], Describe(calls));
    }

    /// <summary>An operator's permissions (<c>gs</c> from a shell): any call of the mesh and its discovery, replies to its own inbox.</summary>
    public static NatsUser ForOperator(string user, string prefix)
    {
        var inbox = InboxPrefixOf(user);
        return new NatsUser(user, "operator (gs)", inbox, [Inboxes, $"{prefix}.>", "$SRV.>"], [$"{inbox}.>"], ["every service: an operator's shell"]);
    }

    /// <summary>The nats-server configuration of <paramref name="users"/>: an <c>authorization</c> block to <c>include</c>, holding no secret.</summary>
    public static string ToServerConfig(IReadOnlyList<NatsUser> users, string command)
    {
        ArgumentNullException.ThrowIfNull(users);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# Generated by `{command}`");
        text.AppendLine("# from the contracts and the constructors of the service implementations. Do not edit: regenerate.");
        text.AppendLine("# Include it in nats-server.conf (include \"<this file>\"). Each password is read from nats-server's");
        text.AppendLine("# environment (GS_NATS_PASSWORD_<USER>), which nats-server parses as a config value: quote it,");
        text.AppendLine("# GS_NATS_PASSWORD_X='\"<password>\"'. A bcrypt hash there works as well as the password.");
        text.AppendLine("# Each process sets GameSystem:Nats:User/Password and GameSystem:Nats:InboxPrefix as its user says.");
        text.AppendLine("authorization {");
        text.AppendLine("  users = [");
        foreach (var user in users)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    # {user.Name}: {user.Role}; GameSystem:Nats:InboxPrefix={user.InboxPrefix}");
            foreach (var call in user.Calls)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    #   calls {call}");
            }

            text.AppendLine("    {");
            text.AppendLine(CultureInfo.InvariantCulture, $"      user: {Quote(user.Name)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"      password: ${user.PasswordVariable}");
            text.AppendLine("      permissions: {");
            text.AppendLine(CultureInfo.InvariantCulture, $"        publish: {{ allow: [{string.Join(", ", user.Publish.Select(Quote))}] }}");
            text.AppendLine(CultureInfo.InvariantCulture, $"        subscribe: {{ allow: [{string.Join(", ", user.Subscribe.Select(Quote))}] }}");
            text.AppendLine("      }");
            text.AppendLine("    }");
        }

        text.AppendLine("  ]");
        text.AppendLine("}");
        return text.ToString();
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    // A service's calls on its wildcard and cancel subject, and the nine ADR-32 discovery subjects
    // its instance answers (docs/wire-protocol.md §2.2, §8.1): by verb, by name, by name and id.
    private static void Serve(MeshServiceInfo service, string prefix, ImmutableSortedSet<string>.Builder subscribe)
    {
        subscribe.Add($"{prefix}.{service.FullName}.>");
        foreach (var verb in new[] { "PING", "INFO", "STATS" })
        {
            subscribe.Add($"$SRV.{verb}");
        }

        subscribe.Add($"$SRV.*.{service.Name}");
        subscribe.Add($"$SRV.*.{service.Name}.*");
    }

    // One method, and its service's cancel subject, which a caller uses when it cancels a unary call.
    private static void Call(MeshMethod method, string prefix, ImmutableSortedSet<string>.Builder publish, SortedDictionary<string, SortedSet<string>> calls, string why)
    {
        publish.Add(MeshSubjects.For(prefix, method));
        if (method.Type == Grpc.Core.MethodType.Unary)
        {
            publish.Add(MeshSubjects.Cancel(prefix, method.ServiceFullName));
        }

        Reason(calls, $"{method.ServiceFullName} {why}", method.Name);
    }

    // Grouped by target and reason, so a comment line reads "<service> <why>: <methods>".
    private static void Reason(SortedDictionary<string, SortedSet<string>> calls, string targetAndWhy, string what)
    {
        if (!calls.TryGetValue(targetAndWhy, out var items))
        {
            calls[targetAndWhy] = items = new SortedSet<string>(StringComparer.Ordinal);
        }

        items.Add(what);
    }

    private static ImmutableArray<string> Describe(SortedDictionary<string, SortedSet<string>> calls) =>
        [.. calls.Select(c => $"{c.Key}: {string.Join(", ", c.Value)}")];

    // By the generated client's method name, so a renamed rpc fails to compile here, not in production.
    private static MeshMethod Method(MeshServiceInfo service, string clientMethod)
    {
        var name = clientMethod.EndsWith("Async", StringComparison.Ordinal) ? clientMethod[..^"Async".Length] : clientMethod;
        return service.Methods.FirstOrDefault(m => m.Name == name)
            ?? throw new InvalidOperationException($"{service.FullName} has no method {name}.");
    }
}
