using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

public sealed class ConnectionOptionsTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public void Servers_OfACluster_AreAllGivenToNats()
    {
        var options = MeshNatsOptions.Default with { Servers = ["nats://10.0.0.1:4222", "tls://nats-2.internal:4222", "nats://127.0.0.1:4223"] };

        Assert.Equal("nats://10.0.0.1:4222,tls://nats-2.internal:4222,nats://127.0.0.1:4223", options.ToNatsOpts().Url);
    }

    [Fact]
    public void Credentials_AndTls_ReachTheNatsOptions()
    {
        var options = MeshNatsOptions.Default with
        {
            User = "game",
            Password = "s3cret",
            Tls = new MeshTlsOptions { Required = true, CaFile = "/etc/gamesystem/ca.pem", CertFile = "/etc/gamesystem/client.pem", KeyFile = "/etc/gamesystem/client.key" },
        };

        var opts = options.ToNatsOpts();

        Assert.Equal("game", opts.AuthOpts.Username);
        Assert.Equal("s3cret", opts.AuthOpts.Password);
        Assert.Equal(TlsMode.Require, opts.TlsOpts.Mode);
        Assert.Equal("/etc/gamesystem/ca.pem", opts.TlsOpts.CaFile);
        Assert.Equal("/etc/gamesystem/client.key", opts.TlsOpts.KeyFile);
    }

    [Theory]
    [InlineData("http://127.0.0.1:4222", "is not a nats://")]
    [InlineData("127.0.0.1:4222", "is not a nats://")]
    public void Servers_ThatAreNotNatsUrls_AreRejectedWithTheUrl(string url, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => (MeshNatsOptions.Default with { Servers = [url] }).ToNatsOpts());

        Assert.Contains(url, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientCertificate_WithoutItsKey_IsRejected()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            (MeshNatsOptions.Default with { Tls = new MeshTlsOptions { CertFile = "/etc/gamesystem/client.pem" } }).ToNatsOpts());

        Assert.Contains("CertFile and KeyFile go together", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task Cluster_WithAServerDown_ConnectsThroughAnotherAndCallsWork()
    {
        var down = $"nats://127.0.0.1:{ServerProcess.FreePort()}";
        var options = MeshNatsOptions.Default with { Servers = [down, nats.Url], Name = "cluster-test" };
        await using var connection = new NatsConnection(options.ToNatsOpts());
        await connection.ConnectAsync();
        await using var server = new NatsMeshServer(connection, MeshServerOptions.Default with { SubjectPrefix = "cluster" });
        server.AddService(ProbeServiceDispatcher.Bind(new RecordingProbeService()));
        await server.StartAsync(Timeout);
        await using var invoker = new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = "cluster" });

        var response = await new ProbeServiceClient(invoker).EchoAsync(new EchoRequest { Text = "through the cluster" }, cancellationToken: Timeout);

        Assert.Equal("through the cluster", response.Text);
    }
}
