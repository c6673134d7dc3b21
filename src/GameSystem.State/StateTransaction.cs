using System.Globalization;

namespace GameSystem.State;

/// <summary>
/// Conditions on several keys and the operations to apply when every condition holds, all or
/// nothing, in one step of the store (<see cref="IStateStore.ExecuteAsync"/>).
/// </summary>
/// <remarks>
/// <para>
/// Every key, index and outbox message of a transaction is in one partition (the part of a key
/// in braces): on a Redis Cluster a partition lives on one shard, so a transaction is one Lua
/// script there. Naming a key of a second partition throws <see cref="ArgumentException"/> at
/// once, before anything is sent.
/// </para>
/// <para>
/// Conditions are checked against the state before the transaction; operations then apply in
/// the order they were added. A key takes at most one condition and one operation, and an
/// index member one index operation, so the outcome never depends on that order.
/// </para>
/// </remarks>
public sealed class StateTransaction
{
    // A transaction of a few keys is the common case: duplicates are found by a scan until a
    // transaction grows past this, then by a set.
    private const int ScanLimit = 16;

    private readonly List<StateCondition> _conditions = [];
    private readonly List<StateOperation> _operations = [];
    private HashSet<string>? _conditionKeys;
    private HashSet<string>? _operationKeys;
    private HashSet<(string Index, string Member)>? _members;
    private List<Action>? _applied;
    private long _bytes;

    /// <summary>The partition every key of the transaction is in; null until a key is added.</summary>
    public string? Partition { get; private set; }

    /// <summary>The conditions, in the order they were added.</summary>
    public IReadOnlyList<StateCondition> Conditions => _conditions;

    /// <summary>The operations, in the order they apply.</summary>
    public IReadOnlyList<StateOperation> Operations => _operations;

    /// <summary>The bytes of values, members and messages the transaction carries.</summary>
    public long PayloadBytes => _bytes;

    /// <summary>Requires <paramref name="key"/> to be at <paramref name="version"/> (0: absent).</summary>
    public StateTransaction Require(string key, long version)
    {
        JoinPartition(key, nameof(key));
        StateKeys.ValidateExpectedVersion(version);
        if (HasCondition(key))
        {
            throw new ArgumentException($"The transaction already has a condition on '{key}'.", nameof(key));
        }

        _conditions.Add(new StateCondition(key, version));
        if (_conditionKeys is not null || _conditions.Count > ScanLimit)
        {
            (_conditionKeys ??= new HashSet<string>(_conditions.Select(c => c.Key), StringComparer.Ordinal)).Add(key);
        }
        return this;
    }

    /// <summary>Requires <paramref name="key"/> to be absent.</summary>
    public StateTransaction RequireAbsent(string key) => Require(key, 0);

    /// <summary>Stores <paramref name="value"/> at <paramref name="key"/>, replacing the entry and its expiry.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes to store (not copied: keep them unchanged until the transaction ran).</param>
    /// <param name="expectedVersion">When set, also a condition: the entry must be at this version (0: absent).</param>
    /// <param name="ttl">How long the entry lives; null for no expiry.</param>
    public StateTransaction Set(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null)
    {
        StateKeys.ValidateTtl(ttl);
        AddOperation(new StateOperation(StateOperationKind.Set, key, value, 0, ttl), expectedVersion);
        return this;
    }

    /// <summary>Deletes <paramref name="key"/> (absent is fine unless <paramref name="expectedVersion"/> says otherwise).</summary>
    public StateTransaction Delete(string key, long? expectedVersion = null)
    {
        AddOperation(new StateOperation(StateOperationKind.Delete, key, default, 0, null), expectedVersion);
        return this;
    }

