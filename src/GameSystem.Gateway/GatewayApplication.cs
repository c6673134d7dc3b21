using System.Diagnostics;
using GameSystem.Auth.V1;
using GameSystem.Gateway.Cutover;
using GameSystem.Gateway.OpenApi;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Router.V1;
using GameSystem.Settings;
using GameSystem.Telemetry;
using NATS.Client.Core;
using Scalar.AspNetCore;

namespace GameSystem.Gateway;

/// <summary>Builds the gateway: Kestrel with its limits, the route table of every contract, the mesh client and the token validator.</summary>
public static class GatewayApplication
{
    /// <summary>The contracts the gateway serves: the generated catalog, never a list kept here.</summary>
    public static IReadOnlyList<MeshServiceInfo> Contracts { get; } =
        MeshCatalog.FromAssemblies([typeof(GameSystem.Common.V1.TypedValue).Assembly]);

    /// <summary>Where the OpenAPI 3.1 document of every route is served.</summary>
    public const string OpenApiPath = "/openapi.json";

    /// <summary>Where the browsable API reference (Scalar) is served.</summary>
    public const string DocsPath = "/docs";

    /// <summary>Builds the application from <paramref name="args"/> (and appsettings, environment) without starting it.</summary>
    /// <exception cref="SettingException">A setting is malformed.</exception>
    /// <exception cref="InvalidOperationException">A contract's HTTP rule does not fit its messages, or two claim one route.</exception>
    public static WebApplication Build(string[] args, IEnumerable<MeshServiceInfo>? contracts = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var shared = MeshSettings.Read(builder.Configuration);
        var options = GatewayOptions.Read(builder.Configuration);
        builder.AddGameSystemTelemetry("gamesystem-gateway");
        var services = contracts?.ToList() ?? [.. Contracts];
        var routes = GatewayRouteTable.Build(services);

        // The host's GameSystem:Resilience keys, for the gateway's own calls (retries, hedging, breakers per service).
        var resilience = ResilienceSettings.Read(builder.Configuration.GetSection(MeshSettings.Section).GetSection("Resilience"));
        shared = shared with
        {
            Client = shared.Client with { Resilience = resilience.Default, ServiceResilience = ResilienceSettings.Resolve(resilience.Services, services) },
        };

        // Built once: the document is as immutable as the route table it describes.
        var openApi = OpenApiDocumentBuilder.ToJson(OpenApiDocumentBuilder.Build(routes));

        // The public URLs (--urls or ASPNETCORE_URLS over GameSystem:Gateway:Urls), and the scrape's own, if any.
        var publicUrls = builder.Configuration["urls"] ?? builder.Configuration["ASPNETCORE_URLS"] ?? options.Urls;
        builder.WebHost.UseUrls([.. publicUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), .. options.MetricsUrls.Select(u => u.GetLeftPart(UriPartial.Authority))]);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersBytes;
        });

        builder.Services.AddSingleton(options);
        builder.Services.AddGatewayProtection(options);
        builder.Services.AddSingleton(shared);
        builder.Services.AddSingleton(routes);
        builder.Services.AddSingleton(new ProtoJson(services));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<INatsConnection>(_ => new NatsConnection(shared.Nats.ToNatsOpts()));
        builder.Services.AddSingleton<IMeshCallInvoker>(provider => new NatsMeshClient(provider.GetRequiredService<INatsConnection>(), shared.Client));
        if (shared.Identity is { } identity)
        {
            builder.Services.AddSingleton(provider => new SigningKeyProvider(
                new AuthServiceClient(provider.GetRequiredService<IMeshCallInvoker>()),
                identity,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILogger<SigningKeyProvider>>()));
            builder.Services.AddSingleton(provider => new AccessTokenValidator(provider.GetRequiredService<SigningKeyProvider>(), identity, provider.GetRequiredService<TimeProvider>()));
        }

        // The cutover: router's table, followed as the gateway's own service account, and YARP for
        // the routes it sends to the legacy HTTP backend.
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<LegacyForwarder>();
        if (shared.Identity is { ServiceSecret: not null } own)
        {
            builder.Services.AddSingleton(provider => new ServiceTokenSource(
                new AuthServiceClient(provider.GetRequiredService<IMeshCallInvoker>()),
                "gateway",
                "gateway-" + Guid.NewGuid().ToString("N")[..12],
                own,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILogger<ServiceTokenSource>>()));
            builder.Services.AddSingleton(provider => new RouterServiceClient(new ServiceIdentityInvoker(provider.GetRequiredService<IMeshCallInvoker>(), provider.GetRequiredService<ServiceTokenSource>())));
        }
        else
        {
            builder.Services.AddSingleton(provider => new RouterServiceClient(provider.GetRequiredService<IMeshCallInvoker>()));
        }

        builder.Services.AddSingleton<RouteDirectory>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<RouteDirectory>());
        builder.Services.AddSingleton(provider => new GatewayEndpoint(
            routes,
            provider.GetRequiredService<ProtoJson>(),
            provider.GetRequiredService<IMeshCallInvoker>(),
            provider.GetService<AccessTokenValidator>(),
            options,
            provider.GetRequiredService<ILogger<GatewayEndpoint>>(),
            provider.GetRequiredService<GatewayMetrics>(),
            provider.GetRequiredService<RouteDirectory>(),
            provider.GetRequiredService<LegacyForwarder>()));

        var app = builder.Build();
        if (options.MetricsUrls.Count > 0)
        {
            // By the port the connection came in on, never the Host header a caller writes: the
            // metrics ports serve the scrape alone, the public ones never serve it.
            var metricsPorts = options.MetricsUrls.Select(u => u.Port).ToHashSet();
            app.Use((context, next) =>
            {
                var onMetricsPort = metricsPorts.Contains(context.Connection.LocalPort);
                if (onMetricsPort == (context.Request.Path == GameSystemTelemetry.MetricsPath))
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }

        app.UseGatewayProtection(options);
        if (options.WebRoot is { } webRoot)
        {
            // ASP.NET Core's static files (ETags, ranges, content types); what is not a file goes on.
            var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(webRoot);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                OnPrepareResponse = file => file.Context.Response.Headers.XContentTypeOptions = "nosniff",
            });
        }

        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        var endpoint = app.Services.GetRequiredService<GatewayEndpoint>();

        // The document and its reference page are endpoints; every other request falls through
        // to the contracts' routes (the catch-all), which answer 404 and 405 themselves.
        app.UseRouting();
        app.MapGet(OpenApiPath, () => Results.Text(openApi, "application/json; charset=utf-8"));
        app.MapGameSystemMetrics();
        app.MapScalarApiReference(DocsPath, scalar => scalar
            .WithTitle("GameSystem API")
            .WithOpenApiRoutePattern(OpenApiPath)
            .DisableDefaultFonts()
            .DisableTelemetry());
        app.UseEndpoints(_ => { });
        app.Run(endpoint.HandleAsync);
        ContinueCallersTraces();
        return app;
    }

    /// <summary>The public addresses Kestrel listens on, once started (not those of <see cref="GatewayOptions.MetricsUrls"/>).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metricsPorts = MetricsPorts(app);
        return [.. AllAddresses(app).Where(a => !metricsPorts.Contains(new Uri(a).Port))];
    }

    /// <summary>Where the gateway serves <c>/metrics</c>, once started: its metrics addresses, or its public ones.</summary>
    public static IReadOnlyList<string> MetricsAddresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metricsPorts = MetricsPorts(app);
        return metricsPorts.Count == 0 ? Addresses(app) : [.. AllAddresses(app).Where(a => metricsPorts.Contains(new Uri(a).Port))];
    }

    // Any WebApplication: one that is no gateway (a test's legacy backend) has no metrics ports.
    private static HashSet<int> MetricsPorts(WebApplication app) =>
        [.. (app.Services.GetService<GatewayOptions>()?.MetricsUrls ?? []).Select(u => u.Port)];

    private static IEnumerable<string> AllAddresses(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];

    // ASP.NET Core starts a request's Activity (from the caller's traceparent) only when someone
    // listens; the mesh client carries Activity.Current on, so the caller's trace continues.
    private static void ContinueCallersTraces()
    {
        if (s_listener is not null)
        {
            return;
        }

        s_listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(s_listener);
    }

    private static ActivityListener? s_listener;
}
