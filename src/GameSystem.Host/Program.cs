using GameSystem.Host;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Settings;
using GameSystem.State;
using GameSystem.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;

// appsettings.json sits beside the binary, wherever the host is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });

// Short forms of the two settings people change most: --services a,b and --nats url,url.
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--services"] = "GameSystem:Services",
    ["--nats"] = "GameSystem:Nats:Servers",
});

HostSettings settings;
ServiceCatalog catalog;
ImmutableSelection selection;
try
{
    settings = HostSettings.Read(builder.Configuration);

    // Metrics for the scrape endpoint (mapped on the host's HTTP listener with MapGameSystemMetrics),
    // traces and logs to OTLP when an endpoint is configured.
    builder.AddGameSystemTelemetry("gamesystem-host");

    // auth signs what the runtime verifies, and checks the proofs the hosts make: one
    // setting each, given to auth unless its own section overrides it.
    if (settings.Identity is { } identity)
    {
        builder.Configuration["GameSystem:Auth:ServiceSecret"] ??= identity.ServiceSecret;
        builder.Configuration["GameSystem:Auth:Issuer"] ??= identity.Issuer;
        builder.Configuration["GameSystem:Auth:Audience"] ??= identity.Audience;
    }

    catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);
    selection = new ImmutableSelection(catalog.Select(settings.Services));

    // Each selected service's IOptions<T> comes from GameSystem:<T without Options> (ServiceOptions).
    ServiceOptions.Add(builder.Services, builder.Configuration, selection.Services.Select(s => s.Implementation).OfType<Type>());
    foreach (var info in catalog.Contracts)
    {
        // Every generated client is injectable, so services call each other through them.
        builder.Services.AddSingleton(info.ClientType, provider => info.CreateClient(provider.GetRequiredService<IMeshCallInvoker>()));
    }
}
catch (SettingException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(settings.Server);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddGameSystemStateStore(settings.StoreRedis);
builder.Services.AddSingleton(selection);
builder.Services.AddSingleton<INatsConnection>(_ => new NatsConnection(settings.Nats.ToNatsOpts()));
builder.Services.AddSingleton<IMeshCallInvoker>(provider => new NatsMeshClient(provider.GetRequiredService<INatsConnection>(), settings.Client));
if (settings.Identity is { } verified)
{
    builder.Services.AddSingleton(provider => new HostIdentity(
        verified,
        provider.GetRequiredService<IMeshCallInvoker>(),
        catalog.Contracts,
        provider.GetRequiredService<ImmutableSelection>().Services.Select(s => s.Info).Append(Grpc.Health.V1.HealthDispatcher.Info),
        provider.GetRequiredService<TimeProvider>(),
        provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
}

builder.Services.AddHostedService<MeshHostedService>();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Server.ShutdownTimeout + TimeSpan.FromSeconds(5));

using var host = builder.Build();
try
{
    await host.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (HostStartupException ex)
{
    Console.Error.WriteLine($"GameSystem host could not start: {ex.Message}");
    return 3;
}
