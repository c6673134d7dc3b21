using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Bogus;
using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Tests;

/// <summary>The client's Polly pipeline per target service: retries (gRFC A6), hedging, the circuit breaker.</summary>
public sealed class ResilienceTests(NatsServerFixture nats)
{
    private const string Service = "gamesystem.meshtest.v1.ProbeService";

    private static readonly Faker Faker = new() { Random = new Randomizer(20261203) };

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    // A breaker that opens after 4 calls at half failures, with retries off so each call is one attempt.
    private static MeshClientOptions Tripping(MeshClientOptions options, TimeProvider time) => options with
    {
        TimeProvider = time,
        Resilience = options.Resilience with
        {
            Retry = options.Resilience.Retry with { MaxRetryAttempts = 0 },
            CircuitBreaker = options.Resilience.CircuitBreaker with { MinimumThroughput = 4, FailureRatio = 0.5, BreakDuration = TimeSpan.FromSeconds(5), SamplingDuration = TimeSpan.FromSeconds(30) },
        },
    };

    [Fact(Timeout = 20_000)]
    public async Task Breaker_WhenTheDependencyStartsFailing_OpensAndCallsFailFastWithoutReachingIt()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => Tripping(o, time));
        await mesh.Client.EchoAsync(new EchoRequest { Text = Faker.Lorem.Word() }, cancellationToken: Timeout);
        for (var i = 0; i < 3; i++)
        {
            var failure = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest { FailCode = (int)StatusCode.Unavailable, FailMessage = "overloaded" }, cancellationToken: Timeout));
            Assert.Equal("overloaded", failure.Status.Detail);
        }

        var served = Volatile.Read(ref mesh.Service.Calls);
        Assert.Equal(MeshCircuitState.Open, mesh.Invoker.CircuitStateOf(Service));

        // Every method of the service fails fast, and none reaches an instance.
        var started = Stopwatch.GetTimestamp();
        var echo = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest { Text = "x" }, cancellationToken: Timeout));
        var append = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.AppendAsync(new AppendRequest(), cancellationToken: Timeout));

        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromMilliseconds(500));
        foreach (var error in new[] { echo, append })
        {
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.Equal($"circuit open for {Service}", error.Status.Detail);
        }

        Assert.Equal(served, Volatile.Read(ref mesh.Service.Calls));
    }

    [Fact(Timeout = 20_000)]
    public async Task Breaker_WhenTheDependencyRecovers_AHalfOpenProbeClosesIt_AndAFailedProbeOpensItAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => Tripping(o, time));
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest { FailCode = (int)StatusCode.Internal }, cancellationToken: Timeout));
        }

        Assert.Equal(MeshCircuitState.Open, mesh.Invoker.CircuitStateOf(Service));
        Assert.Equal(2, BreakerGauge(mesh.Invoker));

        // The break ends: the next call is a probe. It fails, and the circuit opens again.
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(MeshCircuitState.HalfOpen, mesh.Invoker.CircuitStateOf(Service));
        var calls = Volatile.Read(ref mesh.Service.Calls);
        var probe = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest { FailCode = (int)StatusCode.Unavailable, FailMessage = "still down" }, cancellationToken: Timeout));
        Assert.Equal("still down", probe.Status.Detail);
        Assert.Equal(calls + 1, Volatile.Read(ref mesh.Service.Calls));
        Assert.Equal(MeshCircuitState.Open, mesh.Invoker.CircuitStateOf(Service));
        var fast = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout));
        Assert.Equal($"circuit open for {Service}", fast.Status.Detail);

        // The dependency is back: the next probe succeeds and calls flow again.
        time.Advance(TimeSpan.FromSeconds(5));
        var text = Faker.Lorem.Sentence();
        Assert.Equal(text, (await mesh.Client.EchoAsync(new EchoRequest { Text = text }, cancellationToken: Timeout)).Text);
        Assert.Equal(MeshCircuitState.Closed, mesh.Invoker.CircuitStateOf(Service));
        Assert.Equal(1, (await mesh.Client.AppendAsync(new AppendRequest(), cancellationToken: Timeout)).Count);
    }

    [Fact(Timeout = 20_000)]
    public async Task Breaker_IgnoresStatusesThatSayNothingAboutTheDependencysHealth()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => Tripping(o, time));

        foreach (var code in new[] { StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.FailedPrecondition, StatusCode.PermissionDenied, StatusCode.ResourceExhausted, StatusCode.Aborted })
        {
            await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest { FailCode = (int)code }, cancellationToken: Timeout));
        }

        Assert.Equal(MeshCircuitState.Closed, mesh.Invoker.CircuitStateOf(Service));
    }

    [Fact(Timeout = 20_000)]
    public async Task RetrySafeCall_WhenNoInstanceServesYet_SucceedsOnceOneStarts()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false,
            client: o => o with { MaxRetryAttempts = 10, RetryBackoff = TimeSpan.FromMilliseconds(20) });

        var call = mesh.Client.EchoAsync(new EchoRequest { Text = "late" }, cancellationToken: Timeout).AsTask();
        await Task.Delay(100, Timeout);
        await mesh.Server.StartAsync(Timeout);

        Assert.Equal("late", (await call).Text);
        Assert.Equal(1, mesh.Service.Calls);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("Echo", 3)]
    [InlineData("Lookup", 3)]
    [InlineData("Append", 1)]
    public async Task Unavailable_IsRetriedOnlyForMethodsTheContractMarksRetrySafe(string method, int expectedAttempts)
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with { MaxRetryAttempts = 2, RetryBackoff = TimeSpan.FromMilliseconds(10) });
        await using var instance = await StandIn.StartAsync(mesh, method, _ => Reply.Fail(StatusCode.Unavailable, "stopping"));

        var error = await Assert.ThrowsAsync<RpcException>(() => CallAsync(mesh, method));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(expectedAttempts, instance.Attempts.Count);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.ResourceExhausted)]
    [InlineData(StatusCode.Internal)]
    public async Task NonIdempotentMethod_IsNeverRetried_EvenWithEveryStatusRetryable(StatusCode code)
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with
        {
            Resilience = o.Resilience with
            {
                Retry = o.Resilience.Retry with { MaxRetryAttempts = 5, InitialBackoff = TimeSpan.FromMilliseconds(5), RetryableStatusCodes = [StatusCode.Unavailable, StatusCode.ResourceExhausted, StatusCode.Internal] },
                Hedging = o.Resilience.Hedging with { Enabled = true, Delay = TimeSpan.Zero },
            },
        });
        await using var instance = await StandIn.StartAsync(mesh, "Append", _ => Reply.Fail(code, "refused"));

        var error = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.AppendAsync(new AppendRequest { Text = Faker.Lorem.Word() }, cancellationToken: Timeout));

        Assert.Equal(code, error.StatusCode);
        await Task.Delay(100, Timeout);
        Assert.Single(instance.Attempts);
    }

    [Fact(Timeout = 20_000)]
    public async Task Retries_NeverOutlastTheDeadline()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with
        {
            Resilience = o.Resilience with { Retry = o.Resilience.Retry with { MaxRetryAttempts = 10, InitialBackoff = TimeSpan.FromMilliseconds(150), MaxBackoff = TimeSpan.FromMilliseconds(150), BackoffMultiplier = 1 } },
        });
        // A fixed schedule (the server's pushback), not the jittered backoff: attempts at 0, 180, 360
        // and 540 ms; a fifth would start at 720, past the deadline, so the client stops at the
        // fourth's answer. With jitter a last attempt may start 1 ms before the deadline and, on a
        // loaded machine, rightly end DEADLINE_EXCEEDED, which made this test flaky.
        await using var instance = await StandIn.StartAsync(mesh, "Lookup", _ => Reply.Fail(StatusCode.Unavailable, "stopping", pushback: "180"));
        var deadline = TimeSpan.FromMilliseconds(600);

        var started = Stopwatch.GetTimestamp();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.LookupAsync(new LookupRequest { Id = Faker.Random.Hash(8) }, deadline: DateTime.UtcNow + deadline, cancellationToken: Timeout));
        var took = Stopwatch.GetElapsedTime(started);

        // The last real failure, not a DEADLINE_EXCEEDED after waiting out the deadline.
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.True(took < deadline, $"took {took.TotalMilliseconds} ms");
        Assert.InRange(instance.Attempts.Count, 2, 10);
    }

    [Fact(Timeout = 20_000)]
    public async Task Pushback_LongerThanTheDeadlineLeft_IsNotWaitedFor()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false);
        await using var instance = await StandIn.StartAsync(mesh, "Lookup", _ => Reply.Fail(StatusCode.Unavailable, "busy", pushback: "10000"));

        var started = Stopwatch.GetTimestamp();
        await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.LookupAsync(new LookupRequest { Id = "x" }, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: Timeout));

        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1));
        Assert.Single(instance.Attempts);
    }

    [Fact(Timeout = 20_000)]
    public async Task RetriedAttempts_TellTheServerHowManyCameBefore()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with { MaxRetryAttempts = 3, RetryBackoff = TimeSpan.FromMilliseconds(5) });
        using var retries = new CounterRecorder("gamesystem.mesh.client.retries");
        await using var instance = await StandIn.StartAsync(mesh, "Echo", attempt => attempt < 2 ? Reply.Fail(StatusCode.Unavailable, "stopping") : Reply.Ok(new EchoResponse { Text = "third" }));

        var response = await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout);

        Assert.Equal("third", response.Text);
        Assert.Equal([null, "1", "2"], instance.Attempts.Select(a => a.PreviousAttempts));
        Assert.True(retries.Sum(Service, "Echo") >= 2);
    }

    [Fact(Timeout = 20_000)]
    public async Task RetriedAttempt_ReachesTheHandlerWithGrpcPreviousRpcAttemptsInItsMetadata()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, client: o => o with { MaxRetryAttempts = 1, RetryBackoff = TimeSpan.FromMilliseconds(5) });

        // A stand-in on the same subject, outside the queue group, answers the first attempt
        // UNAVAILABLE before the handler (which takes 200 ms) can; the retry only the handler answers.
        await using var stopping = await StandIn.StartAsync(mesh, "Echo", attempt => attempt == 0 ? Reply.Fail(StatusCode.Unavailable, "stopping") : Reply.None);
        var response = await mesh.Client.EchoAsync(new EchoRequest { Text = "again", DelayMs = 200 }, cancellationToken: Timeout);

        Assert.Equal("again", response.Text);
        Assert.Contains("grpc-previous-rpc-attempts=1", response.Metadata);
    }

    [Fact(Timeout = 20_000)]
    public async Task Pushback_FromTheServer_SetsTheRetryDelay()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with { MaxRetryAttempts = 2, RetryBackoff = TimeSpan.FromMilliseconds(1) });
        await using var instance = await StandIn.StartAsync(mesh, "Echo", attempt => attempt == 0 ? Reply.Fail(StatusCode.Unavailable, "restarting", pushback: "400") : Reply.Ok(new EchoResponse { Text = "back" }));

        var response = await mesh.Client.EchoAsync(new EchoRequest(), deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: Timeout);

        Assert.Equal("back", response.Text);
        var (first, retry) = (instance.Attempts[0], instance.Attempts[1]);
        Assert.True(retry.At - first.At >= TimeSpan.FromMilliseconds(380), $"retried after {(retry.At - first.At).TotalMilliseconds} ms");

        // The retry carries what is left of the deadline, not the whole of it again.
        Assert.InRange(first.Timeout, TimeSpan.FromSeconds(2.8), TimeSpan.FromSeconds(3));
        Assert.InRange(retry.Timeout, TimeSpan.FromSeconds(1), first.Timeout - TimeSpan.FromMilliseconds(380));
    }

    [Theory(Timeout = 20_000)]
    [InlineData("-1")]
    [InlineData("soon")]
    public async Task Pushback_NegativeOrMalformed_MeansDoNotRetry(string pushback)
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with { MaxRetryAttempts = 3, RetryBackoff = TimeSpan.FromMilliseconds(1) });
        await using var instance = await StandIn.StartAsync(mesh, "Echo", _ => Reply.Fail(StatusCode.Unavailable, "go away", pushback));

        var error = await Assert.ThrowsAsync<RpcException>(async () => await mesh.Client.EchoAsync(new EchoRequest(), cancellationToken: Timeout));

        Assert.Equal(pushback, error.Trailers.GetValue("grpc-retry-pushback-ms"));
        await Task.Delay(100, Timeout);
        Assert.Single(instance.Attempts);
    }

    [Fact(Timeout = 20_000)]
    public async Task Shedding_PushesBack_SoAClientThatRetriesResourceExhaustedGetsThrough()
    {
        var retrying = MeshRetryOptions.Default with { MaxRetryAttempts = 10, RetryableStatusCodes = [StatusCode.Unavailable, StatusCode.ResourceExhausted] };
        await using var mesh = await MeshHarness.StartAsync(nats,
            server: o => o with { MaxConcurrentCalls = 1, ShedRetryPushback = TimeSpan.FromMilliseconds(100) },
            client: o => o with { ServiceResilience = o.ServiceResilience.Add(Service, o.Resilience with { Retry = retrying }) });
        await using var plainConnection = await nats.ConnectAsync("plain-client");
        await using var plain = new NatsMeshClient(plainConnection, MeshClientOptions.Default with { SubjectPrefix = mesh.Prefix });

        var busy = mesh.Client.EchoAsync(new EchoRequest { DelayMs = 500 }, cancellationToken: Timeout).AsTask();
        await mesh.Service.Started.Task.WaitAsync(Timeout);
        var shed = await Assert.ThrowsAsync<RpcException>(async () => await new ProbeServiceClient(plain).EchoAsync(new EchoRequest(), cancellationToken: Timeout));
        var patient = await mesh.Client.EchoAsync(new EchoRequest { Text = "waited" }, cancellationToken: Timeout);

        Assert.Equal(StatusCode.ResourceExhausted, shed.StatusCode);
        Assert.Equal("100", shed.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.Equal("waited", patient.Text);
        await busy;
    }

    [Fact(Timeout = 20_000)]
    public async Task RequestTooLarge_PushesBackNever_SoItIsNotRetried()
    {
        await using var mesh = await MeshHarness.StartAsync(nats,
            server: o => o with { MaxRequestBytes = 1024 },
            client: o => o with { Resilience = o.Resilience with { Retry = o.Resilience.Retry with { RetryableStatusCodes = [StatusCode.ResourceExhausted] } } });

        var started = Stopwatch.GetTimestamp();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await mesh.Client.EchoAsync(new EchoRequest { Padding = Google.Protobuf.ByteString.CopyFrom(Faker.Random.Bytes(4096)) }, cancellationToken: Timeout));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("-1", error.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromMilliseconds(500));
    }

    [Fact(Timeout = 20_000)]
    public async Task Hedging_SendsASecondAttempt_WhenTheFirstIsSlow_AndTakesTheFirstAnswer()
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with
        {
            Resilience = o.Resilience with { Hedging = new MeshHedgingOptions { Enabled = true, Delay = TimeSpan.FromMilliseconds(100) } },
        });

        // The first attempt reaches an instance that hangs; the hedged one is answered.
        await using var instance = await StandIn.StartAsync(mesh, "Echo", attempt => attempt == 0 ? Reply.None : Reply.Ok(new EchoResponse { Text = "hedged" }));
        var started = Stopwatch.GetTimestamp();
        var response = await mesh.Client.EchoAsync(new EchoRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: Timeout);

        Assert.Equal("hedged", response.Text);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(2));
        Assert.Equal([null, "1"], instance.Attempts.Select(a => a.PreviousAttempts));
    }

    [Theory(Timeout = 20_000)]
    [InlineData("Lookup")]
    [InlineData("Append")]
    public async Task Hedging_LeavesMethodsWithSideEffectsOrIdempotentOnlyAlone(string method)
    {
        await using var mesh = await MeshHarness.StartAsync(nats, serve: false, client: o => o with
        {
            Resilience = o.Resilience with { Hedging = new MeshHedgingOptions { Enabled = true, Delay = TimeSpan.FromMilliseconds(50) } },
        });
        await using var instance = await StandIn.StartAsync(mesh, method, _ => Reply.None);

        var error = await Assert.ThrowsAsync<RpcException>(() => CallAsync(mesh, method, DateTime.UtcNow.AddMilliseconds(500)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Single(instance.Attempts);
    }

    [Fact(Timeout = 20_000)]
    public async Task InvalidResilienceOptions_AreRefusedByTheClient()
    {
        await using var connection = new NatsConnection();
        var bad = MeshClientOptions.Default with
        {
            ServiceResilience = ImmutableDictionaryOf(Service, MeshResilienceOptions.Default with { CircuitBreaker = MeshCircuitBreakerOptions.Default with { FailureRatio = 1.5 } }),
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new NatsMeshClient(connection, bad));

        Assert.Contains($"ServiceResilience[{Service}]: CircuitBreaker.FailureRatio", error.Message, StringComparison.Ordinal);
    }

    private static System.Collections.Immutable.ImmutableDictionary<string, MeshResilienceOptions> ImmutableDictionaryOf(string key, MeshResilienceOptions value) =>
        System.Collections.Immutable.ImmutableDictionary<string, MeshResilienceOptions>.Empty.Add(key, value);

    private static Task CallAsync(MeshHarness mesh, string method, DateTime? deadline = null) => method switch
    {
        "Echo" => mesh.Client.EchoAsync(new EchoRequest(), deadline: deadline, cancellationToken: Timeout).AsTask(),
        "Lookup" => mesh.Client.LookupAsync(new LookupRequest { Id = "x" }, deadline: deadline, cancellationToken: Timeout).AsTask(),
        _ => mesh.Client.AppendAsync(new AppendRequest(), deadline: deadline, cancellationToken: Timeout).AsTask(),
    };

    private static int BreakerGauge(NatsMeshClient client)
    {
        var states = new ConcurrentDictionary<string, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MeshTelemetry.MeterName && instrument.Name == "gamesystem.mesh.client.breaker.state")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "rpc.service" && tag.Value is string service)
                {
                    states[service] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        GC.KeepAlive(client);
        return states.GetValueOrDefault(Service, -1);
    }

    /// <summary>Sums a counter's measurements by service and method while it lives.</summary>
    private sealed class CounterRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<(string, string), long> _sums = new();

        public CounterRecorder(string name)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MeshTelemetry.MeterName && instrument.Name == name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? service = null, method = null;
                foreach (var tag in tags)
                {
                    service = tag.Key == "rpc.service" ? tag.Value as string : service;
                    method = tag.Key == "rpc.method" ? tag.Value as string : method;
                }

                _sums.AddOrUpdate((service ?? "", method ?? ""), value, (_, sum) => sum + value);
            });
            _listener.Start();
        }

        public long Sum(string service, string method) => _sums.GetValueOrDefault((service, method));

        public void Dispose() => _listener.Dispose();
    }

    private sealed record Reply(StatusCode Code, string Message, string? Pushback, EchoResponse? Response)
    {
        public static Reply None { get; } = new(StatusCode.OK, "", null, null);

        public static Reply Fail(StatusCode code, string message, string? pushback = null) => new(code, message, pushback, null);

        public static Reply Ok(EchoResponse response) => new(StatusCode.OK, "", null, response);
    }

    /// <summary>
    /// A raw NATS subscriber on one method's subject, outside the servers' queue group: it sees
    /// every attempt, records when it came and its <c>grpc-previous-rpc-attempts</c>, and answers
    /// as told (or not at all).
    /// </summary>
    private sealed class StandIn : IAsyncDisposable
    {
        private readonly INatsSub<byte[]> _subscription;
        private readonly Task _answering;
        private readonly List<(DateTime At, string? PreviousAttempts, TimeSpan Timeout)> _attempts = [];

        private StandIn(INatsSub<byte[]> subscription, Func<int, Reply> answer)
        {
            _subscription = subscription;
            _answering = Task.Run(async () =>
            {
                await foreach (var msg in subscription.Msgs.ReadAllAsync(Timeout))
                {
                    int attempt;
                    lock (_attempts)
                    {
                        attempt = _attempts.Count;
                        var timeout = msg.Headers?.TryGetValue("grpc-timeout", out var sent) == true && Internal.GrpcTimeout.TryParse(sent.ToString(), out var parsed) ? parsed : TimeSpan.Zero;
                        _attempts.Add((DateTime.UtcNow, msg.Headers?.TryGetValue("grpc-previous-rpc-attempts", out var value) == true ? value.ToString() : null, timeout));
                    }

                    var reply = answer(attempt);
                    if (reply.Response is { } response)
                    {
                        await msg.ReplyAsync(Google.Protobuf.MessageExtensions.ToByteArray(response), cancellationToken: Timeout);
                    }
                    else if (reply.Code != StatusCode.OK)
                    {
                        var headers = new NatsHeaders { ["Nats-Service-Error-Code"] = ((int)reply.Code).ToString(System.Globalization.CultureInfo.InvariantCulture), ["Nats-Service-Error"] = reply.Message };
                        if (reply.Pushback is { } pushback)
                        {
                            headers["grpc-retry-pushback-ms"] = pushback;
                        }

                        await msg.ReplyAsync<byte[]>([], headers, cancellationToken: Timeout);
                    }
                }
            }, Timeout);
        }

        public IReadOnlyList<(DateTime At, string? PreviousAttempts, TimeSpan Timeout)> Attempts
        {
            get
            {
                lock (_attempts)
                {
                    return [.. _attempts];
                }
            }
        }

        public static async Task<StandIn> StartAsync(MeshHarness mesh, string method, Func<int, Reply> answer)
        {
            var subscription = await mesh.ServerConnection.SubscribeCoreAsync<byte[]>(mesh.SubjectOf(method), cancellationToken: Timeout);
            await mesh.ServerConnection.PingAsync(Timeout);
            return new StandIn(subscription, answer);
        }

        public async ValueTask DisposeAsync()
        {
            await _subscription.DisposeAsync();
            await _answering.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
