using GameSystem.Host;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Settings;
using GameSystem.State;
using Microsoft.AspNetCore.Builder;
using GameSystem.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;

// `permissions`: the nats-server authorization of a deployment, from what the services beside the host declare.
if (args is [PermissionsCommand.Name, .. var options])
{
    return PermissionsCommand.Run(options, AppContext.BaseDirectory, Console.Out, Console.Error);
}

// appsettings.json sits beside the binary, wherever the host is started from. A web application
// for the management HTTP listener (GameSystem:Host:Http, HostHttp.cs); the slim builder, as the
// gateway's, since the listener needs neither HTTPS nor IIS.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

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

    // GameSystem:Resilience:Services:<name> by the proto full names the client keys its pipelines by.
    settings = settings with { Client = settings.Client with { ServiceResilience = ResilienceSettings.Resolve(settings.ServiceResilience, catalog.Contracts) } };

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
builder.Services.AddSingleton(catalog);
builder.Services.AddSingleton<INatsConnection>(_ => new NatsConnection(settings.Nats.ToNatsOpts()));
builder.Services.AddSingleton(provider => new NatsMeshClient(provider.GetRequiredService<INatsConnection>(), settings.Client, provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
builder.Services.AddSingleton<IMeshCallInvoker>(provider => provider.GetRequiredService<NatsMeshClient>());
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

// One instance, so the HTTP health checks read the health it runs.
builder.Services.AddSingleton<MeshHostedService>();
builder.Services.AddHostedService(provider => provider.GetRequiredService<MeshHostedService>());
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Server.ShutdownTimeout + TimeSpan.FromSeconds(5));
builder.AddHostHttp(settings.Http, selection);

using var app = builder.Build();

// ---- The management HTTP listener's endpoints (GameSystem:Host:Http; absent when it is off).
app.MapHostHealth();
app.MapGameSystemMetrics();
// ----

try
{
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (HostStartupException ex)
{
    Console.Error.WriteLine($"GameSystem host could not start: {ex.Message}");
    return 3;
}
catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
{
    // Stopped (SIGTERM, Ctrl+C) while the listener was still binding: nothing was served yet.
    return 0;
}
catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException or System.Net.Sockets.SocketException)
{
    // Kestrel could not bind, e.g. another process has the port.
    Console.Error.WriteLine($"GameSystem host could not start: {ex.Message} Set GameSystem:Host:Http:Urls to a free address, or GameSystem:Host:Http:Enabled=false to serve no HTTP.");
    return 3;
}
