using System.Diagnostics;
using System.Text.Json;
using Bogus;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;

namespace GameSystem.Host.Tests;

/// <summary>Host processes serving the same services on the same prefix share the calls.</summary>
public sealed class HostLoadSharingTests(NatsServerFixture nats)
{
    private const int Calls = 400;

    private static readonly Faker Faker = new() { Random = new Randomizer(20261201) };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task TwoInstances_OfTheSameServices_EachServeAShareAndNoCallTwice()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var first = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation);
        await using var second = await TimeManagerHost.StartServingAsync(nats, prefix, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var requests = Enumerable.Range(0, Calls).Select(i => new CreateClockRequest
        {
            WorldId = $"{prefix}.{i}",
            RequestId = Faker.Random.Guid().ToString(),
            DisplayName = Faker.Address.City(),
            TimeScale = Faker.Random.Int(1, 600),
        }).ToList();

        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Cancellation }, async (request, token) =>
        {
            var reply = await caller.TimeManager.CreateClockAsync(request, cancellationToken: token);
            Assert.Equal(request.WorldId, reply.Clock.WorldId);
        });

        var served = await ServedAsync(caller, [first, second], Calls);
        Assert.All(served, count => Assert.True(count > 0, $"One instance served nothing: {string.Join(" + ", served)}"));
        Assert.Equal(Calls, served.Sum());
    }

    // An instance counts a call just after sending its reply, so the last counts may lag
    // the replies by a moment: read until they add up, within a bound.
    private static async Task<long[]> ServedAsync(MeshCaller caller, HostProcess[] hosts, int expected)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var served = new long[hosts.Length];
            for (var i = 0; i < hosts.Length; i++)
            {
                served[i] = await CreateClockRequestsAsync(caller, TimeManagerHost.InstanceId(hosts[i]));
            }

            if (served.Sum() >= expected || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                return served;
            }

            await Task.Delay(50, Cancellation);
        }
    }

    /// <summary>The instance's CreateClock count from the NATS Services API.</summary>
    private static async Task<long> CreateClockRequestsAsync(MeshCaller caller, string instanceId)
    {
        var reply = await caller.Connection.RequestAsync<byte[], byte[]>($"$SRV.STATS.time-manager.{instanceId}", [], cancellationToken: Cancellation);
        using var stats = JsonDocument.Parse(reply.Data);
        return stats.RootElement.GetProperty("endpoints").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == "CreateClock")
            .GetProperty("num_requests").GetInt64();
    }
}
