using System.Text.Json;
using GameSystem.Gateway.OpenApi;

namespace GameSystem.Gateway.Tests;

/// <summary>The OpenAPI document as clients read it: the JSON the gateway serves, made from every contract's routes.</summary>
public sealed class OpenApiDocumentTests
{
    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "patch"];

    private static readonly GatewayRouteTable Routes = GatewayRouteTable.Build(GatewayApplication.Contracts);

    private static readonly JsonElement Document = JsonDocument.Parse(OpenApiDocumentBuilder.ToJson(OpenApiDocumentBuilder.Build(Routes))).RootElement.Clone();

    private static JsonElement Operation(string path, string method) => Document.GetProperty("paths").GetProperty(path).GetProperty(method);

    private static JsonElement Schema(string fullName) => Document.GetProperty("components").GetProperty("schemas").GetProperty(fullName);

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations() =>
        Document.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject()
            .Where(o => HttpMethods.Contains(o.Name))
            .Select(o => (p.Name, o.Name, o.Value)));

    [Fact]
    public void ItIsOpenApi31()
    {
        Assert.StartsWith("3.1.", Document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void EveryRouteOfTheTable_IsOneOperation_WithItsHttpMethod()
    {
        var operations = Operations().ToList();

        Assert.Equal(Routes.Routes.Length, operations.Count);
        foreach (var route in Routes.Routes)
        {
            var id = $"{route.Method.Descriptor.Service.Name}_{route.Method.Name}";
            var found = operations.Where(o => o.Operation.GetProperty("operationId").GetString() == id).ToList();
            Assert.True(found.Count == 1, $"{route.Declaration}: {found.Count} operations have the id {id}");
            Assert.Equal(route.HttpMethod.ToLowerInvariant(), found[0].Method);
            Assert.Equal(route.Method.Path, found[0].Operation.GetProperty("x-grpc-method").GetString());
        }
    }

    [Fact]
    public void AVerb_StaysOnThePath_AndANestedVariableKeepsItsDottedName()
    {
        var watch = Operation("/v1/worlds/{world_id}/clock:watch", "get");
        var update = Operation("/v1/accounts/{account.account_id}", "patch");

        Assert.Equal("TimeManagerService_WatchClock", watch.GetProperty("operationId").GetString());
        var parameter = Assert.Single(update.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("in").GetString() == "path");
        Assert.Equal("account.account_id", parameter.GetProperty("name").GetString());
        Assert.True(parameter.GetProperty("required").GetBoolean());
        // body: "account": the body is that field, the rest comes from the query.
        Assert.Equal("#/components/schemas/gamesystem.auth.v1.Account", update.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.Contains(update.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "updateMask" && p.GetProperty("in").GetString() == "query");
    }

    [Fact]
    public void AMultiSegmentVariable_IsOnePathParameter()
    {
        var rollback = Operation("/v1/{name}:rollback", "post");

        var parameter = Assert.Single(rollback.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("in").GetString() == "path");
        Assert.Equal("name", parameter.GetProperty("name").GetString());
        Assert.Contains("players/*/checkpoints/*", parameter.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void OpenApiPaths_AreUnique_EvenWhereTwoTemplatesWouldShareOne()
    {
        // GET /v1/{name=players/*/checkpoints/*} and GET /v1/{name=players/*/sessions/*} are both
        // '/v1/{name}' when compacted: they are spelled out instead, so neither is lost.
        var shapes = Operations().Select(o => System.Text.RegularExpressions.Regex.Replace(o.Path, "\\{[^}]*\\}", "{}") + " " + o.Method).ToList();

        Assert.Equal(shapes.Count, shapes.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("StateManagerService_GetCheckpoint", Operation("/v1/players/{name_players}/checkpoints/{name_checkpoints}", "get").GetProperty("operationId").GetString());
    }

    [Fact]
    public void AnEnum_IsAStringEnumOfItsValueNames()
    {
        var state = Schema("gamesystem.auth.v1.AccountState");

        Assert.Equal("string", state.GetProperty("type").GetString());
        Assert.Equal(["ACCOUNT_STATE_UNSPECIFIED", "ACCOUNT_STATE_ACTIVE", "ACCOUNT_STATE_DISABLED"], state.GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("#/components/schemas/gamesystem.auth.v1.AccountState", Schema("gamesystem.auth.v1.Account").GetProperty("properties").GetProperty("state").GetProperty("$ref").GetString());
    }

    [Fact]
    public void Int64_IsAString_AndFieldsHaveTheirJsonNames()
    {
        var account = Schema("gamesystem.auth.v1.Account").GetProperty("properties");

        Assert.Equal("string", account.GetProperty("version").GetProperty("type").GetString());
        Assert.Equal("int64", account.GetProperty("version").GetProperty("format").GetString());
        Assert.True(account.TryGetProperty("accountId", out _));
        Assert.False(account.TryGetProperty("account_id", out _));
        Assert.Equal("date-time", Schema("google.protobuf.Timestamp").GetProperty("format").GetString());
        Assert.Equal("array", account.GetProperty("roles").GetProperty("type").GetString());
    }

    [Fact]
    public void AServerStreamingOperation_OffersEventStreamAndNdjson()
    {
        var content = Operation("/v1/worlds/{world_id}/clock:watch", "get").GetProperty("responses").GetProperty("200").GetProperty("content");

        Assert.True(content.TryGetProperty("text/event-stream", out _));
        var line = content.GetProperty("application/x-ndjson").GetProperty("schema").GetProperty("oneOf");
        Assert.Equal("#/components/schemas/gamesystem.time_manager.v1.WatchClockResponse", line[0].GetProperty("$ref").GetString());
        Assert.Equal("#/components/schemas/google.rpc.Status", line[1].GetProperty("properties").GetProperty("error").GetProperty("$ref").GetString());
    }

    [Fact]
    public void APublicOperation_HasEmptySecurity_AndAnAuthenticatedOneBearerAuth()
    {
        var login = Operation("/v1/auth:login", "post");
        var getAccount = Operation("/v1/accounts/{account_id}", "get");

        Assert.Equal(JsonValueKind.Array, login.GetProperty("security").ValueKind);
        Assert.Equal(0, login.GetProperty("security").GetArrayLength());
        Assert.False(login.GetProperty("responses").TryGetProperty("401", out _));
        var requirement = Assert.Single(getAccount.GetProperty("security").EnumerateArray());
        Assert.Equal(0, requirement.GetProperty(OpenApiDocumentBuilder.BearerScheme).GetArrayLength());
        Assert.Equal("#/components/responses/Unauthenticated", getAccount.GetProperty("responses").GetProperty("401").GetProperty("$ref").GetString());
        var scheme = Document.GetProperty("components").GetProperty("securitySchemes").GetProperty(OpenApiDocumentBuilder.BearerScheme);
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        Assert.Equal("JWT", scheme.GetProperty("bearerFormat").GetString());
    }

    [Fact]
    public void Errors_AreGoogleRpcStatus_OnDefault4xxAnd5xx()
    {
        var responses = Operation("/v1/accounts/{account_id}", "get").GetProperty("responses");

        foreach (var key in (string[])["default", "4XX", "5XX"])
        {
            Assert.Equal("#/components/responses/Error", responses.GetProperty(key).GetProperty("$ref").GetString());
        }

        var error = Document.GetProperty("components").GetProperty("responses").GetProperty("Error").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Equal("#/components/schemas/google.rpc.Status", error.GetProperty("$ref").GetString());
        Assert.Equal(["code", "message", "details"], Schema("google.rpc.Status").GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal("@type", Assert.Single(Schema("google.protobuf.Any").GetProperty("required").EnumerateArray()).GetString());
    }

    [Fact]
    public void QueryParameters_AreTheFieldsTheGatewayBinds()
    {
        var list = Operation("/v1/clocks", "get");
        var login = Operation("/v1/auth:login", "post");

        var pageSize = Assert.Single(list.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "pageSize");
        Assert.Equal("query", pageSize.GetProperty("in").GetString());
        Assert.Equal("integer", pageSize.GetProperty("schema").GetProperty("type").GetString());
        Assert.Contains("page_size", pageSize.GetProperty("description").GetString(), StringComparison.Ordinal);
        // body: "*": the whole request is the body, nothing comes from the query.
        Assert.False(login.TryGetProperty("parameters", out var parameters) && parameters.GetArrayLength() > 0);
        Assert.Equal("#/components/schemas/gamesystem.auth.v1.LoginRequest", login.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
    }

    [Fact]
    public void AMethodsRequiredScopes_AreItsSecurityRequirement_AndItsExtension()
    {
        // No routed method of the 22 contracts declares scopes yet: the probe contract's Append does.
        var routes = GatewayRouteTable.Build([.. GatewayApplication.Contracts, GatewayHarness.ProbeContract]);
        var document = JsonDocument.Parse(OpenApiDocumentBuilder.ToJson(OpenApiDocumentBuilder.Build(routes))).RootElement;
        var append = document.GetProperty("paths").GetProperty("/v1/probe:append").GetProperty("post");
        var count = document.GetProperty("paths").GetProperty("/v1/probe/count").GetProperty("get");

        Assert.Equal(["probe.write"], append.GetProperty(OpenApiDocumentBuilder.ScopesExtension).EnumerateArray().Select(e => e.GetString()));
        var requirement = Assert.Single(append.GetProperty("security").EnumerateArray());
        Assert.Equal(["probe.write"], requirement.EnumerateObject().Single().Value.EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("`probe.write`", append.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("403", append.GetProperty("responses").EnumerateObject().Select(r => r.Name));

        // A method that needs a token but no scope: the requirement lists none.
        Assert.False(count.TryGetProperty(OpenApiDocumentBuilder.ScopesExtension, out _));
        Assert.Empty(Assert.Single(count.GetProperty("security").EnumerateArray()).EnumerateObject().Single().Value.EnumerateArray());
    }

    [Fact]
    public void EveryReference_NamesAComponentThatExists()
    {
        var components = Document.GetProperty("components");
        var refs = new List<string>();
        Collect(Document, refs);

        Assert.NotEmpty(refs);
        foreach (var reference in refs.Distinct(StringComparer.Ordinal))
        {
            var parts = reference.Split('/');
            Assert.True(parts.Length == 4 && components.GetProperty(parts[2]).TryGetProperty(parts[3], out _), $"{reference} names no component");
        }
    }

    private static void Collect(JsonElement element, List<string> refs)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "$ref")
                {
                    refs.Add(property.Value.GetString()!);
                }
                else
                {
                    Collect(property.Value, refs);
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Collect(item, refs);
            }
        }
    }
}
