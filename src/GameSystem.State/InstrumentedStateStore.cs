using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace GameSystem.State;

/// <summary>
/// A store that records each operation's span and duration (<see cref="StateTelemetry"/>) and
/// forwards it to the store it wraps. With nobody listening, an operation is one extra
/// interface call: no timestamp, no allocation.
/// </summary>
public sealed class InstrumentedStateStore : IStateStore, IStateOutboxStore
{
    private readonly IStateStore _store;
    private readonly IStateOutboxStore _outboxes;
    private readonly string _system;

    /// <summary>Instruments a Redis store (<c>db.system.name</c> <c>redis</c>).</summary>
    public InstrumentedStateStore(RedisStateStore store)
        : this(store, store, "redis")
    {
    }

    /// <summary>Instruments the in-memory store (<c>db.system.name</c> <c>memory</c>).</summary>
    public InstrumentedStateStore(InMemoryStateStore store)
        : this(store, store, "memory")
    {
    }

    private InstrumentedStateStore(IStateStore store, IStateOutboxStore outboxes, string system)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _outboxes = outboxes;
        _system = system;
    }

    /// <summary>The store it measures and forwards to.</summary>
    public IStateStore Inner => _store;

    /// <inheritdoc/>
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Measure("get", (key, cancellationToken), static (s, a) => s._store.GetAsync(a.key, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default) =>
        Measure("set", (key, value, expectedVersion, ttl, cancellationToken), static (s, a) => s._store.SetAsync(a.key, a.value, a.expectedVersion, a.ttl, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        Measure("delete", (key, expectedVersion, cancellationToken), static (s, a) => s._store.DeleteAsync(a.key, a.expectedVersion, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default) =>
        Measure("increment", (key, delta, ttl, cancellationToken), static (s, a) => s._store.IncrementAsync(a.key, a.delta, a.ttl, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default) =>
        Measure("list", (prefix, pageSize, pageToken, cancellationToken), static (s, a) => s._store.ListAsync(a.prefix, a.pageSize, a.pageToken, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<StateEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        Measure("get_many", (keys, cancellationToken), static (s, a) => s._store.GetManyAsync(a.keys, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StateTransactionResult> ExecuteAsync(StateTransaction transaction, CancellationToken cancellationToken = default) =>
        Measure("transaction", (transaction, cancellationToken), static (s, a) => s._store.ExecuteAsync(a.transaction, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<StateIndexPage> QueryIndexAsync(string index, StateIndexQuery query, CancellationToken cancellationToken = default) =>
        Measure("index.query", (index, query, cancellationToken), static (s, a) => s._store.QueryIndexAsync(a.index, a.query, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long> CountIndexAsync(string index, string? prefix = null, CancellationToken cancellationToken = default) =>
        Measure("index.count", (index, prefix, cancellationToken), static (s, a) => s._store.CountIndexAsync(a.index, a.prefix, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask PingAsync(CancellationToken cancellationToken = default) =>
        StateTelemetry.IsObserved ? PingMeasuredAsync(cancellationToken) : _store.PingAsync(cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<string> ListOutboxPartitionsAsync(string outbox, CancellationToken cancellationToken = default) =>
        // A scan a relay pages through at its own pace: one span would measure the relay, not the store.
        _outboxes.ListOutboxPartitionsAsync(outbox, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<StateOutboxClaim> ClaimOutboxAsync(string outbox, string partition, string owner, TimeSpan lease, int maxMessages, CancellationToken cancellationToken = default) =>
        Measure("outbox.claim", (outbox, partition, owner, lease, maxMessages, cancellationToken), static (s, a) => s._outboxes.ClaimOutboxAsync(a.outbox, a.partition, a.owner, a.lease, a.maxMessages, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<long> CompleteOutboxAsync(string outbox, string partition, string owner, long throughSequence, CancellationToken cancellationToken = default) =>
        Measure("outbox.complete", (outbox, partition, owner, throughSequence, cancellationToken), static (s, a) => s._outboxes.CompleteOutboxAsync(a.outbox, a.partition, a.owner, a.throughSequence, a.cancellationToken));

    /// <inheritdoc/>
    public ValueTask<bool> RetireOutboxPartitionAsync(string outbox, string partition, TimeSpan idleFor, CancellationToken cancellationToken = default) =>
        Measure("outbox.retire", (outbox, partition, idleFor, cancellationToken), static (s, a) => s._outboxes.RetireOutboxPartitionAsync(a.outbox, a.partition, a.idleFor, a.cancellationToken));

    private ValueTask<T> Measure<TArgs, T>(string operation, TArgs args, Func<InstrumentedStateStore, TArgs, ValueTask<T>> call) =>
        StateTelemetry.IsObserved ? MeasureAsync(operation, args, call) : call(this, args);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> MeasureAsync<TArgs, T>(string operation, TArgs args, Func<InstrumentedStateStore, TArgs, ValueTask<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var activity = Start(operation);
        try
        {
            var result = await call(this, args).ConfigureAwait(false);
            End(operation, started, activity, null);
            return result;
        }
        catch (Exception ex)
        {
            End(operation, started, activity, ex);
            throw;
        }
    }

    private async ValueTask PingMeasuredAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var activity = Start("ping");
        try
        {
            await _store.PingAsync(cancellationToken).ConfigureAwait(false);
            End("ping", started, activity, null);
        }
        catch (Exception ex)
        {
            End("ping", started, activity, ex);
            throw;
        }
    }

    private Activity? Start(string operation)
    {
        var activity = StateTelemetry.ActivitySource.StartActivity("state." + operation, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", _system);
            activity.SetTag("db.operation.name", operation);
        }

        return activity;
    }

    private void End(string operation, long started, Activity? activity, Exception? error)
    {
        var errorType = error?.GetType().FullName;
        if (activity is not null)
        {
            if (errorType is not null)
            {
                activity.SetTag("error.type", errorType);
                activity.SetStatus(ActivityStatusCode.Error, error!.Message);
            }

            activity.Dispose();
        }

        if (StateTelemetry.OperationDuration.Enabled)
        {
            var tags = new TagList
            {
                { "db.system.name", _system },
                { "db.operation.name", operation },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            StateTelemetry.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }
}
