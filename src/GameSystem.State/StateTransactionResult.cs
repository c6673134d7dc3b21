namespace GameSystem.State;

/// <summary>
/// The outcome of <see cref="IStateStore.ExecuteAsync"/>: every operation applied, or none
/// because a condition did not hold (<see cref="Conflict"/> says which and what the store holds).
/// </summary>
public sealed class StateTransactionResult
{
    private static readonly IReadOnlyDictionary<string, long> None = new Dictionary<string, long>();
    private IReadOnlyDictionary<string, long>? _versions;
    private IReadOnlyDictionary<string, long>? _counters;

    // Results as the store read them, one slot per operation, turned into dictionaries only
    // when asked for: most callers read a version or two by key.
    private readonly IReadOnlyList<StateOperation>? _operations;
    private readonly long[]? _operationVersions;
    private readonly long[]? _operationCounters;

    private StateTransactionResult(StateConflict? conflict, IReadOnlyDictionary<string, long> versions, IReadOnlyDictionary<string, long> counters)
    {
        Conflict = conflict;
        _versions = versions;
        _counters = counters.Count == 0 ? None : counters;
    }

    private StateTransactionResult(IReadOnlyList<StateOperation> operations, long[] versions, long[]? counters)
    {
        _operations = operations;
        _operationVersions = versions;
        _operationCounters = counters;
    }

    /// <summary>True when every operation applied.</summary>
    public bool Succeeded => Conflict is null;

    /// <summary>The condition that failed, read atomically with the check; null on success.</summary>
    public StateConflict? Conflict { get; }

    /// <summary>The version of every key set, deleted (0) or incremented, after the transaction.</summary>
    public IReadOnlyDictionary<string, long> Versions => _versions ??= Collect(_operationVersions);

    /// <summary>The value of every counter incremented, after the transaction.</summary>
    public IReadOnlyDictionary<string, long> Counters => _counters ??= _operationCounters is null ? None : Collect(_operationCounters);

    /// <summary>The version of <paramref name="key"/> after the transaction.</summary>
    /// <exception cref="KeyNotFoundException">The transaction did not write <paramref name="key"/>, or did not apply.</exception>
    public long VersionOf(string key) => Find(key, _operationVersions, counter: false, out var version)
        ? version
        : throw new KeyNotFoundException(Succeeded ? $"The transaction wrote no entry '{key}'." : $"The transaction did not apply: {Conflict}.");

    /// <summary>The value of the counter <paramref name="key"/> after the transaction.</summary>
    /// <exception cref="KeyNotFoundException">The transaction did not increment <paramref name="key"/>, or did not apply.</exception>
    public long CounterOf(string key) => Find(key, _operationCounters, counter: true, out var value)
        ? value
        : throw new KeyNotFoundException(Succeeded ? $"The transaction incremented no counter '{key}'." : $"The transaction did not apply: {Conflict}.");

    /// <summary>A transaction that applied, with one version (and, for increments, one counter value) per operation, in operation order; other operations' slots are ignored.</summary>
    internal static StateTransactionResult Applied(IReadOnlyList<StateOperation> operations, long[] versions, long[]? counters) => new(operations, versions, counters);

    // A small transaction's result is searched in place; a large one's (or one made from
    // dictionaries) through the dictionaries, built on first use.
    private bool Find(string key, long[]? slots, bool counter, out long value)
    {
        if (_operations is not null && slots is not null && _operations.Count <= 16)
        {
            for (var i = 0; i < _operations.Count; i++)
            {
                if (Written(_operations[i], counter) && _operations[i].Key == key)
                {
                    value = slots[i];
                    return true;
                }
            }

            value = 0;
            return false;
        }

        return (counter ? Counters : Versions).TryGetValue(key, out value);
    }

    private static bool Written(StateOperation operation, bool counter) =>
        counter ? operation.Kind == StateOperationKind.Increment : operation.Kind is StateOperationKind.Set or StateOperationKind.Delete or StateOperationKind.Increment;

    private IReadOnlyDictionary<string, long> Collect(long[]? slots)
    {
        if (_operations is null || slots is null)
        {
            return None;
        }

        var counter = slots == _operationCounters;
        var collected = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < _operations.Count; i++)
        {
            if (Written(_operations[i], counter))
            {
                collected[_operations[i].Key] = slots[i];
            }
        }

        return collected;
    }

    /// <summary>A transaction that applied.</summary>
    public static StateTransactionResult Applied(IReadOnlyDictionary<string, long> versions, IReadOnlyDictionary<string, long> counters) => new(null, versions, counters);

    /// <summary>A transaction refused by <paramref name="conflict"/>; nothing applied.</summary>
    public static StateTransactionResult Refused(StateConflict conflict)
    {
        ArgumentNullException.ThrowIfNull(conflict);
        return new(conflict, None, None);
    }

    /// <inheritdoc/>
    public override string ToString() => Succeeded ? $"Applied ({Versions.Count} entries written)" : $"Refused: {Conflict}";
}

/// <summary>A condition that did not hold.</summary>
/// <param name="Key">The key whose condition failed.</param>
/// <param name="ExpectedVersion">The version the condition asked for (0: absent).</param>
/// <param name="Current">What the store holds at <paramref name="Key"/> (null: absent).</param>
public sealed record StateConflict(string Key, long ExpectedVersion, StateEntry? Current)
{
    /// <summary>The version the store holds (0: absent).</summary>
    public long CurrentVersion => Current?.Version ?? 0;

    /// <inheritdoc/>
    public override string ToString() => $"'{Key}' is at version {CurrentVersion}, not {ExpectedVersion}";
}
