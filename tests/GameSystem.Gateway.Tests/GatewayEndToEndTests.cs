using System.Net;
using System.Text.Json;
using Bogus;
using GameSystem.Services.Testing;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Gateway.Tests;

/// <summary>HTTP/JSON through Kestrel on loopback, the gateway, a real nats-server and the real auth and time-manager.</summary>
public sealed class GatewayEndToEndTests(NatsServerFixture nats)
{
    private readonly Faker _faker = new() { Random = new Randomizer(20261202) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Username() => GatewayHarness.Username(_faker);

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone();

    [Fact(Timeout = 60_000)]
    public async Task PublicRegisterAndLogin_ThenAnAuthenticatedGet_SpeakProto3Json()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var username = Username();
        var (accountId, token) = await gateway.PlayerAsync(username, Ct);

        using var response = await gateway.GetAsync($"/v1/accounts/{accountId}", Ct, token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var account = (await JsonAsync(response)).GetProperty("account");
        Assert.Equal(accountId, account.GetProperty("accountId").GetString());
        Assert.Equal(username, account.GetProperty("username").GetString());
        Assert.Equal(JsonValueKind.String, account.GetProperty("version").ValueKind); // int64 as a string
        Assert.Equal("ACCOUNT_STATE_ACTIVE", account.GetProperty("state").GetString()); // enums by name
        Assert.Equal(JsonValueKind.Array, account.GetProperty("roles").ValueKind);
    }

    [Fact(Timeout = 60_000)]
    public async Task NoToken_IsAnswered401WithABearerChallenge_AndNeverReachesTheService()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);

        using var response = await gateway.GetAsync("/v1/accounts/acc-1", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer realm=\"gamesystem\"", response.Headers.WwwAuthenticate.ToString());
        var error = await JsonAsync(response);
        Assert.Equal((int)StatusCode.Unauthenticated, error.GetProperty("code").GetInt32());
        Assert.Contains("GetAccount needs an access token", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task ATamperedToken_IsAnswered401InvalidToken()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (accountId, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync($"/v1/accounts/{accountId}", Ct, token[..^4] + "AAAA");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task AMissingScope_IsAnswered403NamingIt()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        // ListClocks is open to players; SetClockTime is not routed; a player reading another
        // account is refused by auth itself: 403 from the service, mapped.
        using var other = await gateway.GetAsync("/v1/accounts/acc-someone-else", Ct, token);

        Assert.True(other.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"got {other.StatusCode}");
        var error = await JsonAsync(other);
        Assert.Equal(other.StatusCode == HttpStatusCode.Forbidden ? (int)StatusCode.PermissionDenied : (int)StatusCode.NotFound, error.GetProperty("code").GetInt32());
    }

    [Theory(Timeout = 60_000)]
    [InlineData("""{"login":"x","password":"y","colour":"red"}""", "colour")]
    [InlineData("""{"login":"x","password":""" , "not a valid")]
    [InlineData("""{"password":"y"}""", "'login' is required")]
    [InlineData("""{"login":7,"password":"y"}""", "not a valid")]
    public async Task AMalformedBody_IsAnswered400SayingWhat(string body, string mention)
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);

