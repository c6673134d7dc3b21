using System.Text.Json;
using GameSystem.MeshTest.V1;
using GameSystem.Testing;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>The NATS Services API (ADR-32): what `nats micro` and other tools see of the mesh.</summary>
public sealed class ServiceApiTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 20_000)]
    public async Task Info_ListsEveryEndpointWithItsRpcMetadata()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        using var info = await RequestJsonAsync(mesh, $"$SRV.INFO.meshtest.{mesh.Server.InstanceId}");
        var root = info.RootElement;

        Assert.Equal("io.nats.micro.v1.info_response", root.GetProperty("type").GetString());
        Assert.Equal("meshtest", root.GetProperty("name").GetString());
        Assert.Equal(mesh.Server.InstanceId, root.GetProperty("id").GetString());
        var endpoints = root.GetProperty("endpoints").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal(["Append", "Count", "Echo", "Lookup"], endpoints.Keys.Order());

        var echo = endpoints["Echo"];
        Assert.Equal(mesh.SubjectOf("Echo"), echo.GetProperty("subject").GetString());
        Assert.Equal("gamesystem.meshtest.v1.ProbeService", echo.GetProperty("queue_group").GetString());
        var metadata = echo.GetProperty("metadata");
        Assert.Equal("/gamesystem.meshtest.v1.ProbeService/Echo", metadata.GetProperty("rpc").GetString());
        Assert.Equal("gamesystem.meshtest.v1.EchoRequest", metadata.GetProperty("request_type").GetString());
        Assert.Equal("gamesystem.meshtest.v1.EchoResponse", metadata.GetProperty("response_type").GetString());
        Assert.Equal("unary", metadata.GetProperty("streaming").GetString());
        Assert.Equal("NO_SIDE_EFFECTS", metadata.GetProperty("idempotency").GetString());
        Assert.Equal("5000", metadata.GetProperty("default_timeout_ms").GetString());
        Assert.Equal("server", endpoints["Count"].GetProperty("metadata").GetProperty("streaming").GetString());
        Assert.Equal("IDEMPOTENT", endpoints["Lookup"].GetProperty("metadata").GetProperty("idempotency").GetString());
    }

    [Fact(Timeout = 20_000)]
    public async Task Info_OnTheSharedSubject_TellsEachMeshItsSubjectPrefix()
    {
        await using var first = await MeshHarness.StartAsync(nats);
        await using var second = await MeshHarness.StartAsync(nats);
        var expected = new Dictionary<string, string> { [first.Server.InstanceId] = first.Prefix, [second.Server.InstanceId] = second.Prefix };
        var inbox = first.ClientConnection.NewInbox();
        await using var sub = await first.ClientConnection.SubscribeCoreAsync<byte[]>(inbox, cancellationToken: Timeout);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        wait.CancelAfter(TimeSpan.FromSeconds(5));

        // $SRV subjects carry no prefix: every instance on the account answers, those of
        // other tests too. Each names its prefix in its endpoint subjects.
        await first.ClientConnection.PublishAsync("$SRV.INFO.meshtest", Array.Empty<byte>(), replyTo: inbox, cancellationToken: Timeout);
        var found = new Dictionary<string, string>();
        for (var i = 0; i < 10_000 && found.Count < expected.Count; i++)
        {
            var reply = await sub.Msgs.ReadAsync(wait.Token);
            using var info = JsonDocument.Parse(reply.Data);
            var id = info.RootElement.GetProperty("id").GetString()!;
            if (!expected.ContainsKey(id))
            {
                continue;
            }

            var service = info.RootElement.GetProperty("metadata").GetProperty("proto_service").GetString();
            var prefixes = info.RootElement.GetProperty("endpoints").EnumerateArray().Select(endpoint =>
            {
                var subject = endpoint.GetProperty("subject").GetString()!;
                var suffix = $".{service}.{endpoint.GetProperty("name").GetString()}";
                Assert.EndsWith(suffix, subject, StringComparison.Ordinal);
                return subject[..^suffix.Length];
            });
            found[id] = Assert.Single(prefixes.Distinct());
        }

        Assert.Equal(expected.OrderBy(e => e.Key), found.OrderBy(e => e.Key));
    }

    [Fact(Timeout = 20_000)]
    public async Task Ping_AnswersForAllServicesAndByName()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        using var byId = await RequestJsonAsync(mesh, $"$SRV.PING.meshtest.{mesh.Server.InstanceId}");

        Assert.Equal("io.nats.micro.v1.ping_response", byId.RootElement.GetProperty("type").GetString());
        Assert.Equal("1.0.0", byId.RootElement.GetProperty("version").GetString());
    }

    [Fact(Timeout = 20_000)]
    public async Task Stats_CountRequestsAndErrorsPerEndpoint()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout);
        await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout);
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { FailCode = 5, FailMessage = "no such quest" }, cancellationToken: Timeout));

        using var stats = await RequestJsonAsync(mesh, $"$SRV.STATS.meshtest.{mesh.Server.InstanceId}");

        var echo = stats.RootElement.GetProperty("endpoints").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "Echo");
        Assert.Equal(mesh.SubjectOf("Echo"), echo.GetProperty("subject").GetString());
        Assert.Equal(3, echo.GetProperty("num_requests").GetInt64());
        Assert.Equal(1, echo.GetProperty("num_errors").GetInt64());
        Assert.Equal("5:no such quest", echo.GetProperty("last_error").GetString());
        Assert.True(echo.GetProperty("processing_time").GetInt64() > 0);
    }

    private static async Task<JsonDocument> RequestJsonAsync(MeshHarness mesh, string subject)
    {
        var reply = await mesh.ClientConnection.RequestAsync<byte[], byte[]>(subject, [], cancellationToken: Timeout);
        return JsonDocument.Parse(reply.Data);
    }
}
