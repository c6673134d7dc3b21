namespace GameSystem.State;

/// <summary>
/// The outcome of a conditional write: success with the entry's new version, or a version
/// conflict carrying what the store actually holds.
/// </summary>
public readonly record struct StateWriteResult
{
    private StateWriteResult(bool succeeded, long version, StateEntry? current)
    {
        Succeeded = succeeded;
        Version = version;
        Current = current;
    }

    /// <summary>True when the write happened; false when the expected version did not match.</summary>
    public bool Succeeded { get; }

    /// <summary>True when the write did not happen because the entry was at another version.</summary>
    public bool IsConflict => !Succeeded;

    /// <summary>
    /// On success, the entry's version after the write (0 after a delete); on conflict, the
    /// version the store holds (0 when the key is absent).
    /// </summary>
    public long Version { get; }

    /// <summary>On conflict, the entry the store holds (null when absent), read atomically with the check; null on success.</summary>
    public StateEntry? Current { get; }

    /// <summary>A write that happened, leaving the entry at <paramref name="version"/>.</summary>
    public static StateWriteResult Written(long version) => new(true, version, null);

    /// <summary>A write refused because the store holds <paramref name="current"/> (null: absent).</summary>
    public static StateWriteResult Conflict(StateEntry? current) => new(false, current?.Version ?? 0, current);

    /// <inheritdoc/>
    public override string ToString() => Succeeded ? $"Written (version {Version})" : $"Conflict (store holds version {Version})";
}
