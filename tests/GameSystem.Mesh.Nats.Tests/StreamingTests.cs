using System.Diagnostics;
using System.Globalization;
using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

public sealed class StreamingTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task Count_StreamsEveryMessageInOrderAndCompletes()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamWindow = 8 });

        var received = new List<int>();
        await foreach (var item in mesh.Client.CountAsync(new CountRequest { Count = 1000 }, cancellationToken: Timeout))
        {
            received.Add(item.N);
        }

        Assert.Equal(Enumerable.Range(1, 1000), received);
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_WhenTheHandlerFailsMidway_DeliversWhatCameBeforeThenTheStatus()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var received = new List<int>();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var item in mesh.Client.CountAsync(new CountRequest { Count = 10, FailAfter = 3 }, cancellationToken: Timeout))
            {
                received.Add(item.N);
            }
        });

        Assert.Equal([1, 2, 3], received);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("stopped after 3", error.Status.Detail);
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_WhenTheHandlerFailsBeforeItsFirstMessage_FailsWithTheHandlersStatus()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var unused in mesh.Client.CountAsync(new CountRequest { Count = 3, FailCode = 5, FailMessage = "world 'w-9' has no clock" }, cancellationToken: Timeout))
            {
            }
        });

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("world 'w-9' has no clock", error.Status.Detail);
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_GrantsCreditForMessagesTheCallerTook_NotForThoseWaitingInItsInbox()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamWindow = 4 });
        await using var stream = mesh.Client.CountAsync(new CountRequest { Count = 100 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);

        // One taken, below the grant of floor(4 / 2) = 2: the server sends its window of four
        // and holds the fifth, however long the four wait in the client.
        Assert.True(await stream.MoveNextAsync());
        await ProducedSettlesAtAsync(mesh, 5);

        // Two taken: a grant of two releases the fifth and the sixth, and holds the seventh.
        Assert.True(await stream.MoveNextAsync());
        await ProducedSettlesAtAsync(mesh, 7);
        Assert.Equal(2, stream.Current.N);
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_WhenTheClientStopsReading_TheHandlerIsCancelled()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        await foreach (var item in mesh.Client.CountAsync(new CountRequest { Count = 1000, DelayMs = 20 }, cancellationToken: Timeout))
        {
            if (item.N == 3)
            {
                break;
            }
        }

        Assert.Equal("cancelled", await mesh.Service.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Timeout));
    }

    [Theory(Timeout = 20_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Count_WhenTheCallerBreaksOff_AfterNatsWentAway_EndsAtOnce(bool cancel)
    {
        // A process stopping after its nats-server went away (the gateway's route watch): the
        // cancel notice to the service cannot be sent, and must not wait for a reconnect.
        await using var server = await NatsServerFixture.StartAsync();
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        await using var serverConnection = await ConnectAsync(server.Port, "probe-server");
        await using var clientConnection = await ConnectAsync(server.Port, "probe-client");
        await using var meshServer = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix });
        meshServer.AddService(ProbeServiceDispatcher.Bind(new RecordingProbeService()));
        await meshServer.StartAsync(Timeout);
        await using var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var client = new ProbeServiceClient(invoker);
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(Timeout);

        var stopped = new Stopwatch();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var item in client.CountAsync(new CountRequest { Count = 1000, DelayMs = 20 }, cancellationToken: caller.Token))
            {
                if (item.N == 2)
                {
                    await server.KillAsync();
                    while (clientConnection.ConnectionState == NatsConnectionState.Open)
                    {
                        await Task.Delay(10, Timeout);
                    }

                    stopped.Start();
                    if (!cancel)
                    {
                        break;
                    }

                    await caller.CancelAsync();
                }
            }
        });

        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(2), $"Breaking off took {stopped.Elapsed}.");
        Assert.True(cancel ? error is RpcException { StatusCode: StatusCode.Cancelled } or OperationCanceledException : error is null, $"Unexpected: {error}");
    }

    private static async Task<NatsConnection> ConnectAsync(int port, string name)
    {
        var connection = new NatsConnection(NatsOpts.Default with { Url = $"nats://127.0.0.1:{port}", Name = name });
        await connection.ConnectAsync();
        return connection;
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_WhenTheCallerCancels_FailsCancelledAndTheHandlerIsCancelled()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Timeout);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var item in mesh.Client.CountAsync(new CountRequest { Count = 1000, DelayMs = 20 }, cancellationToken: cts.Token))
            {
                if (item.N == 2)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal("cancelled", await mesh.Service.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_WhoseClientStopsSendingHeartbeats_IsStoppedByTheServer()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        // A client that opens a stream and then goes silent: no heartbeats, no credit.
        var inbox = mesh.ClientConnection.NewInbox();
        await using var sub = await mesh.ClientConnection.SubscribeCoreAsync<byte[]>(inbox, cancellationToken: Timeout);
        await mesh.ClientConnection.PublishAsync(mesh.SubjectOf("Count"), new CountRequest { Count = 1_000_000, DelayMs = 10 }.ToByteArray(),
            new NatsHeaders { ["Gs-Window"] = "1000000", ["Gs-Heartbeat"] = "100" }, inbox, cancellationToken: Timeout);

        // The handler may be stopped in its delay or while its next message waits: either way it ends.
        await mesh.Service.CountStopped.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_NeverSendsMoreThanTheClientsCredit()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var inbox = mesh.ClientConnection.NewInbox();
        await using var sub = await mesh.ClientConnection.SubscribeCoreAsync<byte[]>(inbox, cancellationToken: Timeout);
        await mesh.ClientConnection.PublishAsync(mesh.SubjectOf("Count"), new CountRequest { Count = 100 }.ToByteArray(),
            new NatsHeaders { ["Gs-Window"] = "4", ["Gs-Heartbeat"] = "200" }, inbox, cancellationToken: Timeout);

        var data = 0;
        string? control = null;
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        quiet.CancelAfter(TimeSpan.FromSeconds(1.5));
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(quiet.Token))
            {
                if (msg.Headers?.TryGetValue("Gs-Control", out var c) == true)
                {
                    control = c.ToString();
                }

                if (msg.Headers?.ContainsKey("Gs-Seq") == true)
                {
                    data++;
                }

                if (control is not null)
                {
                    // Keep the stream alive without granting credit.
                    await mesh.ClientConnection.PublishAsync(control, headers: new NatsHeaders { ["Gs-Stream"] = "heartbeat" }, cancellationToken: Timeout);
                }
            }
        }
        catch (OperationCanceledException) when (!Timeout.IsCancellationRequested)
        {
        }

        Assert.Equal(4, data);

        // Granting credit releases exactly that many more.
        await mesh.ClientConnection.PublishAsync(control!, headers: new NatsHeaders { ["Gs-Stream"] = "credit", ["Gs-Credit"] = "3" }, cancellationToken: Timeout);
        var more = 0;
        using var second = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        second.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(second.Token))
            {
                if (msg.Headers?.TryGetValue("Gs-Seq", out var seq) == true)
                {
                    more++;
                    Assert.Equal(4 + more, int.Parse(seq.ToString(), CultureInfo.InvariantCulture));
                }
            }
        }
        catch (OperationCanceledException) when (!Timeout.IsCancellationRequested)
        {
        }

        Assert.Equal(3, more);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_ToAnUnservedService_IsUnavailable()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var unused in mesh.Client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout))
            {
            }
        });

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_WhenTheServerDies_TheClientFailsUnavailable()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamHeartbeat = TimeSpan.FromMilliseconds(200) });

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var item in mesh.Client.CountAsync(new CountRequest { Count = 1000, DelayMs = 50 }, cancellationToken: Timeout))
            {
                if (item.N == 2)
                {
                    // The server's connection vanishes mid-stream, as in a crash: no end message.
                    await mesh.ServerConnection.DisposeAsync();
                }
            }
        });

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_OverTheStreamLimit_IsShedWithResourceExhausted()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { MaxConcurrentStreams = 1 });
        await using var first = mesh.Client.CountAsync(new CountRequest { Count = 1000, DelayMs = 50 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);
        Assert.True(await first.MoveNextAsync());

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var unused in mesh.Client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout))
            {
            }
        });

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task Count_SendsHeartbeatsAtTheIntervalTheServerEchoes_NotItsOwn()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamHeartbeat = TimeSpan.FromSeconds(5) }, serve: false);
        await using var server = await FakeStreamServer.StartAsync(mesh, Timeout);
        var stream = mesh.Client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);
        var first = stream.MoveNextAsync().AsTask();
        using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var alive = Task.CompletedTask;
        try
        {
            // The client asks for 5 s; this server runs the stream at 300 ms, and keeps it alive.
            var request = await server.OpenAsync(window: 64, heartbeatMs: 300, Timeout);
            var opened = Stopwatch.GetTimestamp();
            Assert.Equal("5000", request["Gs-Heartbeat"].ToString());
            alive = HeartbeatToClientAsync(server, TimeSpan.FromMilliseconds(200), keepAlive.Token);

            var heartbeats = new List<TimeSpan>();
            for (var i = 0; i < 100 && Stopwatch.GetElapsedTime(opened) < TimeSpan.FromSeconds(2); i++)
            {
                if (await server.NextControlAsync(TimeSpan.FromMilliseconds(200), Timeout) is { } msg)
                {
                    Assert.Equal("heartbeat", msg.Headers?["Gs-Stream"].ToString());
                    heartbeats.Add(Stopwatch.GetElapsedTime(opened));
                }
            }

            Assert.True(heartbeats.Count >= 3, $"{heartbeats.Count} heartbeats in 2 s at H′ = 300 ms");
            Assert.InRange(heartbeats[0], TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(1.5));
        }
        finally
        {
            // End the stream, so the enumerator is idle when it is disposed.
            await keepAlive.CancelAsync();
            await alive;
            await server.SendAsync(new NatsHeaders { ["Gs-Stream"] = "end", ["Gs-Count"] = "0" }, Timeout);
            await ((Task)first).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            await stream.DisposeAsync();
        }

        Assert.False(await first);
    }

    [Fact(Timeout = 30_000)]
    public async Task Count_WhenTheServerFallsSilentAfterOpen_FailsAfterThreeEchoedIntervals()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamHeartbeat = TimeSpan.FromSeconds(5) }, serve: false);
        await using var server = await FakeStreamServer.StartAsync(mesh, Timeout);
        await using var stream = mesh.Client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);
        var first = stream.MoveNextAsync().AsTask();

        await server.OpenAsync(window: 64, heartbeatMs: 300, Timeout);
        var opened = Stopwatch.GetTimestamp();
        var error = await Assert.ThrowsAsync<RpcException>(() => first);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("/gamesystem.meshtest.v1.ProbeService/Count: the server went silent (no message or heartbeat for 0.9 s).", error.Status.Detail);
        Assert.InRange(Stopwatch.GetElapsedTime(opened), TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_AfterTheCallerBreaksOff_SendsCancelWithoutWaitingForTheEnd_ThenNoHeartbeatOrCredit()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamHeartbeat = TimeSpan.FromMilliseconds(200) }, serve: false);
        await using var server = await FakeStreamServer.StartAsync(mesh, Timeout);
        var stream = mesh.Client.CountAsync(new CountRequest { Count = 10 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);
        var first = stream.MoveNextAsync().AsTask();
        await server.OpenAsync(window: 2, heartbeatMs: 200, Timeout);
        await server.SendAsync(new NatsHeaders { ["Gs-Seq"] = "1", ["Content-Type"] = "application/protobuf" }, Timeout, new CountResponse { N = 1 }.ToByteArray());
        Assert.True(await first);

        // Returns without waiting for an end: this server never sends one.
        await stream.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5), Timeout);

        var kinds = new List<string>();
        for (var i = 0; i < 100 && !kinds.Contains("cancel"); i++)
        {
            var msg = await server.NextControlAsync(TimeSpan.FromSeconds(5), Timeout) ?? throw new InvalidOperationException("The client sent no cancel.");
            kinds.Add(msg.Headers!["Gs-Stream"].ToString());
        }

        Assert.Contains("credit", kinds);
        Assert.Null(await server.NextControlAsync(TimeSpan.FromSeconds(1), Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_WhenNoOpenArrives_FailsAfterThreeOfItsOwnIntervals()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { StreamHeartbeat = TimeSpan.FromMilliseconds(300) }, serve: false);
        await using var server = await FakeStreamServer.StartAsync(mesh, Timeout);
        await using var stream = mesh.Client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);
        var sent = Stopwatch.GetTimestamp();
        var first = stream.MoveNextAsync().AsTask();

        // A server that takes the request and never answers it.
        Assert.Equal("300", (await server.ReceiveRequestAsync(Timeout))["Gs-Heartbeat"].ToString());
        var error = await Assert.ThrowsAsync<RpcException>(() => first);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("/gamesystem.meshtest.v1.ProbeService/Count: the server went silent (no message or heartbeat for 0.9 s).", error.Status.Detail);
        Assert.InRange(Stopwatch.GetElapsedTime(sent), TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 20_000)]
    public async Task Count_WhenOpenEchoesANonDecimalHeartbeat_FailsInternal()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false);
        await using var server = await FakeStreamServer.StartAsync(mesh, Timeout);
        await using var stream = mesh.Client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout).GetAsyncEnumerator(Timeout);
        var first = stream.MoveNextAsync().AsTask();

        await server.OpenAsync("64", "soon", Timeout);
        var error = await Assert.ThrowsAsync<RpcException>(() => first);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal("/gamesystem.meshtest.v1.ProbeService/Count: the server broke the stream protocol (Gs-Heartbeat is 'soon', not a number).", error.Status.Detail);
    }

    [Theory]
    [InlineData(49, false)]
    [InlineData(50, true)]
    [InlineData(60_000, true)]
    [InlineData(60_001, false)]
    public async Task Client_AcceptsOnlyAStreamHeartbeatEveryServerRunsAsAsked(int milliseconds, bool accepted)
    {
        await using var connection = await nats.ConnectAsync();
        var options = MeshClientOptions.Default with { StreamHeartbeat = TimeSpan.FromMilliseconds(milliseconds) };

        var created = Record.Exception(() => new NatsMeshClient(connection, options));

        if (accepted)
        {
            Assert.Null(created);
        }
        else
        {
            var refused = Assert.IsType<ArgumentOutOfRangeException>(created);
            Assert.Contains("StreamHeartbeat must be between 50 ms and 60 s", refused.Message, StringComparison.Ordinal);
        }
    }

    private static async Task HeartbeatToClientAsync(FakeStreamServer server, TimeSpan every, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await server.SendAsync(new NatsHeaders { ["Gs-Stream"] = "heartbeat" }, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task ProducedSettlesAtAsync(MeshHarness mesh, int expected)
    {
        for (var i = 0; i < 250 && Volatile.Read(ref mesh.Service.Produced) < expected; i++)
        {
            await Task.Delay(20, Timeout);
        }

        // Held there: nothing more is produced while the credit is spent.
        await Task.Delay(500, Timeout);
        Assert.Equal(expected, Volatile.Read(ref mesh.Service.Produced));
    }
}