        using var response = await gateway.PostJsonAsync("/v1/auth:login", body, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await JsonAsync(response);
        Assert.Equal((int)StatusCode.InvalidArgument, error.GetProperty("code").GetInt32());
        Assert.Contains(mention, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", error.GetProperty("details")[0].GetProperty("@type").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task ABodyThatIsNotJson_IsRefusedByContentType()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth:login") { Content = new StringContent("login=x&password=y", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded") };

        using var response = await gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Content-Type: application/json", (await JsonAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task AnOversizedBody_IsAnswered413()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats, "--GameSystem:Gateway:MaxRequestBodyBytes=1024");

        using var response = await gateway.PostJsonAsync("/v1/auth:login", $$"""{"login":"x","password":"{{new string('p', 4096)}}"}""", Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("1024 bytes", (await JsonAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task UnknownRoutes_Are404_AndAKnownPathWithTheWrongMethodIs405WithAllow()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);

        using var missing = await gateway.GetAsync("/v1/nothing/here", Ct);
        using var wrongMethod = await gateway.GetAsync("/v1/auth:login", Ct);

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal((int)StatusCode.NotFound, (await JsonAsync(missing)).GetProperty("code").GetInt32());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal(["POST"], wrongMethod.Content.Headers.Allow);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("/v1/clocks?page_size=ten", "page_size")]
    [InlineData("/v1/clocks?pageSize=ten", "page_size")]
    [InlineData("/v1/clocks?no_such_field=1", "no_such_field")]
    [InlineData("/v1/clocks?page_size=1&page_size=2", "2 times")]
    public async Task BadQueryParameters_Are400NamingTheParameter(string path, string mention)
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync(path, Ct, token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(mention, (await JsonAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryParameters_BindByProtoOrJsonName()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using var snake = await gateway.GetAsync("/v1/clocks?page_size=5", Ct, token);
        using var camel = await gateway.GetAsync("/v1/clocks?pageSize=5", Ct, token);

        Assert.Equal(HttpStatusCode.OK, snake.StatusCode);
        Assert.Equal(HttpStatusCode.OK, camel.StatusCode);
        Assert.Equal(JsonValueKind.Array, (await JsonAsync(snake)).GetProperty("clocks").ValueKind);
    }

    [Fact(Timeout = 60_000)]
    public async Task AServiceError_MapsToItsHttpStatus_WithTheStatusBody()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync("/v1/worlds/no-such-world/clock", Ct, token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await JsonAsync(response);
        Assert.Equal((int)StatusCode.NotFound, error.GetProperty("code").GetInt32());
        Assert.Contains("no-such-world", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("Grpc-Timeout", "soon")]
    [InlineData("Grpc-Timeout", "0S")]
    [InlineData("X-Request-Timeout", "-1")]
    public async Task AMalformedTimeout_Is400(string header, string value)
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (accountId, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync($"/v1/accounts/{accountId}", Ct, token, r => r.Headers.TryAddWithoutValidation(header, value));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(header, (await JsonAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task AValidTimeoutHeader_IsHonoured()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (accountId, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync($"/v1/accounts/{accountId}", Ct, token, r => r.Headers.TryAddWithoutValidation("Grpc-Timeout", "5S"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("text/event-stream")]
    [InlineData("application/x-ndjson")]
    public async Task AServerStream_ReachesTheClient_AsEventsOrLines(string accept)
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, root) = await gateway.PlayerAsync(TestIdentity.RootUsername, Ct);
        var world = "world-" + _faker.Random.AlphaNumeric(8).ToLowerInvariant();
        await gateway.CreateClockAsync(root, world, 60, Ct);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/worlds/{world}/clock:watch");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", root);
        request.Headers.Accept.ParseAdd(accept);
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(accept, response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        string? json = null;
        for (var i = 0; i < 10 && json is null; i++)
        {
            var line = await reader.ReadLineAsync(Ct);
            json = accept == "text/event-stream" ? (line?.StartsWith("data: ", StringComparison.Ordinal) == true ? line["data: ".Length..] : null) : line;
        }

        Assert.NotNull(json);
        var first = JsonDocument.Parse(json).RootElement;
        Assert.Equal(world, first.GetProperty("clockChanged").GetProperty("worldId").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task AStreamOfAMissingWorld_FailsWithAnHttpStatus_BeforeAnyEvent()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync("/v1/worlds/nowhere/clock:watch", Ct, token, r => r.Headers.Accept.ParseAdd("text/event-stream"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task AServiceNobodyServes_Is503_WithAnErrorIdAndNoInternalDetail()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.GetAsync("/v1/regions/r-1/weather", Ct, token, r => r.Headers.TryAddWithoutValidation("Grpc-Timeout", "2S"));

        Assert.True(response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout, $"got {response.StatusCode}");
        var message = (await JsonAsync(response)).GetProperty("message").GetString()!;
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            Assert.Matches("error id [0-9a-f]{12}", message);
        }

        Assert.DoesNotContain("gamesystem.weather_manager", message, StringComparison.Ordinal);
        Assert.DoesNotContain("NATS", message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("Grpc-Metadata-Authorization", "Bearer x")]
    [InlineData("Grpc-Metadata-Grpc-Timeout", "1S")]
    [InlineData("Grpc-Metadata-Trace-Bin", "not base64!")]
    public async Task MetadataHeadersThatWouldSetReservedKeysOrAreMalformed_Are400(string header, string value)
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);

        using var response = await gateway.PostJsonAsync("/v1/auth:login", """{"login":"x","password":"y"}""", Ct, configure: r => r.Headers.TryAddWithoutValidation(header, value));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(header, (await JsonAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task TheOpenApiDocument_AndTheReferencePage_AreServedThroughKestrel()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);

        using var response = await gateway.GetAsync("/openapi.json", Ct);
        using var docs = await gateway.GetAsync("/docs/", Ct);
        using var script = await gateway.GetAsync("/docs/scalar.js", Ct);
        using var post = await gateway.PostJsonAsync("/openapi.json", "{}", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var document = await JsonAsync(response);
        Assert.StartsWith("3.1.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var login = document.GetProperty("paths").GetProperty("/v1/auth:login").GetProperty("post");
        Assert.Equal("AuthService_Login", login.GetProperty("operationId").GetString());
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("openapi.json", await docs.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode); // served from the package, not a CDN
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);

        // The contracts' routes still answer through the catch-all.
        using var missing = await gateway.GetAsync("/v1/nothing/here", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal((int)StatusCode.NotFound, (await JsonAsync(missing)).GetProperty("code").GetInt32());
    }

    [Fact(Timeout = 60_000)]
    public async Task AServerStream_ReachesAWebSocket_AndClosingItEndsTheCall()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, root) = await gateway.PlayerAsync(TestIdentity.RootUsername, Ct);
        var world = "world-" + _faker.Random.AlphaNumeric(8).ToLowerInvariant();
        await gateway.CreateClockAsync(root, world, 60, Ct);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + root);
        var uri = new UriBuilder(gateway.Http.BaseAddress!) { Scheme = "ws", Path = $"/v1/worlds/{world}/clock:watch", Query = "tick_interval=0.2s" }.Uri;

        await socket.ConnectAsync(uri, Ct);
        var buffer = new byte[64 * 1024];
        var first = await socket.ReceiveAsync(buffer, Ct);
        var second = await socket.ReceiveAsync(buffer.AsMemory(first.Count), Ct);
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", Ct);

        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Text, first.MessageType);
        var snapshot = JsonDocument.Parse(buffer.AsMemory(0, first.Count)).RootElement;
        Assert.Equal(world, snapshot.GetProperty("clockChanged").GetProperty("worldId").GetString());
        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Text, second.MessageType);
        Assert.Equal(System.Net.WebSockets.WebSocketState.Closed, socket.State);
    }

    [Fact(Timeout = 60_000)]
    public async Task AWebSocketToAMissingWorld_IsRefusedWithItsHttpStatus()
    {
        await using var gateway = await GatewayHarness.StartAsync(nats);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        socket.Options.CollectHttpResponseDetails = true;
        var uri = new UriBuilder(gateway.Http.BaseAddress!) { Scheme = "ws", Path = "/v1/worlds/nowhere/clock:watch" }.Uri;

        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(uri, Ct));

        Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
    }
}
