namespace GameSystem.State;

/// <summary>A stored value and its version (1 or more).</summary>
public sealed class StateEntry
{
    /// <summary>Creates an entry.</summary>
    public StateEntry(ReadOnlyMemory<byte> value, long version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        Value = value;
        Version = version;
    }

    /// <summary>The stored bytes.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The version: 1 after the write that created the entry, plus 1 per write since.</summary>
    public long Version { get; }

    /// <inheritdoc/>
    public override string ToString() => $"StateEntry(Version = {Version}, {Value.Length} bytes)";
}
