using System.Globalization;
using Bogus;
using GameSystem.Services.Testing;
using GameSystem.Testing;
using PuppeteerSharp;

namespace GameSystem.Gateway.Tests;

/// <summary>
/// A real browser (Debian's headless Chromium, driven with PuppeteerSharp) opens a page the
/// gateway serves from its web root, logs in through the API and follows a world's clock over
/// Server-Sent Events and a WebSocket; the test reads what the page shows.
/// </summary>
public sealed class GatewayBrowserTests(NatsServerFixture nats)
{
    private readonly Faker _faker = new() { Random = new Randomizer(20261204) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task APageServedByTheGateway_LogsIn_AndFollowsAClockOverEventsAndAWebSocket()
    {
        var webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        await using var gateway = await GatewayHarness.StartAsync(nats, $"--GameSystem:Gateway:WebRoot={webRoot}");
        var (_, root) = await gateway.PlayerAsync(TestIdentity.RootUsername, Ct);
        var username = GatewayHarness.Username(_faker);
        await gateway.PlayerAsync(username, Ct);
        var world = "world-" + _faker.Random.AlphaNumeric(8).ToLowerInvariant();
        await gateway.CreateClockAsync(root, world, 3600, Ct);

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Chromium(),
            Headless = true,
            // Root in CI: Chromium's sandbox needs a user namespace; /dev/shm is small in containers.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
            Timeout = 60_000,
        });
        await using var page = await browser.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, e) => { if (e.Message.Type == ConsoleType.Error) { lock (problems) { problems.Add(e.Message.Text); } } };
        page.PageError += (_, e) => { lock (problems) { problems.Add(e.Message); } };

        var loaded = await page.GoToAsync(gateway.Http.BaseAddress!.ToString());
        Assert.True(loaded.Ok, $"the page answered {loaded.Status}");
        Assert.Equal("nosniff", loaded.Headers["x-content-type-options"]);
        await page.TypeAsync("#username", username);
        await page.TypeAsync("#password", "correct horse battery");
        await page.TypeAsync("#world", world);
        await page.ClickAsync("button[type=submit]");

        await page.WaitForFunctionAsync(
            "() => ['#events', '#frames'].every(list => [...document.querySelectorAll(list + ' li')].filter(li => li.textContent.startsWith('tick ')).length >= 3)",
            new WaitForFunctionOptions { Timeout = 60_000, PollingInterval = 100 });

        Assert.Equal($"Logged in as {username}.", await page.EvaluateExpressionAsync<string>("document.getElementById('status').textContent"));
        Assert.Equal(GatewayEndpoint.WebSocketProtocol, await page.EvaluateExpressionAsync<string>("document.body.dataset.websocketProtocol"));
        foreach (var list in (string[])["#events", "#frames"])
        {
            var shown = await page.EvaluateExpressionAsync<string[]>($"[...document.querySelectorAll('{list} li')].map(li => li.textContent)");
            Assert.Equal($"changed {world} CLOCK_CHANGE_KIND_SNAPSHOT", shown[0]);

            // Ticks of this world, game time moving forward (an hour of game time per real second);
            // between them the day's phases change, which the page shows as other messages.
            Assert.All(shown.Skip(1), line => Assert.True(line.StartsWith($"tick {world} ", StringComparison.Ordinal) || line.StartsWith("other ", StringComparison.Ordinal), line));
            var seconds = shown.Where(line => line.StartsWith("tick ", StringComparison.Ordinal))
                .Select(line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))
                .ToList();
            Assert.True(seconds.Count >= 3, $"{list}: {string.Join(" | ", shown)}");
            Assert.True(seconds.Zip(seconds.Skip(1)).All(p => p.Second > p.First), $"{list}: game time did not move forward: {string.Join(", ", seconds)}");
        }

        lock (problems)
        {
            Assert.Empty(problems);
        }
    }

    // Debian's chromium package, which eng/install-prereqs.sh --with-chromium installs; never a downloaded browser.
    private static string Chromium()
    {
        foreach (var path in (string[])[Environment.GetEnvironmentVariable("GAMESYSTEM_CHROMIUM") ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser"])
        {
            if (path.Length > 0 && File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException("Chromium is not installed: run eng/install-prereqs.sh --with-chromium (Debian's chromium package), or set GAMESYSTEM_CHROMIUM to its path.");
    }
}
