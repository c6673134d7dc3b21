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

        Assert.Equal("cancelled", await mesh.Service.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout));
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
