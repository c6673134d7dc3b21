using System.Net;
using System.Text.Json;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Gateway.Tests;

/// <summary>Rate limiting per caller, CORS, header limits and the web root, through Kestrel.</summary>
public sealed class GatewayProtectionTests(NatsServerFixture nats)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task ACallerOverItsBudget_Gets429WithRetryAfter_WhileAnotherCallerGoesOn()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats, "--GameSystem:Gateway:RateLimit:PermitsPerSecond=1", "--GameSystem:Gateway:RateLimit:Burst=4");
        var (accountId, token) = await gateway.PlayerAsync("limited-player", Ct); // register + login: 2 of the address's 4

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await gateway.GetAsync($"/v1/accounts/{accountId}", Ct, token);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
                Assert.Equal((int)StatusCode.ResourceExhausted, error.GetProperty("code").GetInt32());
            }
        }

        // The account's own bucket (its token verified on the first call) allows the burst, then refuses.
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) <= 6, string.Join(",", statuses));
    }

    [Fact(Timeout = 60_000)]
    public async Task Cors_AllowsTheConfiguredOrigin_AndNoOther()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats, "--GameSystem:Gateway:Cors:AllowedOrigins=https://play.example.com");

        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/v1/auth:login");
        allowed.Headers.Add("Origin", "https://play.example.com");
        allowed.Headers.Add("Access-Control-Request-Method", "POST");
        allowed.Headers.Add("Access-Control-Request-Headers", "content-type,authorization");
        using var preflight = await gateway.Http.SendAsync(allowed, Ct);

        using var other = new HttpRequestMessage(HttpMethod.Options, "/v1/auth:login");
        other.Headers.Add("Origin", "https://evil.example.net");
        other.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await gateway.Http.SendAsync(other, Ct);

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("https://play.example.com", preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public void AnOriginThatIsNotOne_StopsStartUpNamingTheSetting()
    {
        var error = Assert.Throws<GameSystem.Settings.SettingException>(() => GatewayApplication.Build(["--GameSystem:Identity:Mode=Off", "--GameSystem:Gateway:Cors:AllowedOrigins=play.example.com/x"]));

        Assert.Contains("GameSystem:Gateway:Cors:AllowedOrigins", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task HeadersOverTheLimit_Are431()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats, "--GameSystem:Gateway:MaxRequestHeadersBytes=4096");

        using var small = await gateway.GetAsync("/v1/clocks", Ct, configure: r => r.Headers.Add("X-Filler", new string('a', 1000)));
        using var large = await gateway.GetAsync("/v1/clocks", Ct, configure: r => r.Headers.Add("X-Filler", new string('a', 8000)));

        Assert.Equal(HttpStatusCode.Unauthorized, small.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, large.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task TheWebRoot_ServesItsFiles_AndLeavesEveryOtherPathToTheRoutes()
    {
        var webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        await using var gateway = await GatewayHarness.StartAsync(nats, $"--GameSystem:Gateway:WebRoot={webRoot}");

        using var index = await gateway.GetAsync("/", Ct);
        using var file = await gateway.GetAsync("/index.html", Ct);
        using var missing = await gateway.GetAsync("/nothing.js", Ct);
        using var route = await gateway.GetAsync("/v1/clocks", Ct);

        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(webRoot, "index.html"), Ct), await file.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal((int)StatusCode.NotFound, JsonDocument.Parse(await missing.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("code").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, route.StatusCode);
    }

    [Fact]
    public void AWebRootThatIsNoFolder_StopsStartUpNamingTheSetting()
    {
        var error = Assert.Throws<GameSystem.Settings.SettingException>(() => GatewayApplication.Build(["--GameSystem:Identity:Mode=Off", "--GameSystem:Gateway:WebRoot=/no/such/folder"]));

        Assert.Contains("GameSystem:Gateway:WebRoot", error.Message, StringComparison.Ordinal);
        Assert.Contains("/no/such/folder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheResilienceSettings_ApplyToTheGatewaysCalls_AsTheyDoToTheHosts()
    {
        await using var app = GatewayApplication.Build(["--GameSystem:Identity:Mode=Off", "--GameSystem:Resilience:Services:time-manager:Retry:MaxRetryAttempts=1", "--GameSystem:Resilience:Default:CircuitBreaker:Enabled=false"]);

        var client = Assert.IsType<GameSystem.Mesh.Nats.NatsMeshClient>(Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<GameSystem.Mesh.IMeshCallInvoker>(app.Services));
        Assert.False(client.Options.Resilience.CircuitBreaker.Enabled);
        Assert.Equal(1, client.Options.ServiceResilience["gamesystem.time_manager.v1.TimeManagerService"].Retry.MaxRetryAttempts);
    }

    [Theory]
    [InlineData("--GameSystem:Resilience:Services:time-mangler:Retry:MaxRetryAttempts=1", "GameSystem:Resilience:Services:time-mangler")]
    [InlineData("--GameSystem:Resilience:Default:Retry:Attempts=1", "GameSystem:Resilience:Default:Retry:Attempts")]
    public void AResilienceSettingThatIsNotOne_StopsStartUpNamingIt(string argument, string named)
    {
        var error = Assert.Throws<GameSystem.Settings.SettingException>(() => GatewayApplication.Build(["--GameSystem:Identity:Mode=Off", argument]));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task WithMetricsUrls_TheScrapeIsServedThereAlone_AndNotOnThePublicPort()
    {
        var port = ServerProcess.FreePort();
        await using var gateway = await GatewayHarness.StartAsync(nats, $"--GameSystem:Gateway:Metrics:Urls=http://127.0.0.1:{port}");
        using var metricsPort = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var scrape = await metricsPort.GetAsync(new Uri("/metrics", UriKind.Relative), Ct);
        using var apiOnMetricsPort = await metricsPort.GetAsync(new Uri("/openapi.json", UriKind.Relative), Ct);
        using var publicScrape = await gateway.GetAsync("/metrics", Ct);
        using var publicSpoofed = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Host = $"127.0.0.1:{port}" } };
        using var spoofed = await gateway.Http.SendAsync(publicSpoofed, Ct);
        using var api = await gateway.GetAsync("/openapi.json", Ct);

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("# TYPE ", await scrape.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, apiOnMetricsPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, publicScrape.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, spoofed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1")]
    [InlineData("https://127.0.0.1:9464")]
    [InlineData("http://127.0.0.1:9464/metrics")]
    public void MetricsUrlsWithoutAPortOfTheirOwn_StopStartUpNamingTheSetting(string url)
    {
        var error = Assert.Throws<GameSystem.Settings.SettingException>(() => GatewayApplication.Build(["--GameSystem:Identity:Mode=Off", $"--GameSystem:Gateway:Metrics:Urls={url}"]));

        Assert.Contains("GameSystem:Gateway:Metrics:Urls", error.Message, StringComparison.Ordinal);
    }
}
