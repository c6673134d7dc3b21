using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// Fires due timers while the service runs. Every instance runs one: the store's
/// expected-version transactions make them safe side by side, and the outbox claims keep two
/// instances from applying one world's projection updates at once.
/// </summary>
internal sealed partial class TimerScheduler(TimerBook book, Projections projections, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>Real time between two passes: how late (at most) a timer fires on a running clock.</summary>
    public static readonly TimeSpan PassInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Due worlds handled at once: each is a short chain of store round trips, mostly waiting.</summary>
    private const int WorldsAtOnce = 8;

    /// <summary>
    /// One pass: apply pending projection updates (so the wake index reflects every change
    /// made so far, on any instance, crashed or not), then fire the timers of the worlds the
    /// wake index says are due. Nothing else is read.
    /// </summary>
    public async ValueTask RunPassAsync(CancellationToken cancellationToken)
    {
        await projections.DrainAllAsync(cancellationToken).ConfigureAwait(false);
        var due = await projections.DueWorldsAsync(time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = WorldsAtOnce, CancellationToken = cancellationToken }, async (worldId, token) =>
        {
            try
            {
                await book.WakeAsync(worldId, token).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Aborted)
            {
                // Contended by another instance working on the same world; it stays due for the next pass.
                LogWorldContended(logger, worldId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not State.StateStoreUnavailableException)
            {
                // One world that cannot be handled (an unreadable record, say) must not starve the others.
                LogWorldFailed(logger, worldId, ex);
            }
        }).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunPassAsync(stoppingToken).ConfigureAwait(false);
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

    [LoggerMessage(EventId = 2118, Level = LogLevel.Error, Message = "Cannot fire the due timers of world {WorldId}; it stays due")]
    private static partial void LogWorldFailed(ILogger logger, string worldId, Exception exception);

    [LoggerMessage(EventId = 2117, Level = LogLevel.Information, Message = "World {WorldId} is contended; its due timers fire on the next pass")]
    private static partial void LogWorldContended(ILogger logger, string worldId);
}
