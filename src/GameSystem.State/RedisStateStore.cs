using System.Globalization;
using System.Text;
using GameSystem.State.Internal;
using StackExchange.Redis;

namespace GameSystem.State;

/// <summary>
/// State in Redis, shared by every instance of a service. Each entry is a hash (value and
/// version); every conditional write, delete and increment is one Lua script, so the version
/// check and the write are a single atomic step on the server.
/// </summary>
/// <remarks>Listing uses SCAN, which covers one server: use a standalone or replicated Redis, not a cluster.</remarks>
public sealed class RedisStateStore : IStateStore
{
    private const string TokenPrefix = "r1:";
    private static readonly RedisValue ValueField = "v";
    private static readonly RedisValue VersionField = "ver";
    private static readonly RedisValue[] EntryFields = [ValueField, VersionField];

    private readonly IDatabase _database;
    private readonly string _keyPrefix;

    /// <summary>Creates a store over <paramref name="connection"/>, which the caller keeps owning.</summary>
    public RedisStateStore(IConnectionMultiplexer connection, RedisStateStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= RedisStateStoreOptions.Default;
        ArgumentNullException.ThrowIfNull(options.KeyPrefix, nameof(options));
        _database = connection.GetDatabase(options.Database);
        _keyPrefix = options.KeyPrefix;
    }

    /// <inheritdoc/>
    public async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        var fields = await _database.HashGetAsync(RedisKeyOf(key), EntryFields).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ToEntry(fields[0], fields[1]);
    }

    /// <inheritdoc/>
    public async ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateExpectedVersion(expectedVersion);
        StateKeys.ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        var result = await _database.ScriptEvaluateAsync(
            RedisScripts.Set,
            [RedisKeyOf(key)],
            [value, expectedVersion ?? -1, Milliseconds(ttl)]).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ToWriteResult(result);
    }

    /// <inheritdoc/>
    public async ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateExpectedVersion(expectedVersion);
        cancellationToken.ThrowIfCancellationRequested();
        var result = await _database.ScriptEvaluateAsync(
            RedisScripts.Delete,
            [RedisKeyOf(key)],
            [expectedVersion ?? -1, (long)StateKeys.TombstoneRetention.TotalMilliseconds]).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ToWriteResult(result);
    }

    /// <inheritdoc/>
    public async ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateTtl(ttl);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await _database.ScriptEvaluateAsync(
                RedisScripts.Increment,
                [RedisKeyOf(key)],
                [delta, Milliseconds(ttl)]).WaitAsync(cancellationToken).ConfigureAwait(false);
            return (long)result;
        }
        catch (RedisServerException e) when (e.Message.Contains("not an integer", StringComparison.Ordinal) || e.Message.Contains("overflow", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Cannot increment '{key}' by {delta}: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        StateKeys.ValidatePrefix(prefix);
        StateKeys.ValidatePageSize(pageSize);
        var cursor = pageToken is null ? 0UL : DecodeToken(pageToken);
        cancellationToken.ThrowIfCancellationRequested();

        var pattern = EscapeGlob(_keyPrefix + prefix) + "*";
        var keys = new List<RedisKey>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var reply = await _database.ExecuteAsync("SCAN", cursor.ToString(CultureInfo.InvariantCulture), "MATCH", pattern, "COUNT", pageSize)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            cursor = ulong.Parse((string)reply[0]!, CultureInfo.InvariantCulture);
            foreach (var found in (RedisKey[])reply[1]!)
            {
                if (seen.Add(found.ToString()))
                {
                    keys.Add(found);
                }
            }
        }
        while (cursor != 0 && keys.Count < pageSize);

        var reads = keys.Select(k => _database.HashGetAsync(k, EntryFields)).ToArray();
        var values = await Task.WhenAll(reads).WaitAsync(cancellationToken).ConfigureAwait(false);
        var items = new List<StateItem>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            // A tombstone, or deleted or expired since SCAN saw it.
            if (ToEntry(values[i][0], values[i][1]) is { } entry)
            {
                items.Add(new StateItem(keys[i].ToString()[_keyPrefix.Length..], entry));
            }
        }

        return new StatePage(items, cursor == 0 ? null : TokenPrefix + cursor.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Escapes the characters Redis glob patterns treat specially, so they match literally.</summary>
    internal static string EscapeGlob(string literal)
    {
        var escaped = new StringBuilder(literal.Length + 8);
        foreach (var c in literal)
        {
            if (c is '*' or '?' or '[' or ']' or '\\' or '^' or '-')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }

    private static ulong DecodeToken(string pageToken)
    {
        if (pageToken.StartsWith(TokenPrefix, StringComparison.Ordinal)
            && ulong.TryParse(pageToken.AsSpan(TokenPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var cursor)
            && cursor != 0)
        {
            return cursor;
        }

        throw new ArgumentException("The page token was not returned by this store's ListAsync.", nameof(pageToken));
    }

    private static long Milliseconds(TimeSpan? ttl) => ttl is { } t ? Math.Max(1, (long)Math.Ceiling(t.TotalMilliseconds)) : 0;

    private static StateEntry? ToEntry(RedisValue value, RedisValue version) =>
        value.IsNull || version.IsNull ? null : new StateEntry((byte[]?)value ?? [], (long)version);

    private static StateWriteResult ToWriteResult(RedisResult result)
    {
        var reply = (RedisResult[])result!;
        if ((long)reply[0] == 1)
        {
            return StateWriteResult.Written((long)reply[1]);
        }

        var version = (long)reply[1];
        return StateWriteResult.Conflict(version == 0 ? null : new StateEntry((byte[]?)reply[2] ?? [], version));
    }

    private RedisKey RedisKeyOf(string key) => _keyPrefix + key;
}
