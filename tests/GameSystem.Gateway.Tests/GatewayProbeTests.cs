using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Bogus;
using GameSystem.Mesh.Nats.Tests;
using GameSystem.Services.Testing;
using GameSystem.Testing;

namespace GameSystem.Gateway.Tests;

/// <summary>
/// The gateway in front of the runtime tests' probe service, whose handler records what it
/// produced and when it stopped: what a stream's client does reaches the service, and metadata
/// makes the round trip.
/// </summary>
public sealed class GatewayProbeTests(NatsServerFixture nats, ITestOutputHelper output)
{
    private readonly Faker _faker = new() { Random = new Randomizer(20261203) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Username() => GatewayHarness.Username(_faker);

    // One CountResponse as Google.Protobuf's formatter writes it.
    private static string Line(int n) => $"{{ \"n\": {n} }}";

    private static HttpRequestMessage Count(string query, string token, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/probe/count?" + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd(accept);
        return request;
    }

    [Theory(Timeout = 60_000)]
    [InlineData("text/event-stream")]
    [InlineData("application/x-ndjson")]
    public async Task AClientThatLeavesAStream_CancelsTheCallOnTheService(string accept)
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using (var request = Count("count=1000&delay_ms=50", token, accept))
        using (var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
            for (var seen = 0; seen < 3;)
            {
                var line = await reader.ReadLineAsync(Ct) ?? throw new InvalidOperationException("the stream ended early");
                seen += line.StartsWith('{') || line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        // Leaving closes the connection; the gateway cancels the mesh call and the handler sees it.
        Assert.Equal("cancelled", await probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        await probe.CountStopped.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.InRange(Volatile.Read(ref probe.Produced), 3, 100);
    }

    [Fact(Timeout = 60_000)]
    public async Task AClosedWebSocket_CancelsTheCallOnTheService()
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        var uri = new UriBuilder(gateway.Http.BaseAddress!) { Scheme = "ws", Path = "/v1/probe/count", Query = "count=1000&delay_ms=50" }.Uri;

        await socket.ConnectAsync(uri, Ct);
        var buffer = new byte[1024];
        var first = await socket.ReceiveAsync(buffer, Ct);
        Assert.Equal(Line(1), Encoding.UTF8.GetString(buffer, 0, first.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Ct);

        Assert.Equal("cancelled", await probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.InRange(Volatile.Read(ref probe.Produced), 1, 100);
    }

    [Fact(Timeout = 120_000)]
    public async Task ASlowReader_HoldsTheServiceBack_InsteadOfBeingBufferedFor()
    {
        const int total = 2_000_000;
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        // A reader with a small socket receive buffer, as a slow browser on a thin link looks to
        // the gateway: what it has not read stays in the gateway's buffers or the service's.
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024, NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var slow = new HttpClient(handler) { BaseAddress = gateway.Http.BaseAddress };
        using var request = Count($"count={total}", token, "application/x-ndjson");
        using var response = await slow.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        Assert.Equal(Line(1), await reader.ReadLineAsync(Ct));

        // The reader pauses: production must come to a stop, well short of the whole stream.
        var paused = await SettledAsync(probe);
        output.WriteLine($"produced {paused} of {total} while the reader paused after one line");
        Assert.InRange(paused, 2, total / 4);

        // Reading again lets it go on, in order, past what was buffered while it paused.
        for (var n = 2; n <= paused + 10_000; n++)
        {
            Assert.Equal(Line(n), await reader.ReadLineAsync(Ct));
        }

        Assert.True(Volatile.Read(ref probe.Produced) >= paused + 10_000, "the service went on producing once the reader read again");
    }

    // Polls what the service has produced until it stays put for a second (bounded: 30 s).
    private static async Task<int> SettledAsync(RecordingProbeService probe)
    {
        var last = -1;
        for (var i = 0; i < 30; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            var now = Volatile.Read(ref probe.Produced);
            if (now == last)
            {
                return now;
            }

            last = now;
        }

        throw new InvalidOperationException($"the service kept producing ({last} messages) while nobody read");
    }

    [Fact(Timeout = 60_000)]
    public async Task MetadataHeaders_ReachTheService_AndItsResponseMetadataComesBackAsHeaders()
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);
        var region = _faker.Address.CountryCode().ToLowerInvariant();
        var blob = _faker.Random.Bytes(12);

        using var response = await gateway.PostJsonAsync("/v1/echo", """{"text":"hello","trailer":"t-1"}""", Ct, token, request =>
        {
            request.Headers.Add("Grpc-Metadata-Player-Region", region);
            request.Headers.Add("Grpc-Metadata-Blob-Bin", Convert.ToBase64String(blob));
        });

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var seen = JsonDocument.Parse(body).RootElement.GetProperty("metadata").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains($"player-region={region}", seen);
        Assert.Contains($"blob-bin={Convert.ToBase64String(blob)}", seen);
        Assert.Equal("t-1", Assert.Single(response.Headers.GetValues("Grpc-Metadata-Echo-Trailer")));
    }

    // The deadline the handler sees: from Grpc-Timeout or X-Request-Timeout, else the contract's
    // default (Echo: 5 s), never beyond MaxTimeout (60 s).
    [Theory(Timeout = 60_000)]
    [InlineData("Grpc-Timeout", "1500m", 1500)]
    [InlineData("X-Request-Timeout", "2.5", 2500)]
    [InlineData(null, null, 5000)]
    [InlineData("Grpc-Timeout", "10M", 60_000)]
    public async Task TheCallersTimeout_IsTheDeadlineTheServiceSees(string? header, string? value, int expectedMs)
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);

        using var response = await gateway.PostJsonAsync("/v1/echo", """{"text":"t"}""", Ct, token, request =>
        {
            if (header is not null)
            {
                request.Headers.TryAddWithoutValidation(header, value);
            }
        });

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var remaining = long.Parse(JsonDocument.Parse(body).RootElement.GetProperty("deadlineRemainingMs").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(remaining, expectedMs - 1000, expectedMs);
    }

    [Fact(Timeout = 60_000)]
    public async Task AW3CTraceparent_ContinuesTheCallersTrace_IntoTheService()
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();

        // The service's side records its span only when someone listens, as a host's tracing does.
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == GameSystem.Mesh.MeshTelemetry.SourceName,
            Sample = static (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        using var response = await gateway.PostJsonAsync("/v1/echo", """{"text":"t"}""", Ct, token, request =>
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01"));

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Equal(traceId, JsonDocument.Parse(body).RootElement.GetProperty("traceId").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task ACallThatOutlivesItsDeadline_Is504_AndTheServiceStops()
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);
        var started = System.Diagnostics.Stopwatch.StartNew();

        using var response = await gateway.PostJsonAsync("/v1/echo", """{"text":"t","delayMs":10000}""", Ct, token, request => request.Headers.TryAddWithoutValidation("Grpc-Timeout", "300m"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal((int)Grpc.Core.StatusCode.DeadlineExceeded, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("code").GetInt32());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"answered after {started.Elapsed}");
        Assert.Equal("deadline", await probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task AScopeTheContractDeclares_IsEnforcedByTheGateway()
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, root) = await gateway.PlayerAsync(TestIdentity.RootUsername, Ct);
        var (_, player) = await gateway.PlayerAsync(Username(), Ct);

        using var refused = await gateway.PostJsonAsync("/v1/probe:append", """{"text":"x"}""", Ct, player);
        using var allowed = await gateway.PostJsonAsync("/v1/probe:append", """{"text":"x"}""", Ct, root);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("scope=\"probe.write\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("1", JsonDocument.Parse(await allowed.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("count").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task AWebSocket_MayOfferItsTokenAsASubprotocol_AndGetsTheGatewaysOneBack()
    {
        var probe = new RecordingProbeService();
        await using var gateway = await GatewayHarness.StartAsync(nats, probe);
        var (_, token) = await gateway.PlayerAsync(Username(), Ct);
        var uri = new UriBuilder(gateway.Http.BaseAddress!) { Scheme = "ws", Path = "/v1/probe/count", Query = "count=2" }.Uri;

        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(GatewayEndpoint.WebSocketProtocol);
        socket.Options.AddSubProtocol(GatewayEndpoint.WebSocketBearerPrefix + token);
        await socket.ConnectAsync(uri, Ct);
        var buffer = new byte[1024];
        var first = await socket.ReceiveAsync(buffer, Ct);

        Assert.Equal(GatewayEndpoint.WebSocketProtocol, socket.SubProtocol);
        Assert.Equal(Line(1), Encoding.UTF8.GetString(buffer, 0, first.Count));

        // Without the gateway's own subprotocol a browser could not accept the answer: refused, saying why.
        using var alone = new ClientWebSocket();
        alone.Options.AddSubProtocol(GatewayEndpoint.WebSocketBearerPrefix + token);
        alone.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => alone.ConnectAsync(uri, Ct));
        Assert.Equal(HttpStatusCode.BadRequest, alone.HttpStatusCode);

        // A token that does not verify is refused before the upgrade, as in a header.
        using var forged = new ClientWebSocket();
        forged.Options.AddSubProtocol(GatewayEndpoint.WebSocketProtocol);
        forged.Options.AddSubProtocol(GatewayEndpoint.WebSocketBearerPrefix + token[..^4] + "AAAA");
        forged.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => forged.ConnectAsync(uri, Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.HttpStatusCode);
    }
}
