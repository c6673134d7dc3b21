using System.Net;
using System.Text.Json;
using Bogus;
using GameSystem.GatewayTest.V1;
using GameSystem.Mesh.Nats.Tests;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Gateway.Tests;

/// <summary>
/// The HttpRule specification's examples through Kestrel, the gateway, NATS and a service that
/// answers with the request it was given; and every gRPC status through the probe's Echo.
/// </summary>
public sealed class GatewayBindingTests(NatsServerFixture nats)
{
    private readonly Faker _faker = new() { Random = new Randomizer(20261205) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(GatewayHarness Gateway, string Token)> StartAsync()
    {
        var gateway = await GatewayHarness.StartAsync(nats, [(GatewayHarness.MessagingContract, new EchoingMessagingService()), (GatewayHarness.ProbeContract, new RecordingProbeService())]);
        var username = GatewayHarness.Username(_faker);
        var (_, token) = await gateway.PlayerAsync(username, Ct);
        return (gateway, token);
    }

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<HttpResponseMessage> SendAsync(GatewayHarness gateway, HttpMethod method, string path, string token, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        return await gateway.Http.SendAsync(request, Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task PathVariables_AndNestedQueryParameters_Bind_OnEveryBindingOfTheRpc()
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;

        // The spec's "GET /v1/messages/123456?revision=2&sub.subfield=foo".
        using var main = await gateway.GetAsync("/v1/messages/123456?revision=2&sub.subfield=foo", Ct, token);
        using var additional = await gateway.GetAsync("/v1/users/me/messages/123456", Ct, token);

        var request = (await OkAsync(main)).GetProperty("request");
        Assert.Equal("123456", request.GetProperty("messageId").GetString());
        Assert.Equal("2", request.GetProperty("revision").GetString());
        Assert.Equal("foo", request.GetProperty("sub").GetProperty("subfield").GetString());
        var viaUser = (await OkAsync(additional)).GetProperty("request");
        Assert.Equal("me", viaUser.GetProperty("userId").GetString());
        Assert.Equal("123456", viaUser.GetProperty("messageId").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task ABodyField_IsThatFieldOnly_AndTheRestComesFromPathAndQuery()
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;

        // The spec's "PATCH /v1/messages/123456 { "text": "Hi!" }" with body: "message".
        using var response = await SendAsync(gateway, HttpMethod.Patch, "/v1/messages/123456?note=urgent", token, """{"text":"Hi!"}""");
        using var unknown = await SendAsync(gateway, HttpMethod.Patch, "/v1/messages/123456", token, """{"text":"Hi!","messageId":"x"}""");

        var request = (await OkAsync(response)).GetProperty("request");
        Assert.Equal("123456", request.GetProperty("messageId").GetString());
        Assert.Equal("Hi!", request.GetProperty("message").GetProperty("text").GetString());
        Assert.Equal("urgent", request.GetProperty("note").GetString());
        // The body is a Message: a field of the request beside it is not one of its fields.
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("messageId", await unknown.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task AWholeBody_TakesThePathOnTop_AndNoQueryParameters()
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;

        using var response = await SendAsync(gateway, HttpMethod.Put, "/v1/messages/123456", token, """{"messageId":"ignored","text":"Hi!"}""");
        using var query = await SendAsync(gateway, HttpMethod.Put, "/v1/messages/123456?text=no", token, """{"text":"Hi!"}""");

        var request = (await OkAsync(response)).GetProperty("request");
        Assert.Equal("123456", request.GetProperty("messageId").GetString());
        Assert.Equal("Hi!", request.GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, query.StatusCode);
        Assert.Contains("'text'", await query.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task AResourceNameVariable_MatchesItsSegments_AndNothingElse()
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;

        using var book = await gateway.GetAsync("/v1/shelves/s-1/books/b%202", Ct, token);
        using var shelf = await gateway.GetAsync("/v1/shelves/s-1", Ct, token);

        Assert.Equal("shelves/s-1/books/b 2", (await OkAsync(book)).GetProperty("request").GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.NotFound, shelf.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task ADoubleWildcard_TakesEverySegment_AndResponseBodyAnswersWithOneField()
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;

        using var response = await gateway.GetAsync("/v1/files/maps/north/keep.json", Ct, token);

        var content = await OkAsync(response);
        Assert.Equal("maps/north/keep.json", content.GetProperty("path").GetString());
        Assert.Equal(3, content.GetProperty("depth").GetInt32());
        Assert.False(content.TryGetProperty("etag", out _));
    }

    [Fact(Timeout = 60_000)]
    public async Task QueryParameters_OfEveryKind_Bind()
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;

        using var response = await gateway.GetAsync(
            "/v1/messages:search?tags=a&tags=b%20c&kind=KIND_GUILD&filter.author=ada&filter.min_length=3&since=2026-01-01T00:00:00Z&limit=9007199254740993&within=1.5s&page=7&kinds=KIND_DIRECT&kinds=2",
            Ct,
            token);
        using var badEnum = await gateway.GetAsync("/v1/messages:search?kind=KIND_LOUD", Ct, token);

        var request = (await OkAsync(response)).GetProperty("request");
        Assert.Equal(["a", "b c"], request.GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("KIND_GUILD", request.GetProperty("kind").GetString());
        Assert.Equal("ada", request.GetProperty("filter").GetProperty("author").GetString());
        Assert.Equal(3, request.GetProperty("filter").GetProperty("minLength").GetInt32());
        Assert.Equal("2026-01-01T00:00:00Z", request.GetProperty("since").GetString());
        Assert.Equal("9007199254740993", request.GetProperty("limit").GetString());
        Assert.Equal("1.500s", request.GetProperty("within").GetString());
        Assert.Equal(7, request.GetProperty("page").GetInt32());
        Assert.Equal(["KIND_DIRECT", "KIND_GUILD"], request.GetProperty("kinds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, badEnum.StatusCode);
        Assert.Contains("kind", await badEnum.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    // The grpc-gateway table; the codes whose text could leak internals are concealed behind an error id.
    [Theory(Timeout = 60_000)]
    [InlineData(StatusCode.Cancelled, 499, false)]
    [InlineData(StatusCode.Unknown, 500, true)]
    [InlineData(StatusCode.InvalidArgument, 400, false)]
    [InlineData(StatusCode.DeadlineExceeded, 504, false)]
    [InlineData(StatusCode.NotFound, 404, false)]
    [InlineData(StatusCode.AlreadyExists, 409, false)]
    [InlineData(StatusCode.PermissionDenied, 403, false)]
    [InlineData(StatusCode.ResourceExhausted, 429, false)]
    [InlineData(StatusCode.FailedPrecondition, 400, false)]
    [InlineData(StatusCode.Aborted, 409, false)]
    [InlineData(StatusCode.OutOfRange, 400, false)]
    [InlineData(StatusCode.Unimplemented, 501, false)]
    [InlineData(StatusCode.Internal, 500, true)]
    [InlineData(StatusCode.Unavailable, 503, true)]
    [InlineData(StatusCode.DataLoss, 500, true)]
    [InlineData(StatusCode.Unauthenticated, 401, false)]
    public async Task EveryStatusOfAService_MapsToItsHttpStatus(StatusCode code, int http, bool concealed)
    {
        var (gateway, token) = await StartAsync();
        await using var owned = gateway;
        var secret = "db=" + _faker.Internet.IpAddress();

        using var response = await gateway.PostJsonAsync("/v1/echo", $$"""{"failCode":{{(int)code}},"failMessage":"{{secret}} said no"}""", Ct, token);

        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(http, (int)response.StatusCode);
        var error = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)code, error.GetProperty("code").GetInt32());
        Assert.Equal(!concealed, text.Contains(secret, StringComparison.Ordinal));
        Assert.Equal(code == StatusCode.Unauthenticated, response.Headers.WwwAuthenticate.Count > 0);
    }

    /// <summary>Answers every rpc with the request it was given.</summary>
    private sealed class EchoingMessagingService : IMessagingService
    {
        public ValueTask<GetMessageResponse> GetMessageAsync(GetMessageRequest request, ServerCallContext context) =>
            ValueTask.FromResult(new GetMessageResponse { Request = request });

        public ValueTask<UpdateMessageResponse> UpdateMessageAsync(UpdateMessageRequest request, ServerCallContext context) =>
            ValueTask.FromResult(new UpdateMessageResponse { Request = request });

        public ValueTask<ReplaceMessageResponse> ReplaceMessageAsync(ReplaceMessageRequest request, ServerCallContext context) =>
            ValueTask.FromResult(new ReplaceMessageResponse { Request = request });

        public ValueTask<GetBookResponse> GetBookAsync(GetBookRequest request, ServerCallContext context) =>
            ValueTask.FromResult(new GetBookResponse { Request = request });

        public ValueTask<GetFileResponse> GetFileAsync(GetFileRequest request, ServerCallContext context) =>
            ValueTask.FromResult(new GetFileResponse { Etag = "e-1", Content = new FileContent { Path = request.Path, Depth = request.Path.Split('/').Length } });

        public ValueTask<SearchMessagesResponse> SearchMessagesAsync(SearchMessagesRequest request, ServerCallContext context) =>
            ValueTask.FromResult(new SearchMessagesResponse { Request = request });
    }
}
