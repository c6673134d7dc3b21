using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace GameSystem.State;

/// <summary>
/// The embedded store, used when no Redis is configured: state lives in this process and is
/// lost when it stops. Thread-safe; expiry follows the <see cref="TimeProvider"/> given.
/// </summary>
public sealed class InMemoryStateStore : IStateStore
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, Slot> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tombstone> _tombstones = new(StringComparer.Ordinal);
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

            var entry = new StateEntry(copy, (current?.Version ?? BuryVersion(key, now)) + 1);
            _entries[key] = new Slot(entry, now + ttl);
            SweepIfDue(now);
            return ValueTask.FromResult(StateWriteResult.Written(entry.Version));
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

            if (current is not null)
            {
                _entries.Remove(key);
                _tombstones[key] = new Tombstone(current.Version, now + StateKeys.TombstoneRetention);
            }

            return ValueTask.FromResult(StateWriteResult.Written(0));
        }
    }

    /// <inheritdoc/>
    public ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var slot = Find(key, now);
            long sum;
            if (slot is null)
            {
                sum = delta;
                _entries[key] = new Slot(new StateEntry(Encode(sum), BuryVersion(key, now) + 1), now + ttl);
                SweepIfDue(now);
                return ValueTask.FromResult(sum);
            }

            if (!Utf8Parser.TryParse(slot.Entry.Value.Span, out long counter, out var consumed) || consumed != slot.Entry.Value.Length)
            {
                throw new InvalidOperationException($"The entry '{key}' does not hold an integer, so it cannot be incremented.");
            }

            try
            {
                sum = checked(counter + delta);
            }
            catch (OverflowException e)
            {
                throw new InvalidOperationException($"Incrementing '{key}' ({counter}) by {delta} would overflow a 64-bit integer.", e);
            }

            _entries[key] = slot with { Entry = new StateEntry(Encode(sum), slot.Entry.Version + 1) };
            return ValueTask.FromResult(sum);
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

    private sealed record Slot(StateEntry Entry, DateTimeOffset? ExpiresAt)
    {
        public bool IsExpired(DateTimeOffset now) => ExpiresAt <= now;
    }
}