    /// <summary>
    /// Adds <paramref name="delta"/> to the counter at <paramref name="key"/> (absent counts as 0).
    /// An entry that is not an integer, or a sum beyond ±<see cref="StateKeys.MaxCounter"/>, fails the
    /// whole transaction with <see cref="InvalidOperationException"/> and applies nothing.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="delta">The amount to add (may be negative).</param>
    /// <param name="ttl">Expiry applied only when this increment creates the counter.</param>
    public StateTransaction Increment(string key, long delta = 1, TimeSpan? ttl = null)
    {
        StateKeys.ValidateTtl(ttl);
        if (delta is > StateKeys.MaxCounter or < -StateKeys.MaxCounter)
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, $"A counter delta is at most ±{StateKeys.MaxCounter}.");
        }

        AddOperation(new StateOperation(StateOperationKind.Increment, key, default, delta, ttl), null);
        return this;
    }

    /// <summary>Adds <paramref name="member"/> to the ordered index <paramref name="index"/> (already there is fine).</summary>
    public StateTransaction IndexAdd(string index, string member) => AddMember(StateOperationKind.IndexAdd, index, member);

    /// <summary>Removes <paramref name="member"/> from the ordered index <paramref name="index"/> (absent is fine).</summary>
    public StateTransaction IndexRemove(string index, string member) => AddMember(StateOperationKind.IndexRemove, index, member);

    /// <summary>
    /// Appends <paramref name="message"/> to the outbox <paramref name="outbox"/> (a service's name)
    /// of the transaction's partition, so it is recorded exactly when the rest of the transaction
    /// applies. A relay reads it with <see cref="IStateOutboxStore"/>, in order, at least once.
    /// The transaction must name a key first: the outbox is that key's partition's.
    /// </summary>
    public StateTransaction Enqueue(string outbox, ReadOnlyMemory<byte> message)
    {
        StateKeys.ValidateOutbox(outbox, nameof(outbox));
        if (Partition is null)
        {
            throw new InvalidOperationException("An outbox message goes to the partition of the transaction's keys: add a key (a condition or an operation) before enqueueing.");
        }

        Count(message.Length);
        _operations.Add(new StateOperation(StateOperationKind.Enqueue, outbox, message, 0, null));
        return this;
    }

    /// <summary>
    /// Runs <paramref name="callback"/> once the store has applied the transaction, inside
    /// <see cref="IStateStore.ExecuteAsync"/> just before it returns; never when a condition
    /// refused it or the call failed (an outcome the caller cannot know, such as a timeout, runs
    /// nothing either). An event outbox uses it to wake its relay the moment its messages exist.
    /// The callback runs on the caller's path after the write is durable: keep it short, and do
    /// not throw from it (the exception would reach a caller whose transaction applied).
    /// </summary>
    /// <returns>This transaction, for chaining.</returns>
    public StateTransaction OnApplied(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        (_applied ??= []).Add(callback);
        return this;
    }

    /// <summary>Runs the <see cref="OnApplied"/> callbacks; the stores call it after the transaction applied.</summary>
    internal void NotifyApplied()
    {
        if (_applied is null)
        {
            return;
        }

        foreach (var callback in _applied)
        {
            callback();
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless the transaction can run: at least one operation.</summary>
    internal void ValidateForExecution()
    {
        if (_operations.Count == 0)
        {
            throw new ArgumentException("A transaction needs at least one operation (set, delete, increment, index add/remove or enqueue); conditions alone change nothing.");
        }
    }

    private StateTransaction AddMember(StateOperationKind kind, string index, string member)
    {
        JoinPartition(index, nameof(index));
        StateKeys.ValidateMember(member);
        var duplicate = _members is not null
            ? _members.Contains((index, member))
            : ContainsMember(index, member);
        if (duplicate)
        {
            throw new ArgumentException($"The transaction already changes member '{member}' of index '{index}'.", nameof(member));
        }

        Count(member.Length);
        _operations.Add(new StateOperation(kind, index, default, 0, null, member));
        if (_members is not null || _operations.Count > ScanLimit)
        {
            (_members ??= [.. _operations.Where(o => o.Member is not null).Select(o => (o.Key, o.Member!))]).Add((index, member));
        }

        return this;
    }

    private void AddOperation(StateOperation operation, long? expectedVersion)
    {
        JoinPartition(operation.Key, "key");
        var duplicate = _operationKeys is not null
            ? _operationKeys.Contains(operation.Key)
            : ContainsOperationOn(operation.Key);
        if (duplicate)
        {
            throw new ArgumentException($"The transaction already has an operation on '{operation.Key}'; a key takes at most one.", nameof(operation));
        }

        if (expectedVersion is not null && HasCondition(operation.Key))
        {
            throw new ArgumentException($"The transaction already has a condition on '{operation.Key}'; give the expected version once.", nameof(expectedVersion));
        }

        Count(operation.Value.Length);
        if (expectedVersion is { } version)
        {
            Require(operation.Key, version);
        }

        _operations.Add(operation);
        if (_operationKeys is not null || _operations.Count > ScanLimit)
        {
            (_operationKeys ??= new HashSet<string>(_operations.Where(o => o.Member is null && o.Kind != StateOperationKind.Enqueue).Select(o => o.Key), StringComparer.Ordinal)).Add(operation.Key);
        }
    }

    // Loops, not List.Exists with a lambda: a capturing lambda allocates on every call.
    private bool HasCondition(string key)
    {
        if (_conditionKeys is not null)
        {
            return _conditionKeys.Contains(key);
        }

        foreach (var condition in _conditions)
        {
            if (condition.Key == key)
            {
                return true;
            }
        }

        return false;
    }

    private bool ContainsOperationOn(string key)
    {
        foreach (var operation in _operations)
        {
            if (operation.Member is null && operation.Kind != StateOperationKind.Enqueue && operation.Key == key)
            {
                return true;
            }
        }

        return false;
    }

    private bool ContainsMember(string index, string member)
    {
        foreach (var operation in _operations)
        {
            if (operation.Member == member && operation.Key == index)
            {
                return true;
            }
        }

        return false;
    }

    private void Count(long bytes)
    {
        if (_operations.Count >= StateKeys.MaxTransactionOperations)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"A transaction holds at most {StateKeys.MaxTransactionOperations} operations; split the work or keep less in one partition."));
        }

        if (_bytes + bytes > StateKeys.MaxTransactionBytes)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"A transaction carries at most {StateKeys.MaxTransactionBytes} bytes of values, members and messages; this one would carry {_bytes + bytes}."));
        }

        _bytes += bytes;
    }

    private void JoinPartition(string key, string paramName)
    {
        var range = StateKeys.PartitionRange(key, paramName);
        if (Partition is null)
        {
            Partition = key[range];
        }
        else if (!key.AsSpan(range).SequenceEqual(Partition))
        {
            throw new ArgumentException(
                $"The transaction is in partition '{Partition}', but '{key}' is in partition '{key[range]}': a transaction spans one partition " +
                "(one Redis Cluster shard). Keep the keys that must change together under one partition, or split the change into steps.",
                paramName);
        }
    }
}

