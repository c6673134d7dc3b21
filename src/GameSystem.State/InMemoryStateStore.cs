using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace GameSystem.State;

/// <summary>
/// The embedded store, used when no Redis is configured: state lives in this process and is
/// lost when it stops. Thread-safe; expiry follows the <see cref="TimeProvider"/> given.
/// </summary>
public sealed class InMemoryStateStore : IStateStore, IStateOutboxStore
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, Slot> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tombstone> _tombstones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _indexes = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Outbox, string Partition), Outbox> _outboxes = [];
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private DateTimeOffset _nextSweep;

    /// <summary>Creates an empty store.</summary>
    /// <param name="timeProvider">The clock for TTLs; <see cref="TimeProvider.System"/> when null.</param>
    public InMemoryStateStore(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _nextSweep = _time.GetUtcNow() + SweepInterval;
    }

    /// <inheritdoc/>
    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(Find(key, _time.GetUtcNow())?.Entry);
        }
    }

    /// <inheritdoc/>
    public ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateExpectedVersion(expectedVersion);
        StateKeys.ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        var copy = value.ToArray();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var current = Find(key, now)?.Entry;
            if (expectedVersion is { } expected && (current?.Version ?? 0) != expected)
            {
                return ValueTask.FromResult(StateWriteResult.Conflict(current));
            }

            var version = Store(key, copy, ttl, now);
            SweepIfDue(now);
            return ValueTask.FromResult(StateWriteResult.Written(version));
        }
    }

    /// <inheritdoc/>
    public ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateExpectedVersion(expectedVersion);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var current = Find(key, now)?.Entry;
            if (expectedVersion is { } expected && (current?.Version ?? 0) != expected)
            {
                return ValueTask.FromResult(StateWriteResult.Conflict(current));
            }

            Remove(key, now);
            return ValueTask.FromResult(StateWriteResult.Written(0));
        }
    }

    /// <inheritdoc/>
    public ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        ValidateDelta(delta);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var sum = CounterAfter(key, delta, now);
            ApplyIncrement(key, sum, ttl, now);
            return ValueTask.FromResult(sum);
        }
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<StateEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            StateKeys.Validate(key, nameof(keys));
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            return ValueTask.FromResult<IReadOnlyList<StateEntry?>>([.. keys.Select(key => Find(key, now)?.Entry)]);
        }
    }

    /// <inheritdoc/>
    public ValueTask<StateTransactionResult> ExecuteAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.ValidateForExecution();
        cancellationToken.ThrowIfCancellationRequested();
        var result = Apply(transaction);
        if (result.Succeeded)
        {
            // Outside the lock: a callback may call back into the store.
            transaction.NotifyApplied();
        }

        return ValueTask.FromResult(result);
    }

    private StateTransactionResult Apply(StateTransaction transaction)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var condition in transaction.Conditions)
            {
                var current = Find(condition.Key, now)?.Entry;
                if ((current?.Version ?? 0) != condition.Version)
                {
                    return StateTransactionResult.Refused(new StateConflict(condition.Key, condition.Version, current));
                }
            }

            // Every check before the first write: nothing applies unless everything can.
            var sums = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var operation in transaction.Operations.Where(o => o.Kind == StateOperationKind.Increment))
            {
                sums[operation.Key] = CounterAfter(operation.Key, operation.Delta, now);
            }

            var versions = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var operation in transaction.Operations)
            {
                switch (operation.Kind)
                {
                    case StateOperationKind.Set:
                        versions[operation.Key] = Store(operation.Key, operation.Value.ToArray(), operation.Ttl, now);
                        break;
                    case StateOperationKind.Delete:
                        Remove(operation.Key, now);
                        versions[operation.Key] = 0;
                        break;
                    case StateOperationKind.Increment:
                        versions[operation.Key] = ApplyIncrement(operation.Key, sums[operation.Key], operation.Ttl, now).Version;
                        break;
                    case StateOperationKind.IndexAdd:
                        if (!_indexes.TryGetValue(operation.Key, out var index))
                        {
                            _indexes[operation.Key] = index = new SortedSet<string>(CodePointComparer.Instance);
                        }

                        index.Add(operation.Member!);
                        break;
                    case StateOperationKind.IndexRemove:
                        if (_indexes.TryGetValue(operation.Key, out var existing) && existing.Remove(operation.Member!) && existing.Count == 0)
                        {
                            _indexes.Remove(operation.Key);
                        }

                        break;
                    case StateOperationKind.Enqueue:
                        var outbox = OutboxOf(operation.Key, transaction.Partition!);
                        outbox.Messages.Enqueue(new StateOutboxMessage(++outbox.Sequence, now, operation.Value.ToArray()));
                        outbox.LastEnqueuedAt = now;
                        outbox.Listed = true;
                        break;
                }
            }

            SweepIfDue(now);
            return StateTransactionResult.Applied(versions, sums);
        }
    }

    /// <inheritdoc/>
    public ValueTask<StateIndexPage> QueryIndexAsync(string index, StateIndexQuery query, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(index, nameof(index));
        var range = IndexRange.Resolve(query);
        cancellationToken.ThrowIfCancellationRequested();
        var members = new List<string>(Math.Min(query.PageSize + 1, 128));
        lock (_lock)
        {
            if (!range.IsEmpty && _indexes.TryGetValue(index, out var set) && set.Count > 0)
            {
                var view = Between(set, range);
                var ordered = query.Descending ? view.Reverse() : view;
                members.AddRange(ordered.Where(range.Contains).Take(query.PageSize + 1));
            }
        }

        string? next = null;
        if (members.Count > query.PageSize)
        {
            members.RemoveAt(query.PageSize);
            next = IndexRange.EncodeToken(query.Descending, members[^1]);
        }

        return ValueTask.FromResult(new StateIndexPage(members, next));
    }

    /// <inheritdoc/>
    public ValueTask PingAsync(CancellationToken cancellationToken = default)
    {
        // In this process: reachable whenever it is asked.
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask<long> CountIndexAsync(string index, string? prefix = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(index, nameof(index));
        var range = IndexRange.Resolve(StateIndexQuery.Default with { Prefix = prefix });
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult<long>(_indexes.TryGetValue(index, out var set) && set.Count > 0
                ? (prefix is null ? set.Count : Between(set, range).Count(range.Contains))
                : 0);
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<string> ListOutboxPartitionsAsync(string outbox, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StateKeys.ValidateOutbox(outbox);
        List<string> partitions;
        lock (_lock)
        {
            partitions = [.. _outboxes.Where(o => o.Key.Outbox == outbox && o.Value.Listed).Select(o => o.Key.Partition).Order(StringComparer.Ordinal)];
        }

        foreach (var partition in partitions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return partition;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<StateOutboxClaim> ClaimOutboxAsync(string outbox, string partition, string owner, TimeSpan lease, int maxMessages, CancellationToken cancellationToken = default)
    {
        ValidateClaim(outbox, partition, owner, lease, maxMessages);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (!_outboxes.TryGetValue((outbox, partition), out var box))
            {
                return ValueTask.FromResult(new StateOutboxClaim(true, [], 0, null, null));
            }

            var oldest = box.Messages.TryPeek(out var first) ? first.EnqueuedAt : (DateTimeOffset?)null;
            if (box.LeaseOwner is not null && box.LeaseOwner != owner && box.LeaseUntil > now)
            {
                return ValueTask.FromResult(new StateOutboxClaim(false, [], box.Messages.Count, oldest, box.LastEnqueuedAt));
            }

            if (box.Messages.Count == 0)
            {
                return ValueTask.FromResult(new StateOutboxClaim(true, [], 0, null, box.LastEnqueuedAt));
            }

            box.LeaseOwner = owner;
            box.LeaseUntil = now + lease;
            return ValueTask.FromResult(new StateOutboxClaim(true, [.. box.Messages.Take(maxMessages)], box.Messages.Count, oldest, box.LastEnqueuedAt));
        }
    }

    /// <inheritdoc/>
    public ValueTask<long> CompleteOutboxAsync(string outbox, string partition, string owner, long throughSequence, CancellationToken cancellationToken = default)
    {
        ValidateOutboxPartition(outbox, partition);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_outboxes.TryGetValue((outbox, partition), out var box))
            {
                return ValueTask.FromResult(0L);
            }

            while (box.Messages.TryPeek(out var first) && first.Sequence <= throughSequence)
            {
                box.Messages.Dequeue();
            }

            if (box.LeaseOwner == owner)
            {
                box.LeaseOwner = null;
            }

            return ValueTask.FromResult((long)box.Messages.Count);
        }
    }

    /// <inheritdoc/>
    public ValueTask<bool> RetireOutboxPartitionAsync(string outbox, string partition, TimeSpan idleFor, CancellationToken cancellationToken = default)
    {
        ValidateOutboxPartition(outbox, partition);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (!_outboxes.TryGetValue((outbox, partition), out var box) || !box.Listed)
            {
                return ValueTask.FromResult(true);
            }

            if (box.Messages.Count > 0 || box.LastEnqueuedAt + idleFor > now || (box.LeaseOwner is not null && box.LeaseUntil > now))
            {
                return ValueTask.FromResult(false);
            }

            // The sequence stays: a message appended later must not reuse a number already delivered.
            box.Listed = false;
            return ValueTask.FromResult(true);
        }
    }

    internal static void ValidateClaim(string outbox, string partition, string owner, TimeSpan lease, int maxMessages)
    {
        ValidateOutboxPartition(outbox, partition);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, StateKeys.MaxPageSize);
    }

    internal static void ValidateOutboxPartition(string outbox, string partition)
    {
        StateKeys.ValidateOutbox(outbox);
        StateKeys.ValidatePartition(partition);
    }

    internal static void ValidateDelta(long delta)
    {
        if (delta is > StateKeys.MaxCounter or < -StateKeys.MaxCounter)
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, $"A counter delta is at most ±{StateKeys.MaxCounter}.");
        }
    }

    private static SortedSet<string> Between(SortedSet<string> set, IndexRange range)
    {
        var comparer = CodePointComparer.Instance;
        var lower = range.Lower is not null && comparer.Compare(range.Lower, set.Min) > 0 ? range.Lower : set.Min!;
        var upper = range.Upper is not null && comparer.Compare(range.Upper, set.Max) < 0 ? range.Upper : set.Max!;
        return comparer.Compare(lower, upper) > 0 ? [] : set.GetViewBetween(lower, upper);
    }

    private Outbox OutboxOf(string outbox, string partition)
    {
        if (!_outboxes.TryGetValue((outbox, partition), out var box))
        {
            _outboxes[(outbox, partition)] = box = new Outbox();
        }

        return box;
    }

    /// <summary>The counter's value after adding <paramref name="delta"/>; throws when it cannot be incremented.</summary>
    private long CounterAfter(string key, long delta, DateTimeOffset now)
    {
        var slot = Find(key, now);
        if (slot is null)
        {
            return delta;
        }

        // Only the canonical form Redis's HINCRBY accepts: no sign '+', no leading zeros.
        if (!Utf8Parser.TryParse(slot.Entry.Value.Span, out long counter, out var consumed) || consumed != slot.Entry.Value.Length
            || !slot.Entry.Value.Span.SequenceEqual(Encode(counter)))
        {
            throw new InvalidOperationException($"The entry '{key}' does not hold an integer, so it cannot be incremented.");
        }

        var sum = counter + delta;
        StateKeys.ValidateCounter(sum, key);
        return sum;
    }

    private StateEntry ApplyIncrement(string key, long sum, TimeSpan? ttl, DateTimeOffset now)
    {
        var slot = Find(key, now);
        var entry = new StateEntry(Encode(sum), (slot?.Entry.Version ?? BuryVersion(key, now)) + 1);
        _entries[key] = new Slot(entry, slot is null ? now + ttl : slot.ExpiresAt);
        SweepIfDue(now);
        return entry;
    }

    private long Store(string key, byte[] value, TimeSpan? ttl, DateTimeOffset now)
    {
        var current = Find(key, now)?.Entry;
        var entry = new StateEntry(value, (current?.Version ?? BuryVersion(key, now)) + 1);
        _entries[key] = new Slot(entry, now + ttl);
        return entry.Version;
    }

    private void Remove(string key, DateTimeOffset now)
    {
        if (Find(key, now)?.Entry is { } current)
        {
            _entries.Remove(key);
            _tombstones[key] = new Tombstone(current.Version, now + StateKeys.TombstoneRetention);
        }
    }

    /// <inheritdoc/>
    public ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        StateKeys.ValidatePrefix(prefix);
        StateKeys.ValidatePageSize(pageSize);
        var after = pageToken is null ? null : DecodeToken(pageToken);
        cancellationToken.ThrowIfCancellationRequested();
        List<StateItem> items;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            SweepIfDue(now);
            items = _entries
                .Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)
                    && (after is null || string.CompareOrdinal(e.Key, after) > 0)
                    && !e.Value.IsExpired(now))
                .OrderBy(e => e.Key, StringComparer.Ordinal)
                .Take(pageSize + 1)
                .Select(e => new StateItem(e.Key, e.Value.Entry))
                .ToList();
        }

        string? next = null;
        if (items.Count > pageSize)
        {
            items.RemoveAt(pageSize);
            next = EncodeToken(items[^1].Key);
        }

        return ValueTask.FromResult(new StatePage(items, next));
    }

    private static byte[] Encode(long counter) => Encoding.ASCII.GetBytes(counter.ToString(CultureInfo.InvariantCulture));

    private static string EncodeToken(string lastKey) => "m1:" + Convert.ToBase64String(Encoding.UTF8.GetBytes(lastKey));

    private static string DecodeToken(string pageToken)
    {
        if (pageToken.StartsWith("m1:", StringComparison.Ordinal))
        {
            try
            {
                return Encoding.UTF8.GetString(Convert.FromBase64String(pageToken[3..]));
            }
            catch (FormatException)
            {
            }
        }

        throw new ArgumentException("The page token was not returned by this store's ListAsync.", nameof(pageToken));
    }

    private Slot? Find(string key, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(key, out var slot))
        {
            return null;
        }

        if (slot.IsExpired(now))
        {
            _entries.Remove(key);
            return null;
        }

        return slot;
    }

    /// <summary>The version a deleted key had (0 when none is remembered); forgets its tombstone.</summary>
    private long BuryVersion(string key, DateTimeOffset now) =>
        _tombstones.Remove(key, out var tombstone) && tombstone.ExpiresAt > now ? tombstone.Version : 0;

    // Expired entries nobody reads again would otherwise stay forever.
    private void SweepIfDue(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + SweepInterval;
        foreach (var (key, slot) in _entries)
        {
            if (slot.IsExpired(now))
            {
                _entries.Remove(key);
            }
        }

        foreach (var (key, tombstone) in _tombstones)
        {
            if (tombstone.ExpiresAt <= now)
            {
                _tombstones.Remove(key);
            }
        }
    }

    private sealed record Tombstone(long Version, DateTimeOffset ExpiresAt);

    private sealed class Outbox
    {
        public Queue<StateOutboxMessage> Messages { get; } = new();

        public long Sequence { get; set; }

        public DateTimeOffset? LastEnqueuedAt { get; set; }

        public string? LeaseOwner { get; set; }

        public DateTimeOffset LeaseUntil { get; set; }

        public bool Listed { get; set; }
    }

    private sealed record Slot(StateEntry Entry, DateTimeOffset? ExpiresAt)
    {
        public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;
    }
}
