using System.Diagnostics;
using Bogus;
using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

public sealed class UnaryTests(NatsServerFixture nats)
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261129) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 20_000)]
    public async Task Echo_ThroughGeneratedClientAndDispatcher_ReturnsTheResponse()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var text = Faker.Lorem.Sentence(12);

        var response = await mesh.Client.EchoAsync(new EchoRequest { Text = text }, cancellationToken: Timeout);

        Assert.Equal(text, response.Text);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Echo_WhileNatsIsAway_FailsDeadlineExceeded_AtItsDeadline_NotWhenNatsReturns(bool calledBefore)
    {
        // NATS.Net's publish on a connection that is down waits for the reconnect; the call's
        // deadline must still end it.
        await using var server = await NatsServerFixture.StartAsync();
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = $"nats://127.0.0.1:{server.Port}", Name = "probe-client" });
        await connection.ConnectAsync();
        await using var invoker = new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = "t" + Guid.NewGuid().ToString("N")[..10] });
        var client = new ProbeServiceClient(invoker);
        if (calledBefore)
        {
            // Its reply inbox exists: only the publish waits. Nobody serves the prefix.
            var unserved = await Assert.ThrowsAsync<RpcException>(async () => await client.EchoAsync(new EchoRequest { Text = "hello?" }, cancellationToken: Timeout));
            Assert.Equal(StatusCode.Unavailable, unserved.StatusCode);
        }

        await server.KillAsync();
        while (connection.ConnectionState == NatsConnectionState.Open)
        {
            await Task.Delay(10, Timeout);
        }

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.EchoAsync(new EchoRequest { Text = "anyone?" }, deadline: DateTime.UtcNow.AddMilliseconds(600), cancellationToken: Timeout));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("was never sent: the NATS connection was", error.Status.Detail, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
    }

    public static TheoryData<StatusCode> ErrorCodes => new(Enum.GetValues<StatusCode>().Where(c => c != StatusCode.OK));

    [Theory(Timeout = 20_000)]
    [MemberData(nameof(ErrorCodes))]
    public async Task Echo_WhenHandlerFails_TheStatusCodeAndMessageRoundTrip(StatusCode code)
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var message = $"{Faker.Hacker.Verb()} {Faker.Hacker.Noun()} failed: ünïcode ✓";

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { FailCode = (int)code, FailMessage = message }, cancellationToken: Timeout));

        Assert.Equal(code, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
    }

    [Fact(Timeout = 20_000)]
    public async Task Echo_WhenHandlerOutlivesTheDeadline_FailsDeadlineExceededAndCancelsTheHandler()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { DelayMs = 10_000 }, deadline: DateTime.UtcNow.AddMilliseconds(300), cancellationToken: Timeout));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal("deadline", await mesh.Service.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Echo_DeadlineTravelsToTheHandler()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var response = await mesh.Client.EchoAsync(new EchoRequest(), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: Timeout);

        Assert.InRange(response.DeadlineRemainingMs, 1, 3000);
    }

    [Fact(Timeout = 20_000)]
    public async Task Echo_WithoutCallerDeadline_UsesTheContractsDefaultTimeout()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var response = await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout);

        // mesh_test.proto sets (gamesystem.mesh.v1.method).default_timeout = 5 s on Echo.
        Assert.InRange(response.DeadlineRemainingMs, 3000, 5000);
    }

    [Fact(Timeout = 20_000)]
    public async Task Request_ThatArrivesAlreadyExpired_IsNotRun()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var headers = new NatsHeaders { ["grpc-timeout"] = "0n" };

        var reply = await mesh.ClientConnection.RequestAsync<byte[], byte[]>(mesh.SubjectOf("Echo"), new EchoRequest { Text = "x" }.ToByteArray(), headers, cancellationToken: Timeout);

        Assert.Equal(((int)StatusCode.DeadlineExceeded).ToString(System.Globalization.CultureInfo.InvariantCulture), reply.Headers?["Nats-Service-Error-Code"].ToString());
        Assert.Equal(0, mesh.Service.Calls);
    }

    [Fact(Timeout = 20_000)]
    public async Task Echo_WhenTheCallerCancels_FailsCancelledAndTheHandlerIsCancelled()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Timeout);

        var call = mesh.Client.EchoAsync(new EchoRequest { DelayMs = 10_000 }, cancellationToken: cts.Token).AsTask();
        await mesh.Service.Started.Task.WaitAsync(Timeout);
        await cts.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal("cancelled", await mesh.Service.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Metadata_TravelsToTheServerAndBack()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var binary = Faker.Random.Bytes(16);
        var player = Faker.Internet.UserName();
        var headers = new Metadata { { "x-player", player }, { "x-blob-bin", binary } };

        var response = await mesh.Client.EchoWithMetadataAsync(new EchoRequest { Trailer = "from-server" }, new CallOptions(headers, cancellationToken: Timeout));

        Assert.Contains($"x-player={player}", response.Message.Metadata);
        Assert.Contains($"x-blob-bin={Convert.ToBase64String(binary)}", response.Message.Metadata);
        Assert.Equal("from-server", response.Trailers.GetValue("echo-trailer"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Metadata_WithAReservedKey_IsRejectedBeforeSending()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest(), new Metadata { { "grpc-timeout", "1S" } }, cancellationToken: Timeout));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(0, mesh.Service.Calls);
    }

    [Fact(Timeout = 20_000)]
    public async Task MalformedPayload_IsInvalidArgumentAndTheServiceKeepsServing()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var reply = await mesh.ClientConnection.RequestAsync<byte[], byte[]>(mesh.SubjectOf("Echo"), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], cancellationToken: Timeout);

        Assert.Equal("3", reply.Headers?["Nats-Service-Error-Code"].ToString());
        Assert.Contains("gamesystem.meshtest.v1.EchoRequest", reply.Headers?["Nats-Service-Error"].ToString(), StringComparison.Ordinal);
        var status = Google.Rpc.Status.Parser.ParseFrom(reply.Data);
        Assert.Equal((int)StatusCode.InvalidArgument, status.Code);
        Assert.Equal("ok", (await mesh.Client.EchoAsync(new EchoRequest { Text = "ok" }, cancellationToken: Timeout)).Text);
    }

    [Fact(Timeout = 20_000)]
    public async Task Request_WithAHeaderThatIsNotValidMetadata_IsInvalidArgument()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var reply = await mesh.ClientConnection.RequestAsync<byte[], byte[]>(mesh.SubjectOf("Echo"), [], new NatsHeaders { ["x@player"] = "1" }, cancellationToken: Timeout);

        Assert.Equal("3", reply.Headers?["Nats-Service-Error-Code"].ToString());
        Assert.Equal(0, mesh.Service.Calls);
    }

    [Fact(Timeout = 20_000)]
    public async Task Request_WithAVeryLongTimeout_RunsAsIfItHadNoDeadline()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var reply = await mesh.ClientConnection.RequestAsync<byte[], byte[]>(mesh.SubjectOf("Echo"), new EchoRequest { Text = "ok" }.ToByteArray(), new NatsHeaders { ["grpc-timeout"] = "99999999H" }, cancellationToken: Timeout);

        Assert.False(reply.Headers?.ContainsKey("Nats-Service-Error-Code") ?? false);
        Assert.Equal(-1, EchoResponse.Parser.ParseFrom(reply.Data).DeadlineRemainingMs);
    }

    [Fact(Timeout = 20_000)]
    public async Task Trailer_WithAReservedKey_IsDroppedAndTheReplyStillArrives()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { Interceptors = [new ReservedTrailerInterceptor()] });

        var response = await mesh.Client.EchoWithMetadataAsync(new EchoRequest { Text = "ok" }, new CallOptions(cancellationToken: Timeout));

        Assert.Equal("ok", response.Message.Text);
        Assert.Null(response.Trailers.Get("grpc-timeout"));
        Assert.Equal("kept", response.Trailers.GetValue("x-kept"));
    }

    [Fact(Timeout = 20_000)]
    public async Task Service_WithoutAnImplementation_AnswersUnimplementedForEveryMethod()
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        await using var serverConnection = await nats.ConnectAsync();
        await using var clientConnection = await nats.ConnectAsync();
        await using var server = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix });
        server.AddService(MeshServiceDefinition.Unimplemented(ProbeService.Descriptor));
        await server.StartAsync(Timeout);
        var client = new ProbeServiceClient(new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix }));

        var unary = await Assert.ThrowsAsync<RpcException>(async () => await client.EchoAsync(new EchoRequest(), cancellationToken: Timeout));
        var stream = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var unused in client.CountAsync(new CountRequest { Count = 1 }, cancellationToken: Timeout))
            {
            }
        });

        Assert.Equal(StatusCode.Unimplemented, unary.StatusCode);
        Assert.Contains("not implemented", unary.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unimplemented, stream.StatusCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task UnknownMethod_OfAKnownService_IsUnimplemented()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var reply = await mesh.ClientConnection.RequestAsync<byte[], byte[]>(mesh.SubjectOf("Teleport"), [], cancellationToken: Timeout);

        Assert.Equal("12", reply.Headers?["Nats-Service-Error-Code"].ToString());
        Assert.Contains("no method 'Teleport'", reply.Headers?["Nats-Service-Error"].ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task Call_WithNoInstanceServing_IsUnavailable()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task MissingRequiredField_IsInvalidArgumentNamingTheField()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.LookupAsync(new LookupRequest(), cancellationToken: Timeout));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var badRequest = error.GetRpcStatus().Details.Single().Unpack<Google.Rpc.BadRequest>();
        Assert.Equal("id", badRequest.FieldViolations.Single().Field);
    }

    [Fact(Timeout = 20_000)]
    public async Task UnexpectedException_IsInternalAndDoesNotLeakItsMessage()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { Crash = true }, cancellationToken: Timeout));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("hunter2", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("error id", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task Request_LargerThanTheServiceLimit_IsResourceExhaustedWithoutRunning()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { MaxRequestBytes = 1024 });

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { Padding = ByteString.CopyFrom(Faker.Random.Bytes(4096)) }, cancellationToken: Timeout));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("at most 1024", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, mesh.Service.Calls);
    }

    [Fact(Timeout = 20_000)]
    public async Task Request_LargerThanNatsMaxPayload_IsResourceExhausted()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { Padding = ByteString.CopyFrom(new byte[NatsServerFixture.MaxPayload + 1]) }, cancellationToken: Timeout));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact(Timeout = 20_000)]
    public async Task Response_LargerThanNatsMaxPayload_IsResourceExhausted()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { ResponsePadding = NatsServerFixture.MaxPayload + 1 }, cancellationToken: Timeout));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("still serving", (await mesh.Client.EchoAsync(new EchoRequest { Text = "still serving" }, cancellationToken: Timeout)).Text);
    }

    [Fact(Timeout = 30_000)]
    public async Task SlowCalls_InParallel_RunConcurrentlyNotOneAfterAnother()
    {
        const int calls = 64;
        const int handlerMs = 500;
        await using var mesh = await MeshHarness.StartAsync(nats);

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, calls).Select(_ =>
            mesh.Client.EchoAsync(new EchoRequest { DelayMs = handlerMs }, cancellationToken: Timeout).AsTask()));
        clock.Stop();

        // Serial handling would take calls * handlerMs = 32 s; concurrent handling about one handler time.
        Assert.Equal(calls, mesh.Service.MaxRunning);
        Assert.True(clock.ElapsedMilliseconds < calls * handlerMs / 4, $"took {clock.ElapsedMilliseconds} ms");
    }

    [Fact(Timeout = 60_000)]
    public async Task ThousandsOfCallsInFlight_AllGetTheirOwnReply()
    {
        // More calls in flight than the client's reply ring has slots, so some replies are
        // matched through its overflow table.
        const int calls = 5000;
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { MaxConcurrentCalls = calls });

        var responses = await Task.WhenAll(Enumerable.Range(0, calls).Select(i =>
            mesh.Client.EchoAsync(new EchoRequest { Text = $"call {i}", DelayMs = 500 }, cancellationToken: Timeout).AsTask()));

        Assert.Equal(Enumerable.Range(0, calls).Select(i => $"call {i}"), responses.Select(r => r.Text));
    }

    [Fact(Timeout = 30_000)]
    public async Task Overload_BeyondTheConcurrencyLimit_IsShedWithResourceExhausted()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { MaxConcurrentCalls = 4 });

        var results = await Task.WhenAll(Enumerable.Range(0, 24).Select(async _ =>
        {
            try
            {
                await mesh.Client.EchoAsync(new EchoRequest { DelayMs = 1000 }, cancellationToken: Timeout);
                return StatusCode.OK;
            }
            catch (RpcException ex)
            {
                return ex.StatusCode;
            }
        }));

        Assert.All(results, code => Assert.True(code is StatusCode.OK or StatusCode.ResourceExhausted, code.ToString()));
        Assert.Contains(StatusCode.ResourceExhausted, results);
        Assert.Equal(4, results.Count(c => c == StatusCode.OK));
        Assert.Equal(4, mesh.Service.MaxRunning);
    }

    [Fact(Timeout = 20_000)]
    public async Task Interceptors_RunInOrderOnBothSides()
    {
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var mesh = await MeshHarness.StartAsync(
            nats,
            server: o => o with { Interceptors = [new RecordingServerInterceptor("s1", log), new RecordingServerInterceptor("s2", log)] },
            client: o => o with { Interceptors = [new HeaderClientInterceptor("c1", log), new HeaderClientInterceptor("c2", log)] });

        var response = await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout);

        Assert.Equal(["c1", "c2", "s1", "s2"], log);
        Assert.Contains("x-via=c1,c2", response.Metadata);
    }

    [Fact(Timeout = 20_000)]
    public async Task ServerInterceptor_CanRejectACall()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, server: o => o with { Interceptors = [new DenyingServerInterceptor()] });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(0, mesh.Service.Calls);
    }

    [Fact(Timeout = 20_000)]
    public async Task TraceContext_IsPropagatedToTheServer()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == MeshTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var mesh = await MeshHarness.StartAsync(nats);
        using var parent = new Activity("game-frame").SetIdFormat(ActivityIdFormat.W3C).Start();

        var response = await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout);

        Assert.Equal(parent.TraceId.ToHexString(), response.TraceId);
    }

    [Fact(Timeout = 30_000)]
    public async Task GracefulStop_LetsCallsInFlightFinish()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        var calls = Enumerable.Range(0, 10).Select(i =>
            mesh.Client.EchoAsync(new EchoRequest { Text = $"call {i}", DelayMs = 800 }, cancellationToken: Timeout).AsTask()).ToArray();
        await mesh.Service.Started.Task.WaitAsync(Timeout);
        await Task.Delay(100, Timeout);

        await mesh.Server.StopAsync(Timeout);

        var responses = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"call {i}"), responses.Select(r => r.Text));
        var after = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout));
        Assert.Equal(StatusCode.Unavailable, after.StatusCode);
    }

    private sealed class HeaderClientInterceptor(string name, System.Collections.Concurrent.ConcurrentQueue<string> log) : MeshClientInterceptor
    {
        public override ValueTask<MeshResponse<TResponse>> UnaryAsync<TRequest, TResponse>(TRequest request, MeshClientCall<TRequest, TResponse> clientCall, MeshUnaryContinuation<TRequest, TResponse> continuation)
        {
            log.Enqueue(name);
            var headers = clientCall.Options.Headers ?? [];
            var via = headers.Get("x-via");
            if (via is not null)
            {
                headers.Remove(via);
            }

            headers.Add("x-via", via is null ? name : $"{via.Value},{name}");
            return continuation(request, clientCall with { Options = clientCall.Options.WithHeaders(headers) });
        }
    }

    private sealed class RecordingServerInterceptor(string name, System.Collections.Concurrent.ConcurrentQueue<string> log) : MeshServerInterceptor
    {
        public override ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, MeshUnaryHandler<TRequest, TResponse> continuation)
        {
            log.Enqueue(name);
            return continuation(request, context);
        }
    }

    private sealed class ReservedTrailerInterceptor : MeshServerInterceptor
    {
        public override ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, MeshUnaryHandler<TRequest, TResponse> continuation)
        {
            context.ResponseTrailers.Add("grpc-timeout", "1S");
            context.ResponseTrailers.Add("x-kept", "kept");
            return continuation(request, context);
        }
    }

    private sealed class DenyingServerInterceptor : MeshServerInterceptor
    {
        public override ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, MeshUnaryHandler<TRequest, TResponse> continuation) =>
            throw new RpcException(new Status(StatusCode.PermissionDenied, "no token"));
    }
}
