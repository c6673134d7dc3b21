using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>
/// Runs on every instance: sleeps until the earliest lease end the shared expiry index holds
/// (never longer than <see cref="CapabilityRegistryOptions.SweepCap"/>, since a lease registered
/// meanwhile on another instance ends no sooner than the shortest TTL), then processes what is
/// due. Instances racing for one expiry are safe: <see cref="Expiry.ProcessAsync"/> applies once.
/// </summary>
internal sealed partial class ExpirySweeper(Expiry expiry, TimeProvider time, TimeSpan cap, ILogger logger) : BackgroundService
{
    /// <summary>The shortest sleep between two sweeps, so a burst of due leases never spins.</summary>
    private static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan FailureDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                var next = await expiry.SweepAsync(stoppingToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                delay = next is { } due ? due - now : cap;
                delay = delay < MinDelay ? MinDelay : delay > cap ? cap : delay;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The store may be briefly unreachable; leases lapse regardless, the events follow.
                LogSweepFailed(logger, ex);
                delay = FailureDelay;
            }

            try
            {
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 3612, Level = LogLevel.Warning, Message = "Expiry sweep failed; retrying shortly")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
