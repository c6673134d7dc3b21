using GameSystem.Router.V1;
using GameSystem.Routing;
using Route = GameSystem.Router.V1.Route;
using Grpc.Core;

namespace GameSystem.Gateway.Cutover;

/// <summary>
/// The gateway's copy of router's table, kept current by <c>WatchRoutes</c> (the initial
/// snapshot, then every change), so choosing a backend costs no call per request. If the watch
/// breaks, the last table stays in use and the watch is opened again with backoff; before the
/// first snapshot arrives there is no table and every route goes over NATS, the mesh's default.
/// </summary>
internal sealed partial class RouteDirectory(RouterServiceClient router, ILogger<RouteDirectory> logger) : BackgroundService
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private volatile RouteTable? _table;
    private long _revision;

    /// <summary>The table as last seen; null until the first snapshot.</summary>
    public RouteTable? Current => _table;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var snapshot = new Dictionary<string, Route>(StringComparer.Ordinal);
                var initial = true;
                await foreach (var change in router.WatchRoutesAsync(new WatchRoutesRequest { SendInitial = true }, cancellationToken: stoppingToken).ConfigureAwait(false))
                {
                    if (initial)
                    {
                        if (change.InitialSnapshotComplete)
                        {
                            _table = RouteTable.Of(Interlocked.Increment(ref _revision), snapshot.Values);
                            initial = false;
                            backoff = FirstBackoff;
                            Log.Snapshot(logger, snapshot.Count);
                        }
                        else if (change.Route is { } route)
                        {
                            snapshot[route.RouteId] = route;
                        }

                        continue;
                    }

                    var current = _table ?? RouteTable.Empty;
                    _table = change.ChangeType == RouteChangeType.Deleted
                        ? current.With(Interlocked.Increment(ref _revision), change.Route.RouteId, null)
                        : current.With(Interlocked.Increment(ref _revision), change.Route.RouteId, change.Route);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled } && stoppingToken.IsCancellationRequested)
            {
                // The gateway is stopping (the mesh client reports the cancelled watch as CANCELLED): not a break.
                return;
            }
            catch (RpcException ex)
            {
                Log.WatchBroke(logger, ex.StatusCode, ex.Status.Detail, backoff);
            }

            await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Following router's table: {Count} routes")]
        public static partial void Snapshot(ILogger logger, int count);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Router's WatchRoutes broke ({Code}: {Detail}); keeping the last table and watching again in {Backoff}")]
        public static partial void WatchBroke(ILogger logger, StatusCode code, string detail, TimeSpan backoff);
    }
}
