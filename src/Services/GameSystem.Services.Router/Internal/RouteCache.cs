using System.Buffers.Text;
using System.Threading.Channels;
using GameSystem.Router.V1;
using GameSystem.State;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Router.Internal;

/// <summary>
/// This instance's copy of the routing table, which Resolve answers from and WatchRoutes
/// streams. It moves forward only, one table revision at a time: a change applies when it is
/// the next revision (from this instance's own writes, or from <c>router.route.changed</c>
/// events through event-bus for every instance's writes); a change that skips a revision means
/// one was missed, and the whole table is read again and the difference streamed.
/// </summary>
internal sealed partial class RouteCache
{
    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _checkInterval;
    private readonly int _watchBuffer;
    private readonly Lock _gate = new();
    private readonly List<Channel<WatchRoutesResponse>> _watchers = [];
    private RouteTable? _table;
    private long _checkedAt;
    private int _checking;

    public RouteCache(IStateStore store, TimeProvider time, ILogger logger, TimeSpan checkInterval, int watchBuffer)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _checkInterval = checkInterval;
        _watchBuffer = watchBuffer;
    }

    /// <summary>The table as this instance knows it; null until first loaded.</summary>
    public RouteTable? Current => Volatile.Read(ref _table);

    /// <summary>Watch streams attached.</summary>
    public int WatcherCount
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>The table, read from the store on first use.</summary>
    public async ValueTask<RouteTable> GetAsync(CancellationToken cancellationToken) =>
        Current ?? await LoadAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Reads the whole table from the store and moves the copy to it if it is newer.</summary>
    public async ValueTask<RouteTable> LoadAsync(CancellationToken cancellationToken)
    {
        var (record, _) = await ReadAsync(_store, cancellationToken).ConfigureAwait(false);
        var loaded = RouteTable.Of(record.Revision, record.Routes);
        Interlocked.Exchange(ref _checkedAt, _time.GetTimestamp());
        lock (_gate)
        {
            if (_table is { } known && known.Revision >= loaded.Revision)
            {
                return known;
            }

            var before = _table ?? RouteTable.Empty;
            Volatile.Write(ref _table, loaded);
            Notify(Differences(before, loaded));
            return loaded;
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> if it is the next revision; ignores one already known.
    /// False when it skips revisions: the caller must <see cref="LoadAsync"/>.
    /// </summary>
    public bool Apply(RouteChanged change)
    {
        lock (_gate)
        {
            if (_table is not { } table || change.TableRevision <= table.Revision)
            {
                return true; // not loaded yet (the load will include it) or already applied
            }

            if (change.TableRevision != table.Revision + 1)
            {
                return false;
            }

            var deleted = change.ChangeType == RouteChangeType.Deleted;
            Volatile.Write(ref _table, table.With(change.TableRevision, change.RouteId, deleted ? null : change.Route));
            Notify([Change(deleted, deleted ? new Route { RouteId = change.RouteId } : change.Route)]);
            return true;
        }
    }

    /// <summary>
    /// Attaches a watch stream; with <paramref name="sendInitial"/> it starts with the table
    /// (one UPSERTED per route, then the end-of-snapshot marker), taken atomically with the
    /// attachment so no change falls between the snapshot and the stream.
    /// </summary>
    public ChannelReader<WatchRoutesResponse> Watch(bool sendInitial)
    {
        var channel = Channel.CreateBounded<WatchRoutesResponse>(new BoundedChannelOptions(_watchBuffer + StoreKeys.MaxRoutes + 1) { SingleReader = true });
        lock (_gate)
        {
            if (sendInitial)
            {
                foreach (var route in (_table ?? RouteTable.Empty).Routes.Values)
                {
                    channel.Writer.TryWrite(Change(false, route));
                }

                channel.Writer.TryWrite(new WatchRoutesResponse { InitialSnapshotComplete = true });
            }

            _watchers.Add(channel);
        }

        return channel.Reader;
    }

    /// <summary>Detaches a watch stream.</summary>
    public void Unwatch(ChannelReader<WatchRoutesResponse> reader)
    {
        lock (_gate)
        {
            _watchers.RemoveAll(c => c.Reader == reader);
        }
    }

    /// <summary>
    /// When the copy was last confirmed longer than the check interval ago, starts (in the
    /// background, one at a time) a read of the table revision counter, and reloads if the store
    /// is ahead: a bound on how stale Resolve can be when events are late, which it logs.
    /// </summary>
    public void CheckIfDue()
    {
        if (_checkInterval == Timeout.InfiniteTimeSpan
            || _time.GetElapsedTime(Interlocked.Read(ref _checkedAt)) < _checkInterval
            || Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var stored = await ReadRevisionAsync(_store, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Exchange(ref _checkedAt, _time.GetTimestamp());
                if (Current is { } table && stored > table.Revision)
                {
                    // Re-read before blaming events: the change may have applied a moment ago.
                    var again = Current?.Revision ?? 0;
                    if (stored > again)
                    {
                        LogBehind(_logger, again, stored);
                        await LoadAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }
            catch (RpcException ex)
            {
                LogCheckFailed(_logger, ex.Status.Detail);
            }
            finally
            {
                Interlocked.Exchange(ref _checking, 0);
            }
        });
    }

    /// <summary>The stored table (empty before the first route) and the store version of its record.</summary>
    public static async ValueTask<(RouteTableRecord Record, long StoreVersion)> ReadAsync(IStateStore store, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(StoreKeys.Routes, cancellationToken).ConfigureAwait(false);
        return stored is null ? (new RouteTableRecord(), 0) : (RouteTableRecord.Parser.ParseFrom(stored.Value.Span), stored.Version);
    }

    private static async ValueTask<long> ReadRevisionAsync(IStateStore store, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(StoreKeys.Revision, cancellationToken).ConfigureAwait(false);
        return stored is null ? 0
            : Utf8Parser.TryParse(stored.Value.Span, out long value, out _) ? value
            : throw new InvalidOperationException("The routing table revision counter does not hold an integer.");
    }

    private static List<WatchRoutesResponse> Differences(RouteTable before, RouteTable after)
    {
        var changes = new List<WatchRoutesResponse>();
        foreach (var (id, route) in after.Routes)
        {
            if (!before.Routes.TryGetValue(id, out var old) || !old.Equals(route))
            {
                changes.Add(Change(false, route));
            }
        }

        foreach (var id in before.Routes.Keys.Where(id => !after.Routes.ContainsKey(id)))
        {
            changes.Add(Change(true, new Route { RouteId = id }));
        }

        return changes;
    }

    private static WatchRoutesResponse Change(bool deleted, Route route) => new()
    {
        ChangeType = deleted ? RouteChangeType.Deleted : RouteChangeType.Upserted,
        Route = route,
    };

    // Called under _gate, so every watcher sees the changes in table order.
    private void Notify(List<WatchRoutesResponse> changes)
    {
        for (var i = _watchers.Count - 1; i >= 0; i--)
        {
            var writer = _watchers[i].Writer;
            foreach (var change in changes)
            {
                if (!writer.TryWrite(change))
                {
                    writer.TryComplete(Errors.Aborted($"This watch fell more than {_watchBuffer} changes behind the routing table and was closed; watch again with send_initial to resynchronise."));
                    _watchers.RemoveAt(i);
                    break;
                }
            }
        }
    }

    [LoggerMessage(EventId = 9100, Level = LogLevel.Warning, Message = "The routing table copy was at revision {Known} while the store is at {Stored}: change events are late or missing (is event-bus reachable?); reloaded the table from the store")]
    private static partial void LogBehind(ILogger logger, long known, long stored);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "Checking the routing table revision failed: {Reason}")]
    private static partial void LogCheckFailed(ILogger logger, string reason);
}
