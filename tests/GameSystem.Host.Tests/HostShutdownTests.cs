using System.Collections.Concurrent;
using Bogus;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StackExchange.Redis;

namespace GameSystem.Host.Tests;

/// <summary>
/// SIGTERM stops the real host gracefully: it stops taking calls, answers every call it
/// took, ends open streams with a status, and exits 0.
/// </summary>
public sealed class HostShutdownTests(NatsServerFixture nats, RedisServerFixture redis)
{
    private const string Service = "gamesystem.time_manager.v1.TimeManagerService";
    private const int Seed = 20261130;
    private const int Loops = 32;
    private const int CallsBeforeSigterm = 1_500;
    private const int MaxCallsPerLoop = 20_000;
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    // Longer than the Redis pause below, so a call held by the pause is not failed by its own deadline.
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(5);
    private const int RedisPauseMilliseconds = 1_000;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Sigterm_UnderLoad_AnswersEveryCallItTook_ThenExitsZero()
    {
        var prefix = MeshCaller.NewPrefix();

        // Redis keeps what the handlers wrote after the host is gone: the record of which calls ran.
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Store:Redis", redis.ConnectionString);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        await using var redisAdmin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var outcomes = new ConcurrentQueue<Outcome>();
        var enoughAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = 0;
        var issued = 0;

        // Even loops create a clock per call: writes, which the Redis pause below holds inside
        // their handlers. Odd loops send probes the host answers without the store (GetClock
        // without a world id: INVALID_ARGUMENT), so requests keep arriving during the pause
        // and are on their way to the host when it stops taking calls.
        async Task LoopAsync(int loop)
        {
            var faker = new Faker { Random = new Randomizer(Seed + loop) };
            var probes = loop % 2 == 1;
            for (var i = 0; i < MaxCallsPerLoop; i++)
            {
                var create = probes ? null : NewCreate(faker, $"{prefix}.{loop}.{i}");
                Interlocked.Increment(ref issued);
                var deadline = DateTime.UtcNow + CallDeadline;
                try
                {
                    var clock = create is null
                        ? (await caller.TimeManager.GetClockAsync(new GetClockRequest(), deadline: deadline, cancellationToken: Cancellation)).Clock
                        : (await caller.TimeManager.CreateClockAsync(create, deadline: deadline, cancellationToken: Cancellation)).Clock;
                    outcomes.Enqueue(new Outcome(create, clock, null));
                }
                catch (RpcException error)
                {
                    outcomes.Enqueue(new Outcome(create, null, error));
                    if (!IsProbeAnswer(create, error))
                    {
                        // A loop ends at its first failure: after a clean one nothing serves any more.
                        return;
                    }
                }

                if (Interlocked.Increment(ref answered) == CallsBeforeSigterm)
                {
                    enoughAnswered.TrySetResult();
                }
            }
        }

        var load = Task.WhenAll(Enumerable.Range(0, Loops).Select(loop => Task.Run(() => LoopAsync(loop), Cancellation)));
        if (await Task.WhenAny(enoughAnswered.Task, load) == load)
        {
            Assert.Fail($"The load ended before SIGTERM: {Describe(outcomes.Where(o => o.Error is not null))}\n{host.Transcript}");
        }

        // Redis holds every write for a moment, so SIGTERM finds each loop's call inside its
        // handler: the host must wait for them rather than exit under them.
        await redisAdmin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", RedisPauseMilliseconds, "WRITE");
        host.Terminate();
        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);
        await load; // bounded: each call has a deadline, and nothing serves now

        Assert.True(exitCode == 0, $"The host exited with {exitCode}.\n{host.Transcript}");
        Assert.True(host.Output.Any(line => line.Contains("Stopping: waiting for", StringComparison.Ordinal)),
            $"SIGTERM found no call in flight, so the test did not exercise the drain.\n{host.Transcript}");
        Assert.DoesNotContain(host.Output, line => line.Contains("Shutdown timeout passed", StringComparison.Ordinal));

        // Every call ended exactly once: answered, or refused before it ran.
        var failures = outcomes.Where(o => o.Error is not null && !IsProbeAnswer(o.Create, o.Error)).ToList();
        var unclean = failures.Where(o => !IsRefusedBeforeRunning(o.Error!)).ToList();
        Assert.True(unclean.Count == 0, $"{unclean.Count} calls failed other than by a clean refusal (a call the host took lost its reply): {Describe(unclean)}");
        Assert.Equal(Loops, failures.Count);
        Assert.Equal(issued, outcomes.Count);
        var created = outcomes.Where(o => o.Create is not null && o.Error is null).ToList();
        Assert.All(created, o => Assert.True(IsTheClockAsked(o.Create!, o.Clock!), $"Malformed reply for {o.Create!.WorldId}: {o.Clock}"));
        Assert.Contains(outcomes, o => o.Create is null && o.Error is not null && IsProbeAnswer(null, o.Error));

