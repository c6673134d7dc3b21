using System.Collections.Immutable;
using GameSystem.Identity;
using GameSystem.Mesh.Nats;
using GameSystem.Settings;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Host;

/// <summary>
/// The host's configuration, read from the <c>GameSystem</c> section (appsettings.json,
/// then <c>GameSystem__*</c> environment variables, then <c>--GameSystem:*</c> arguments).
/// Reading validates: a bad setting stops start-up naming the setting and why.
/// </summary>
internal sealed record HostSettings(
    ImmutableArray<string> Services,
    MeshNatsOptions Nats,
    MeshServerOptions Server,
    MeshClientOptions Client,
    ImmutableDictionary<string, int> ServiceConcurrency,
    string? StoreRedis)
{
    /// <summary>
    /// How callers are verified (<c>GameSystem:Identity</c>); null when <c>Mode</c> is <c>Off</c>,
    /// which only a test or a local experiment should set.
    /// </summary>
    public IdentityOptions? Identity { get; init; }

    /// <summary>The lease each served instance registers its capabilities with (<c>GameSystem:Capabilities:Ttl</c>).</summary>
    public TimeSpan CapabilityTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Resilience of calls to particular services (<c>GameSystem:Resilience:Services:&lt;name&gt;</c>),
    /// by the name configured; start-up resolves the names (<see cref="ResilienceSettings.Resolve"/>).
    /// <c>GameSystem:Resilience:Default</c> is in <see cref="Client"/>.
    /// </summary>
    public System.Collections.Immutable.ImmutableDictionary<string, MeshResilienceOptions> ServiceResilience { get; init; } =
        System.Collections.Immutable.ImmutableDictionary<string, MeshResilienceOptions>.Empty;

    /// <summary>How the host's health service checks (<c>GameSystem:Health</c>).</summary>
    public GameSystem.Mesh.MeshHealthOptions Health { get; init; } = GameSystem.Mesh.MeshHealthOptions.Default;

    /// <summary>The management HTTP listener: health probes, metrics (<c>GameSystem:Host:Http</c>, HostHttp.cs).</summary>
    public HostHttpSettings Http { get; init; } = HostHttpSettings.Default;

    public const string Section = MeshSettings.Section;

    public static HostSettings Read(IConfiguration configuration)
    {
        var root = configuration.GetSection(Section);
        var shared = MeshSettings.Read(configuration);
        var mesh = root.GetSection("Mesh");
        var concurrency = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var service in mesh.GetSection("Services").GetChildren())
        {
            concurrency[service.Key] = service.ReadInt("MaxConcurrentCalls", shared.Server.MaxConcurrentCalls, 1);
        }

        var redis = root.GetSection("Store")["Redis"];
        if (!string.IsNullOrWhiteSpace(redis))
        {
            try
            {
                StackExchange.Redis.ConfigurationOptions.Parse(redis);
            }
            catch (ArgumentException ex)
            {
                throw new SettingException("GameSystem:Store:Redis", $"is not a StackExchange.Redis connection string ({ex.Message}), e.g. 127.0.0.1:6379.");
            }
        }

        var services = root.GetSection("Services").ReadList();
        var resilience = ResilienceSettings.Read(root.GetSection("Resilience"));
        return new HostSettings(services.IsEmpty ? ["all"] : services, shared.Nats, shared.Server, shared.Client with { Resilience = resilience.Default }, concurrency.ToImmutable(), string.IsNullOrWhiteSpace(redis) ? null : redis)
        {
            ServiceResilience = resilience.Services,
            Identity = shared.Identity,
            CapabilityTtl = root.GetSection("Capabilities").ReadDuration("Ttl", TimeSpan.FromSeconds(30)),
            Health = new GameSystem.Mesh.MeshHealthOptions
            {
                PollInterval = root.GetSection("Health").ReadDuration("PollInterval", GameSystem.Mesh.MeshHealthOptions.Default.PollInterval),
                ProbeTimeout = root.GetSection("Health").ReadDuration("ProbeTimeout", GameSystem.Mesh.MeshHealthOptions.Default.ProbeTimeout),
                FailureThreshold = root.GetSection("Health").ReadInt("FailureThreshold", GameSystem.Mesh.MeshHealthOptions.Default.FailureThreshold, 1),
            },
            Http = HostHttpSettings.Read(root.GetSection("Host:Http")),
        };
    }
}
