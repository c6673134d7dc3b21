using System.Diagnostics;
using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using NATS.Client.Core;
using static GameSystem.Mesh.Nats.Tests.RawStream;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>
/// A server stream as a client written from docs/wire-protocol.md sees it, message by
/// message over plain NATS: what the document promises about open, heartbeats, credit,
/// cancel, drops, errors and the end. Timing bounds are generous: the machine is shared.
/// </summary>
public sealed class StreamWireTests(NatsServerFixture nats)
{
    private const string CountPath = "/gamesystem.meshtest.v1.ProbeService/Count";
    internal static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Theory(Timeout = 20_000)]
    [InlineData(null, null, "16", "5000")]
    [InlineData("0", "0", "1", "50")]
    [InlineData("1", "49", "1", "50")]
    [InlineData("64", "2000", "64", "2000")]
    [InlineData("4097", "60001", "4096", "60000")]
    [InlineData("99999999999", "99999999999", "4096", "60000")]
    [InlineData("-5", "+100", "16", "5000")]
    [InlineData("abc", "2s", "16", "5000")]
    [InlineData("", "", "16", "5000")]
    public async Task Open_EchoesTheWindowAndHeartbeatTheServerUses(string? window, string? heartbeat, string echoedWindow, string echoedHeartbeat)
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var headers = new NatsHeaders { ["Content-Type"] = "application/protobuf" };
        if (window is not null)
        {
            headers["Gs-Window"] = window;
        }

        if (heartbeat is not null)
        {
            headers["Gs-Heartbeat"] = heartbeat;
        }

        await using var stream = await StartAsync(mesh, new CountRequest { Count = 0 }, headers, Timeout);

        var open = await stream.ExpectAsync(Soon, Timeout);
        Assert.Equal("open", KindOf(open));
        Assert.Equal(echoedWindow, Header(open, "Gs-Window"));
        Assert.Equal(echoedHeartbeat, Header(open, "Gs-Heartbeat"));
        var end = await stream.ExpectAsync(Soon, Timeout);
        Assert.Equal("end", KindOf(end));
        Assert.Equal("0", Header(end, "Gs-Count"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Stream_WhenIdle_SendsItsFirstHeartbeatOneIntervalAfterOpen_AndNoneWithinAnIntervalOfData()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        // H′ = 1 s, and 2.5 s of idleness before each of the two messages.
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 2, DelayMs = 2500 }, Headers(window: 4, heartbeatMs: 1000), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        var opened = Stopwatch.GetTimestamp();
        using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var alive = KeepAliveAsync(stream, TimeSpan.FromMilliseconds(200), keepAlive.Token);

        var timeline = new List<(string Kind, TimeSpan At)>();
        for (var i = 0; i < 100 && timeline.LastOrDefault().Kind != "end"; i++)
        {
            var msg = await stream.ExpectAsync(Soon, Timeout);
            timeline.Add((KindOf(msg), Stopwatch.GetElapsedTime(opened)));
        }

        await keepAlive.CancelAsync();
        await alive;

        Assert.Equal(["data", "data", "end"], timeline.Where(e => e.Kind != "heartbeat").Select(e => e.Kind));
        Assert.InRange(timeline.First(e => e.Kind == "heartbeat").At, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3));
        var firstData = timeline.First(e => e.Kind == "data").At;
        var afterData = timeline.Where(e => e.Kind == "heartbeat" && e.At > firstData).Select(e => e.At - firstData).ToList();
        Assert.NotEmpty(afterData);
        Assert.All(afterData, gap => Assert.True(gap >= TimeSpan.FromMilliseconds(500), $"a heartbeat came {gap.TotalMilliseconds:0} ms after a data message"));

        // Never silent for 3 × H′, the limit a client allows.
        var gaps = timeline.Zip(timeline.Skip(1), (a, b) => b.At - a.At).Prepend(timeline[0].At);
        Assert.All(gaps, gap => Assert.True(gap < TimeSpan.FromSeconds(3), $"the server was silent for {gap.TotalMilliseconds:0} ms"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_WithoutCredit_HoldsTheHandlerAtItsNextMessage_AndKeepsHeartbeating()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 50 }, Headers(window: 2, heartbeatMs: 300), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var alive = KeepAliveAsync(stream, TimeSpan.FromMilliseconds(100), keepAlive.Token);
        Assert.Equal("1", Header(await stream.ExpectAsync(Soon, Timeout), "Gs-Seq"));
        Assert.Equal("2", Header(await stream.ExpectAsync(Soon, Timeout), "Gs-Seq"));

        var whileBlocked = await CollectAsync(stream, TimeSpan.FromSeconds(1.5));

        Assert.All(whileBlocked, m => Assert.Equal("heartbeat", KindOf(m)));
        Assert.True(whileBlocked.Count >= 2, $"{whileBlocked.Count} heartbeats in 1.5 s at H′ = 300 ms");
        Assert.Equal(3, Volatile.Read(ref mesh.Service.Produced));

        // The message sent on the next credit is the one produced before the wait.
        await stream.SendAsync("credit", Timeout, credit: 1);
        var next = await NextDataAsync(stream);
        Assert.Equal("3", Header(next, "Gs-Seq"));
        Assert.Equal(3, CountResponse.Parser.ParseFrom(next.Data).N);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Timeout);
        Assert.Equal(4, Volatile.Read(ref mesh.Service.Produced));
        await keepAlive.CancelAsync();
        await alive;
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_GrantOfMoreThanFitsAnInt_AddsTheLargestGrant()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 5 }, Headers(window: 1, heartbeatMs: 1000), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        Assert.Equal("1", Header(await NextDataAsync(stream), "Gs-Seq"));

        await stream.SendAsync("credit", Timeout, credit: 99_999_999_999);

        for (var seq = 2; seq <= 5; seq++)
        {
            Assert.Equal(seq.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(await NextDataAsync(stream), "Gs-Seq"));
        }

        Assert.Equal("end", KindOf(await stream.ExpectAsync(Soon, Timeout)));
    }

    [Theory(Timeout = 20_000)]
    [InlineData(false, "1", "the caller cancelled the call.")]
    [InlineData(true, "4", "the deadline passed while the call ran.")]
    public async Task Stream_WaitingForCredit_EndsOnCancelOrAtItsDeadline(bool deadline, string code, string message)
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var headers = Headers(window: 2, heartbeatMs: 1000);
        if (deadline)
        {
            headers["grpc-timeout"] = "700m";
        }

        await using var stream = await StartAsync(mesh, new CountRequest { Count = 50 }, headers, Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        Assert.Equal("1", Header(await NextDataAsync(stream), "Gs-Seq"));
        Assert.Equal("2", Header(await NextDataAsync(stream), "Gs-Seq"));
        if (!deadline)
        {
            await stream.SendAsync("cancel", Timeout);
        }

        NatsMsg<byte[]> end = default;
        for (var i = 0; i < 10 && KindOf(end = await stream.ExpectAsync(Soon, Timeout)) == "heartbeat"; i++)
        {
        }

        Assert.Equal("end", KindOf(end));
        Assert.Equal(code, Header(end, "Nats-Service-Error-Code"));
        Assert.Equal($"{CountPath}: {message}", Header(end, "Nats-Service-Error"));
        Assert.Equal("2", Header(end, "Gs-Count"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_CancelledWhileItsHandlerIgnoresCancellation_IsSilentUntilTheHandlerYields()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 5, DelayMs = 2500, IgnoreCancellation = true }, Headers(window: 4, heartbeatMs: 500), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        await mesh.Service.Started.Task.WaitAsync(Soon, Timeout);
        var cancelled = Stopwatch.GetTimestamp();

        await stream.SendAsync("cancel", Timeout);

        // No heartbeat at H′ = 500 ms while the handler sleeps 2.5 s; the end comes when it yields.
        var end = await stream.ExpectAsync(Soon, Timeout);
        Assert.Equal("end", KindOf(end));
        Assert.True(Stopwatch.GetElapsedTime(cancelled) >= TimeSpan.FromSeconds(1.5), "the end came before the handler yielded");
        Assert.Equal("1", Header(end, "Nats-Service-Error-Code"));
        Assert.Equal("0", Header(end, "Gs-Count"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_AfterTheClientCancels_SendsAtMostTheOutstandingCreditThenACancelledEnd()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 100_000, DelayMs = 1 }, Headers(window: 4, heartbeatMs: 1000), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));

        // One credit back per message keeps four outstanding; cancel after the tenth.
        for (var seq = 1; seq <= 10; seq++)
        {
            Assert.Equal(seq.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(await NextDataAsync(stream), "Gs-Seq"));
            await stream.SendAsync("credit", Timeout, credit: 1);
        }

        await stream.SendAsync("cancel", Timeout);
        var afterCancel = 0;
        NatsMsg<byte[]> end = default;
        for (var i = 0; i < 100; i++)
        {
            var msg = await stream.ExpectAsync(Soon, Timeout);
            if (KindOf(msg) == "data")
            {
                afterCancel++;
            }
            else if (KindOf(msg) == "end")
            {
                end = msg;
                break;
            }
        }

        Assert.InRange(afterCancel, 0, 4);
        Assert.Equal("end", KindOf(end));
        Assert.Equal("1", Header(end, "Nats-Service-Error-Code"));
        Assert.Equal($"{CountPath}: the caller cancelled the call.", Header(end, "Nats-Service-Error"));
        Assert.Equal((10 + afterCancel).ToString(System.Globalization.CultureInfo.InvariantCulture), Header(end, "Gs-Count"));
        Assert.Null(await stream.NextAsync(TimeSpan.FromSeconds(1.5), Timeout));
    }

    [Fact(Timeout = 30_000)]
    public async Task Stream_WhoseClientFallsSilent_IsDroppedWithoutAnEnd_AndLaterControlMessagesAreIgnored()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { MaxConcurrentStreams = 1 });
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 1_000_000, DelayMs = 10 }, Headers(window: 4096, heartbeatMs: 300), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        var opened = Stopwatch.GetTimestamp();

        // Silent from open on: more than 3 × H′ = 0.9 s, checked every H′.
        await mesh.Service.CountStopped.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
        Assert.InRange(Stopwatch.GetElapsedTime(opened), TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(5));

        // What was sent before the drop, and no end after it.
        for (var i = 0; i < 1000 && await stream.NextAsync(TimeSpan.FromMilliseconds(500), Timeout) is { } msg; i++)
        {
            Assert.Equal("data", KindOf(msg));
        }

        await stream.SendAsync("heartbeat", Timeout);
        await stream.SendAsync("credit", Timeout, credit: 10);
        await stream.SendAsync("cancel", Timeout);
        Assert.Null(await stream.NextAsync(TimeSpan.FromSeconds(1.5), Timeout));

        // The instance let the stream go: its one stream slot serves the next call.
        var received = new List<int>();
        await foreach (var item in mesh.Client.CountAsync(new CountRequest { Count = 2 }, cancellationToken: Timeout))
        {
            received.Add(item.N);
        }

        Assert.Equal([1, 2], received);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_WhoseHandlerFailsBeforeItsFirstMessage_SendsOpenThenAnErrorEnd()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 3, FailCode = 5, FailMessage = "world 'w-9' has no clock" }, Headers(window: 4, heartbeatMs: 1000), Timeout);

        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        var end = await stream.ExpectAsync(Soon, Timeout);

        Assert.Equal("end", KindOf(end));
        Assert.Equal("0", Header(end, "Gs-Count"));
        Assert.Equal("5", Header(end, "Nats-Service-Error-Code"));
        Assert.Equal("world 'w-9' has no clock", Header(end, "Nats-Service-Error"));
        Assert.Equal("application/protobuf; proto=google.rpc.Status", Header(end, "Content-Type"));
        var status = Google.Rpc.Status.Parser.ParseFrom(end.Data);
        Assert.Equal(5, status.Code);
        Assert.Equal("world 'w-9' has no clock", status.Message);
        Assert.Null(await stream.NextAsync(TimeSpan.FromMilliseconds(500), Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_WithAnExpiredTimeout_IsRefusedWithOneErrorReplyAndNeverOpens()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var headers = Headers(window: 4, heartbeatMs: 1000);
        headers["grpc-timeout"] = "0n";
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 3 }, headers, Timeout);

        var reply = await stream.ExpectAsync(Soon, Timeout);

        Assert.Equal("error", KindOf(reply));
        Assert.Null(Header(reply, "Gs-Count"));
        Assert.Equal("4", Header(reply, "Nats-Service-Error-Code"));
        Assert.Equal($"{CountPath}: the deadline had passed when the request arrived; it was not run.", Header(reply, "Nats-Service-Error"));
        Assert.Null(await stream.NextAsync(TimeSpan.FromMilliseconds(500), Timeout));
        Assert.False(mesh.Service.Started.Task.IsCompleted);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_WhoseDeadlinePassesWhileItRuns_OpensThenEndsWithDeadlineExceeded()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var headers = Headers(window: 4096, heartbeatMs: 1000);
        headers["grpc-timeout"] = "400m";
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 1000, DelayMs = 50 }, headers, Timeout);

        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));
        var data = 0;
        NatsMsg<byte[]> end = default;
        for (var i = 0; i < 1000; i++)
        {
            var msg = await stream.ExpectAsync(Soon, Timeout);
            if (KindOf(msg) == "data")
            {
                data++;
            }
            else if (KindOf(msg) == "end")
            {
                end = msg;
                break;
            }
        }

        Assert.Equal("end", KindOf(end));
        Assert.Equal("4", Header(end, "Nats-Service-Error-Code"));
        Assert.Equal($"{CountPath}: the deadline passed while the call ran.", Header(end, "Nats-Service-Error"));
        Assert.Equal(data.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(end, "Gs-Count"));
        Assert.InRange(data, 0, 999);
    }

    [Fact(Timeout = 20_000)]
    public async Task Stream_SuccessfulEnd_CarriesResponseHeadersAndTrailers_InEveryHeaderButGsStreamAndGsCount()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 1, Trailer = "t-1" }, Headers(window: 4, heartbeatMs: 1000), Timeout);

        var open = await stream.ExpectAsync(Soon, Timeout);
        var data = await stream.ExpectAsync(Soon, Timeout);
        var end = await stream.ExpectAsync(Soon, Timeout);

        Assert.Equal(["Gs-Control", "Gs-Heartbeat", "Gs-Stream", "Gs-Window"], open.Headers!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["Content-Type", "Gs-Seq"], data.Headers!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["Gs-Count", "Gs-Stream", "count-bin", "count-header", "count-trailer"], end.Headers!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("end", KindOf(end));
        Assert.Equal("t-1", Header(end, "count-header"));
        Assert.Equal("t-1", Header(end, "count-trailer"));
        Assert.Equal(Convert.ToBase64String("t-1"u8), Header(end, "count-bin"));
        Assert.True(end.Data is null or { Length: 0 });
    }

    internal static NatsHeaders Headers(int window, int heartbeatMs) => new()
    {
        ["Content-Type"] = "application/protobuf",
        ["Gs-Window"] = window.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Gs-Heartbeat"] = heartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task KeepAliveAsync(RawStream stream, TimeSpan every, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            do
            {
                await stream.SendAsync("heartbeat", cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<NatsMsg<byte[]>> NextDataAsync(RawStream stream)
    {
        for (var i = 0; i < 100; i++)
        {
            var msg = await stream.ExpectAsync(Soon, Timeout);
            if (KindOf(msg) == "data")
            {
                return msg;
            }

            Assert.Equal("heartbeat", KindOf(msg));
        }

        throw new InvalidOperationException("Only heartbeats arrived.");
    }

    private static async Task<List<NatsMsg<byte[]>>> CollectAsync(RawStream stream, TimeSpan during)
    {
        var messages = new List<NatsMsg<byte[]>>();
        var until = Stopwatch.GetTimestamp() + (long)(during.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; i < 10_000; i++)
        {
            var left = TimeSpan.FromSeconds((until - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            if (left <= TimeSpan.Zero || await stream.NextAsync(left, Timeout) is not { } msg)
            {
                break;
            }

            messages.Add(msg);
        }

        return messages;
    }
}