        // The store is the ground truth: a clock exists exactly for the calls that were answered.
        var stored = await StoredWorldIdsAsync($"{prefix}.");
        var answeredIds = created.Select(o => o.Create!.WorldId).ToHashSet(StringComparer.Ordinal);
        var ranUnanswered = stored.Except(answeredIds).ToList();
        var answeredNotStored = answeredIds.Except(stored).ToList();
        Assert.True(ranUnanswered.Count == 0, $"{ranUnanswered.Count} calls ran but their caller got no success: {string.Join(", ", ranUnanswered.Take(5))}");
        Assert.True(answeredNotStored.Count == 0, $"{answeredNotStored.Count} calls were answered but never stored: {string.Join(", ", answeredNotStored.Take(5))}");
    }

    [Fact(Timeout = 60_000)]
    public async Task Sigterm_WithAWatchOpen_KeepsItUntilTheShutdownTimeout_ThenEndsItWithUnavailable()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Mesh:ShutdownTimeout", "00:00:02");
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var create = NewCreate(new Faker { Random = new Randomizer(Seed) }, prefix);
        await caller.TimeManager.CreateClockAsync(create, cancellationToken: Cancellation);
        var watch = new WatchClockRequest { WorldId = create.WorldId, TickInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) };
        var ticksAfterSigterm = 0;
        var terminated = false;

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var update in caller.TimeManager.WatchClockAsync(watch, cancellationToken: Cancellation))
            {
                if (update.UpdateCase != WatchClockResponse.UpdateOneofCase.Tick)
                {
                    continue;
                }

                if (terminated)
                {
                    ticksAfterSigterm++;
                }
                else
                {
                    host.Terminate();
                    terminated = true;
                }
            }
        });

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal($"/{Service}/WatchClock: the service instance is shutting down; retry.", error.Status.Detail);
        Assert.True(ticksAfterSigterm > 0, "The open stream was not served while the host drained.");
        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);
        Assert.True(exitCode == 0, $"The host exited with {exitCode}.\n{host.Transcript}");
    }

    private static CreateClockRequest NewCreate(Faker faker, string worldId) => new()
    {
        WorldId = worldId,
        RequestId = faker.Random.Guid().ToString(),
        DisplayName = $"{faker.Address.City()} (shard {faker.Random.Int(1, 99)})",
        TimeScale = faker.Random.Int(1, 600),
    };

    // Refused without running: no instance subscribed (no responders), or the request
    // reached the instance after it began stopping.
    private static bool IsRefusedBeforeRunning(RpcException error) =>
        error.StatusCode == StatusCode.Unavailable
        && error.Status.Detail is $"/{Service}/CreateClock: no instance of {Service} is serving (NATS: no responders)."
            or $"/{Service}/GetClock: no instance of {Service} is serving (NATS: no responders)."
            or $"{Service}: this instance is shutting down; retry.";

    private static bool IsProbeAnswer(CreateClockRequest? create, RpcException error) =>
        create is null && error.StatusCode == StatusCode.InvalidArgument;

    private static bool IsTheClockAsked(CreateClockRequest request, Clock clock) =>
        clock.WorldId == request.WorldId
        && clock.DisplayName == request.DisplayName
        && clock.TimeScale == request.TimeScale
        && clock.Version == 1
        && clock.State == ClockState.Running;

    private static string Describe(IEnumerable<Outcome> outcomes) =>
        string.Join("; ", outcomes.GroupBy(o => $"{o.Error!.StatusCode}: {o.Error.Status.Detail}").Select(g => $"{g.Count()} × {g.Key} (e.g. world {g.First().Create?.WorldId ?? "(probe)"})"));

    /// <summary>Reads the clocks back through a fresh host on the same Redis.</summary>
    private async Task<HashSet<string>> StoredWorldIdsAsync(string worldIdPrefix)
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation, "--GameSystem:Store:Redis", redis.ConnectionString);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var stored = new HashSet<string>(StringComparer.Ordinal);
        var request = new ListClocksRequest { PageSize = 500 };
        for (var page = 0; page < 1_000; page++)
        {
            var clocks = await caller.TimeManager.ListClocksAsync(request, cancellationToken: Cancellation);
            stored.UnionWith(clocks.Clocks.Select(c => c.WorldId).Where(id => id.StartsWith(worldIdPrefix, StringComparison.Ordinal)));
            if (clocks.NextPageToken.Length == 0)
            {
                return stored;
            }

            request.PageToken = clocks.NextPageToken;
        }

        throw new InvalidOperationException("ListClocks did not reach its last page.");
    }

    /// <summary>One call: a create, or a probe (<paramref name="Create"/> null), and how it ended.</summary>
    private sealed record Outcome(CreateClockRequest? Create, Clock? Clock, RpcException? Error);
}
