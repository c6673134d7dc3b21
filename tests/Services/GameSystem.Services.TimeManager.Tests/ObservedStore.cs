using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using GameSystem.State;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>
/// A real store seen through a window: it records which keys and how many index members the
/// service reads, and can go down (every call failing UNAVAILABLE, as an unreachable Redis
/// does) right after a chosen transaction applies, which is what a crash at that point looks
/// like to the rest of the system. Everything else passes through unchanged.
/// </summary>
internal sealed class ObservedStore(IStateStore inner) : IStateStore, IStateOutboxStore
{
    private readonly IStateOutboxStore _outboxes = (IStateOutboxStore)inner;
    private readonly ConcurrentQueue<string> _keysRead = new();
    private readonly ConcurrentQueue<(string Index, int Members)> _indexReads = new();
    private volatile bool _down;
    private volatile string? _crashAfterCommitIn;

    /// <summary>While true, every call fails as if the store were unreachable.</summary>
    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>The next transaction that applies in <paramref name="partition"/> is the last: the store goes down right after it.</summary>
    public void CrashAfterNextCommitIn(string partition) => _crashAfterCommitIn = partition;

    public IReadOnlyList<string> KeysRead => [.. _keysRead];

    public IReadOnlyList<(string Index, int Members)> IndexReads => [.. _indexReads];

    public void ResetCounts()
    {
        _keysRead.Clear();
        _indexReads.Clear();
    }

    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        Check();
        _keysRead.Enqueue(key);
        return inner.GetAsync(key, cancellationToken);
    }

    public ValueTask<IReadOnlyList<StateEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        Check();
        foreach (var key in keys)
        {
            _keysRead.Enqueue(key);
        }

        return inner.GetManyAsync(keys, cancellationToken);
    }

    public ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        Check();
        return inner.SetAsync(key, value, expectedVersion, ttl, cancellationToken);
    }

    public ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        Check();
        return inner.DeleteAsync(key, expectedVersion, cancellationToken);
    }

    public ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        Check();
        return inner.IncrementAsync(key, delta, ttl, cancellationToken);
    }

    public ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        Check();
        return inner.ListAsync(prefix, pageSize, pageToken, cancellationToken);
    }

    public async ValueTask<StateTransactionResult> ExecuteAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        Check();
        var result = await inner.ExecuteAsync(transaction, cancellationToken);
        if (result.Succeeded && _crashAfterCommitIn is { } partition && transaction.Partition == partition)
        {
            _crashAfterCommitIn = null;
            _down = true;
        }

        return result;
    }

    public async ValueTask<StateIndexPage> QueryIndexAsync(string index, StateIndexQuery query, CancellationToken cancellationToken = default)
    {
        Check();
        var page = await inner.QueryIndexAsync(index, query, cancellationToken);
        _indexReads.Enqueue((index, page.Members.Count));
        return page;
    }

    public ValueTask PingAsync(CancellationToken cancellationToken = default)
    {
        Check();
        return inner.PingAsync(cancellationToken);
    }

    public ValueTask<long> CountIndexAsync(string index, string? prefix = null, CancellationToken cancellationToken = default)
    {
        Check();
        return inner.CountIndexAsync(index, prefix, cancellationToken);
    }

    public async IAsyncEnumerable<string> ListOutboxPartitionsAsync(string outbox, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Check();
        await foreach (var partition in _outboxes.ListOutboxPartitionsAsync(outbox, cancellationToken))
        {
            yield return partition;
        }
    }

    public ValueTask<StateOutboxClaim> ClaimOutboxAsync(string outbox, string partition, string owner, TimeSpan lease, int maxMessages, CancellationToken cancellationToken = default)
    {
        Check();
        return _outboxes.ClaimOutboxAsync(outbox, partition, owner, lease, maxMessages, cancellationToken);
    }

    public ValueTask<long> CompleteOutboxAsync(string outbox, string partition, string owner, long throughSequence, CancellationToken cancellationToken = default)
    {
        Check();
        return _outboxes.CompleteOutboxAsync(outbox, partition, owner, throughSequence, cancellationToken);
    }

    public ValueTask<bool> RetireOutboxPartitionAsync(string outbox, string partition, TimeSpan idleFor, CancellationToken cancellationToken = default)
    {
        Check();
        return _outboxes.RetireOutboxPartitionAsync(outbox, partition, idleFor, cancellationToken);
    }

    private void Check()
    {
        if (_down)
        {
            throw new StateStoreUnavailableException("The state store is down (test: the instance using it crashed).");
        }
    }
}