/// <summary>A condition of a transaction: <paramref name="Key"/> must be at <paramref name="Version"/> (0: absent).</summary>
public readonly record struct StateCondition(string Key, long Version);

/// <summary>What an operation of a transaction does.</summary>
public enum StateOperationKind
{
    /// <summary>Stores a value.</summary>
    Set,

    /// <summary>Deletes an entry.</summary>
    Delete,

    /// <summary>Adds to a counter.</summary>
    Increment,

    /// <summary>Adds a member to an ordered index.</summary>
    IndexAdd,

    /// <summary>Removes a member from an ordered index.</summary>
    IndexRemove,

    /// <summary>Appends a message to the partition's outbox.</summary>
    Enqueue,
}

/// <summary>One operation of a transaction.</summary>
/// <param name="Kind">What it does.</param>
/// <param name="Key">The entry key, the index, or (for <see cref="StateOperationKind.Enqueue"/>) the outbox name.</param>
/// <param name="Value">The value to set, or the outbox message.</param>
/// <param name="Delta">The increment.</param>
/// <param name="Ttl">The expiry of a set or a created counter.</param>
/// <param name="Member">The index member.</param>
public readonly record struct StateOperation(StateOperationKind Kind, string Key, ReadOnlyMemory<byte> Value, long Delta, TimeSpan? Ttl, string? Member = null);
