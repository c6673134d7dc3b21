using GameSystem.Mesh;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Host.Tests;

/// <summary>
/// The health rounds' hysteresis, which every view of the host's health (mesh, HTTP readiness,
/// $SRV) shares: one failed ping is tolerated, a second in a row is not, and one pass restores.
/// Each probe records what the previous round published, so the test needs no timing.
/// </summary>
public sealed class MeshHealthHysteresisTests
{
    private const string Service = "gamesystem.time_manager.v1.TimeManagerService";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task OneFailedRound_IsTolerated_TwoInARowAreNot_AndOnePassRestores()
    {
        //                 round: 0     1      2     3      4      5     (6: only records)
        var seen = await RunAsync([true, false, true, false, false, true], threshold: 2);

        // seen[n] is what round n left behind (the probe of round n + 1 read it).
        Assert.Equal(
            [ServingStatus.Serving, ServingStatus.Serving, ServingStatus.Serving, ServingStatus.Serving, ServingStatus.NotServing, ServingStatus.Serving],
            seen.Select(s => s.Overall));
        Assert.Equal([ServingStatus.Serving, ServingStatus.Serving, ServingStatus.Serving, ServingStatus.Serving, ServingStatus.NotServing, ServingStatus.Serving], seen.Select(s => s.Services[Service].Status));

        var tolerated = seen[1].HostChecks.Single();
        Assert.True(tolerated.Healthy);
        Assert.Equal(1, tolerated.ConsecutiveFailures);
        Assert.Equal("the flaky store is not ready", tolerated.Failure);

        var counted = seen[4].HostChecks.Single();
        Assert.False(counted.Healthy);
        Assert.Equal(2, counted.ConsecutiveFailures);
        Assert.Equal(["the flaky store is not ready"], seen[4].Services[Service].Failures);
        Assert.Null(seen[5].HostChecks.Single().Failure);
    }

    [Fact(Timeout = 30_000)]
    public async Task ACheckThatNeverPassed_FailsAtOnce()
    {
        var seen = await RunAsync([false, true], threshold: 2);

        Assert.Equal([ServingStatus.NotServing, ServingStatus.Serving], seen.Select(s => s.Overall));
        Assert.False(seen[0].HostChecks.Single().Healthy);
    }

    [Fact(Timeout = 30_000)]
    public async Task ThresholdOne_CountsEveryFailedRound()
    {
        var seen = await RunAsync([true, false, true], threshold: 1);

        Assert.Equal([ServingStatus.Serving, ServingStatus.NotServing, ServingStatus.Serving], seen.Select(s => s.Overall));
    }

    /// <summary>Runs a health service whose one host probe answers <paramref name="script"/> round by round; returns the report each round left behind.</summary>
    private static async Task<List<MeshHealthReport>> RunAsync(bool[] script, int threshold)
    {
        var seen = new List<MeshHealthReport>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var round = 0;
        MeshHealthService? health = null;
        var probe = new MeshHealthProbe("the flaky store", _ =>
        {
            if (round > 0 && seen.Count < script.Length)
            {
                seen.Add(health!.Report);
            }

            if (seen.Count == script.Length)
            {
                done.TrySetResult();
            }

            return ValueTask.FromResult(round < script.Length ? script[round++] : true);
        });
        health = new MeshHealthService(
            [new MeshHealthTarget(Service, true, null, [])],
            [probe],
            MeshHealthOptions.Default with { PollInterval = TimeSpan.FromMilliseconds(20), FailureThreshold = threshold });
        await using (health)
        {
            await health.StartAsync(Cancellation);
            await done.Task.WaitAsync(TimeSpan.FromSeconds(20), Cancellation);
        }

        return seen;
    }
}
