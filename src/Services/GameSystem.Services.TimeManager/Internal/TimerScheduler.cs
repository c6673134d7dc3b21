using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// Fires due timers and delivers their events while the service runs. Every instance runs
/// one; the store's expected-version writes make them safe to run side by side.
/// </summary>
internal sealed partial class TimerScheduler(TimerBook book, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>Real time between two passes: how late (at most) a timer fires on a running clock.</summary>
    public static readonly TimeSpan PassInterval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await book.RunPassAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The store may be briefly unreachable; the next pass picks up where this one stopped.
                LogPassFailed(logger, ex);
            }

            try
            {
                await Task.Delay(PassInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 2115, Level = LogLevel.Warning, Message = "Timer pass failed; retrying on the next pass")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
