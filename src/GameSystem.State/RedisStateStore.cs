using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using GameSystem.State.Internal;
using StackExchange.Redis;
using StackExchange.Redis.KeyspaceIsolation;

namespace GameSystem.State;

/// <summary>
/// State in Redis (a standalone server or a Redis Cluster), shared by every instance of a
/// service. Each entry is a hash (value and version); every conditional write, delete,
/// increment and transaction is one Lua script run by its SHA, so the checks and the writes
/// they guard are a single atomic step on the server.
/// </summary>
/// <remarks>
/// <para>
/// A key's partition (the part in braces) is a Redis hash tag, so a partition lives on one
/// cluster shard and a transaction is one script there. Indexes are sorted sets and outboxes
/// sorted sets beside a small hash, under Redis keys that end in a control character no
/// store key may hold, so they never collide with entries. Listing by prefix scans every
/// primary of a cluster (only the one holding the partition when the prefix names it).
/// </para>
/// <para>
/// Failures to reach Redis surface as <see cref="StateStoreUnavailableException"/>. For calls
/// to fail fast while Redis is down rather than wait in the client's backlog, connect with
/// <see cref="BacklogPolicy.FailFast"/> (<see cref="StateStoreServiceCollectionExtensions.AddGameSystemStateStore"/> does).
/// </para>
/// </remarks>
public sealed class RedisStateStore : IStateStore, IStateOutboxStore
{
    private const string ListTokenPrefix = "r2:";
    private const string InternalSeparator = "\u001F";
    private static readonly RedisValue ValueField = "v";
    private static readonly RedisValue VersionField = "ver";
    private static readonly RedisValue[] EntryFields = [ValueField, VersionField];
    private static readonly RedisScript SetScript = new(RedisScripts.Set);
    private static readonly RedisScript DeleteScript = new(RedisScripts.Delete);
    private static readonly RedisScript IncrementScript = new(RedisScripts.Increment);
    private static readonly RedisScript TransactionScript = new(RedisScripts.Transaction);
    private static readonly RedisScript ClaimScript = new(RedisScripts.ClaimOutbox);
    private static readonly RedisScript CompleteScript = new(RedisScripts.CompleteOutbox);
    private static readonly RedisScript RegisterScript = new(RedisScripts.RegisterOutbox);
    private static readonly RedisScript MarkRetiringScript = new(RedisScripts.MarkOutboxRetiring);
    private static readonly RedisScript ForgetRegistrationScript = new(RedisScripts.ForgetOutboxRegistration);

    private readonly IConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly IDatabase _unprefixed;
    private readonly string _keyPrefix;
    private readonly TimeProvider _time;
    private readonly bool _compileShapes;

    /// <summary>Creates a store over <paramref name="connection"/>, which the caller keeps owning.</summary>
    public RedisStateStore(IConnectionMultiplexer connection, RedisStateStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= RedisStateStoreOptions.Default;
        ArgumentNullException.ThrowIfNull(options.KeyPrefix, nameof(options));
        if (options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0 || options.KeyPrefix.Any(char.IsControl))
        {
            throw new ArgumentException($"The key prefix '{options.KeyPrefix}' must not contain braces or control characters: braces would change the Redis hash tag of every key.", nameof(options));
        }

        _connection = connection;

        // The prefixed database puts the prefix in front of every key as bytes on the wire; the
        // hot paths build the prefixed key themselves (see Full).
        _unprefixed = connection.GetDatabase(options.Database);
        _database = options.KeyPrefix.Length == 0 ? _unprefixed : _unprefixed.WithKeyPrefix(options.KeyPrefix);
        _keyPrefix = options.KeyPrefix;
        _time = timeProvider ?? TimeProvider.System;
        _compileShapes = options.CompileTransactionShapes;
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            StateKeys.Validate(key);
            cancellationToken.ThrowIfCancellationRequested();
            var fields = await Within(_unprefixed.HashGetAsync(Full(key), EntryFields), cancellationToken).ConfigureAwait(false);
            return ToEntry(fields[0], fields[1]);
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IReadOnlyList<StateEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(keys);
            foreach (var key in keys)
            {
                StateKeys.Validate(key, nameof(keys));
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (keys.Count == 0)
            {
                return [];
            }

            // One HMGET per key, each routed to its partition's shard. The keys of one partition
            // are read in one MULTI/EXEC, so they are a snapshot: a transaction committing
            // between two plain pipelined reads would show its write to one key and not to the
            // other (a retried write saw the balance it had charged but not the idempotency key
            // it had claimed, and was refused for want of funds).
            var reads = new Task<RedisValue[]>[keys.Count];
            var batches = new List<Task<bool>>();
            foreach (var partition in Enumerable.Range(0, keys.Count).GroupBy(i => StateKeys.PartitionOf(keys[i], nameof(keys)), StringComparer.Ordinal))
            {
                var indexes = partition.ToList();
                if (indexes.Count == 1)
                {
                    reads[indexes[0]] = _unprefixed.HashGetAsync(Full(keys[indexes[0]]), EntryFields);
                    continue;
                }

                var snapshot = _unprefixed.CreateTransaction();
                foreach (var i in indexes)
                {
                    reads[i] = snapshot.HashGetAsync(Full(keys[i]), EntryFields);
                }

                batches.Add(snapshot.ExecuteAsync());
            }

            await Within(Task.WhenAll(batches), cancellationToken).ConfigureAwait(false);
            var values = await Within(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
            return [.. values.Select(v => ToEntry(v[0], v[1]))];
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        try
        {
            StateKeys.Validate(key);
            StateKeys.ValidateExpectedVersion(expectedVersion);
            StateKeys.ValidateTtl(ttl);
            cancellationToken.ThrowIfCancellationRequested();
            var result = await Within(SetScript.EvaluateAsync(_unprefixed, [Full(key)], [value, expectedVersion ?? -1, Milliseconds(ttl)]), cancellationToken).ConfigureAwait(false);
            return ToWriteResult(result);
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        try
        {
            StateKeys.Validate(key);
            StateKeys.ValidateExpectedVersion(expectedVersion);
            cancellationToken.ThrowIfCancellationRequested();
            var result = await Within(
                DeleteScript.EvaluateAsync(_unprefixed, [Full(key)], [expectedVersion ?? -1, (long)StateKeys.TombstoneRetention.TotalMilliseconds]),
                cancellationToken).ConfigureAwait(false);
            return ToWriteResult(result);
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        StateKeys.ValidateTtl(ttl);
        InMemoryStateStore.ValidateDelta(delta);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return (long)await Call(IncrementScript.EvaluateAsync(_unprefixed, [Full(key)], [delta, Milliseconds(ttl)]), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("not an integer", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The entry '{key}' does not hold an integer, so it cannot be incremented.", e);
        }
        catch (RedisServerException e) when (e.Message.Contains("overflow", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Incrementing '{key}' by {delta} would pass the ±{StateKeys.MaxCounter} (2^53 - 1) a counter may hold.", e);
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StateTransactionResult> ExecuteAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(transaction);
            transaction.ValidateForExecution();
            cancellationToken.ThrowIfCancellationRequested();
            var script = TransactionPlan.Build(transaction, _compileShapes, _keyPrefix);
            Dictionary<int, RedisValue>? registrations = null;
            RedisResult[] reply;
            for (var attempt = 0; ; attempt++)
            {
                // The script by SHA, awaited here rather than through RedisScript.EvaluateAsync:
                // the hottest path of the store saves a state machine per call. Its keys carry
                // the key prefix already (see PlanKeys), so it goes to the database itself.
                var arguments = script.Arguments(registrations);
                try
                {
                    reply = (RedisResult[])(await Within(_unprefixed.ScriptEvaluateAsync(script.Script.Sha1, script.Keys, arguments), cancellationToken).ConfigureAwait(false))!;
                }
                catch (RedisServerException e) when (RedisScript.IsNoScript(e))
                {
                    reply = (RedisResult[])(await Within(_unprefixed.ScriptEvaluateAsync(script.Script.Text, script.Keys, arguments), cancellationToken).ConfigureAwait(false))!;
                }

                if ((long)reply[0] != 2)
                {
                    break;
                }

                // That outbox of the partition is not listed in the registry relays read (or a relay
                // is retiring the listing given): list it, then run again naming the listing.
                // Listing before the write means a crash between the two leaves a listed empty
                // outbox (retired later), never an unlisted full one.
                if (attempt == 8)
                {
                    throw new StateStoreUnavailableException($"The outbox of partition '{transaction.Partition}' could not be listed: relays kept retiring it. Retry.");
                }

                var meta = (int)reply[1];
                (registrations ??= [])[meta] = (RedisValue)await Within(
                    RegisterScript.EvaluateAsync(_database, [RegistryKey(script.OutboxAt(meta))], [transaction.Partition!]),
                    cancellationToken).ConfigureAwait(false);
            }

            if ((long)reply[0] == 1)
            {
                var applied = script.ToResult(reply);
                transaction.NotifyApplied();
                return applied;
            }

            return (long)reply[0] switch
            {
                0 => StateTransactionResult.Refused(script.ToConflict(reply)),
                3 => throw new InvalidOperationException(
                    $"The transaction applied nothing: the counter '{transaction.Operations[(int)reply[1] - 1].Key}' {(string?)reply[2]}."),
                var code => throw new InvalidOperationException($"Unexpected transaction reply {code}."),
            };
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StateIndexPage> QueryIndexAsync(string index, StateIndexQuery query, CancellationToken cancellationToken = default)
    {
        try
        {
            StateKeys.Validate(index, nameof(index));
            var range = IndexRange.Resolve(query);
            cancellationToken.ThrowIfCancellationRequested();
            if (range.IsEmpty)
            {
                return new StateIndexPage([], null);
            }

            var values = await Within(
                _database.SortedSetRangeByValueAsync(IndexKey(index), Bound(range.Lower), Bound(range.Upper), Exclusion(range), query.Descending ? Order.Descending : Order.Ascending, 0, query.PageSize + 1),
                cancellationToken).ConfigureAwait(false);
            var members = new List<string>(values.Length);
            foreach (var value in values)
            {
                members.Add(value.ToString());
            }

            string? next = null;
            if (members.Count > query.PageSize)
            {
                members.RemoveAt(query.PageSize);
                next = IndexRange.EncodeToken(query.Descending, members[^1]);
            }

            return new StateIndexPage(members, next);
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <inheritdoc/>
    /// <remarks>Pings every primary the client knows (one on a single server, each shard's on a cluster): a shard that cannot be reached fails the partitions it holds.</remarks>
    public async ValueTask PingAsync(CancellationToken cancellationToken = default)
    {
        var primaries = _connection.GetServers().Where(server => !server.IsReplica).ToList();
        if (primaries.Count == 0)
        {
            throw new StateStoreUnavailableException("The state store (Redis) cannot be reached: the client knows no primary server.");
        }

        await Call(Task.WhenAll(primaries.Select(server => server.PingAsync())), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<long> CountIndexAsync(string index, string? prefix = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(index, nameof(index));
        var range = IndexRange.Resolve(StateIndexQuery.Default with { Prefix = prefix });
        cancellationToken.ThrowIfCancellationRequested();
        return prefix is null
            ? await Call(_database.SortedSetLengthAsync(IndexKey(index)), cancellationToken).ConfigureAwait(false)
            : await Call(_database.SortedSetLengthByValueAsync(IndexKey(index), Bound(range.Lower), Bound(range.Upper), Exclude.Stop), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
    {
        StateKeys.ValidatePrefix(prefix);
        StateKeys.ValidatePageSize(pageSize);
        var (serverIndex, cursor) = pageToken is null ? (0, 0UL) : DecodeListToken(pageToken);
        cancellationToken.ThrowIfCancellationRequested();

        var servers = ServersFor(prefix);
        if (serverIndex >= servers.Count)
        {
            throw new ArgumentException("The page token was not returned by this store's ListAsync (or the cluster changed shape since).", nameof(pageToken));
        }

        var pattern = EscapeGlob(_keyPrefix + prefix) + "*";
        var keys = new List<RedisKey>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (keys.Count < pageSize && serverIndex < servers.Count)
        {
            var server = servers[serverIndex];
            var reply = server is null
                ? await Call(_unprefixed.ExecuteAsync("SCAN", cursor.ToString(CultureInfo.InvariantCulture), "MATCH", pattern, "COUNT", pageSize), cancellationToken).ConfigureAwait(false)
                : await Call(server.ExecuteAsync("SCAN", cursor.ToString(CultureInfo.InvariantCulture), "MATCH", pattern, "COUNT", pageSize), cancellationToken).ConfigureAwait(false);
            cursor = ulong.Parse((string)reply[0]!, CultureInfo.InvariantCulture);
            foreach (var found in (RedisKey[])reply[1]!)
            {
                var name = found.ToString();

                // Indexes and outboxes live beside the entries under names no entry can have.
                if (!name.Contains(InternalSeparator, StringComparison.Ordinal) && seen.Add(name))
                {
                    keys.Add(found);
                }
            }

            if (cursor == 0)
            {
                serverIndex++;
            }
        }

        var reads = keys.Select(k => _unprefixed.HashGetAsync(k, EntryFields)).ToArray();
        var values = await Call(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
        var items = new List<StateItem>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            // A tombstone, or deleted or expired since SCAN saw it.
            if (ToEntry(values[i][0], values[i][1]) is { } entry)
            {
                items.Add(new StateItem(keys[i].ToString()[_keyPrefix.Length..], entry));
            }
        }

        var done = serverIndex >= servers.Count;
        return new StatePage(items, done ? null : string.Create(CultureInfo.InvariantCulture, $"{ListTokenPrefix}{serverIndex}:{cursor}"));
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<string> ListOutboxPartitionsAsync(string outbox, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StateKeys.ValidateOutbox(outbox);
        const int Page = 500;
        var registry = RegistryKey(outbox);
        for (long start = 0; ; start += Page)
        {
            var partitions = await Call(_database.SortedSetRangeByRankAsync(registry, start, start + Page - 1), cancellationToken).ConfigureAwait(false);
            foreach (var partition in partitions)
            {
                yield return partition.ToString();
            }

            if (partitions.Length < Page)
            {
                yield break;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<StateOutboxClaim> ClaimOutboxAsync(string outbox, string partition, string owner, TimeSpan lease, int maxMessages, CancellationToken cancellationToken = default)
    {
        InMemoryStateStore.ValidateClaim(outbox, partition, owner, lease, maxMessages);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = (RedisResult[])(await Call(
            ClaimScript.EvaluateAsync(_database, [OutboxKey(outbox, partition), OutboxMetaKey(outbox, partition)], [owner, Milliseconds(lease), maxMessages]),
            cancellationToken).ConfigureAwait(false))!;
        var last = (long)reply[2];
        var oldest = (byte[]?)reply[3] is { Length: > 0 } member ? ParseOutboxMember(member).EnqueuedAt : (DateTimeOffset?)null;
        var messages = new List<StateOutboxMessage>(reply.Length - 4);
        for (var i = 4; i < reply.Length; i++)
        {
            messages.Add(ParseOutboxMember((byte[])reply[i]!));
        }

        return new StateOutboxClaim((long)reply[0] == 1, messages, (long)reply[1], oldest, last == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(last));
    }

    /// <inheritdoc/>
    public async ValueTask<long> CompleteOutboxAsync(string outbox, string partition, string owner, long throughSequence, CancellationToken cancellationToken = default)
    {
        InMemoryStateStore.ValidateOutboxPartition(outbox, partition);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        cancellationToken.ThrowIfCancellationRequested();
        return (long)await Call(
            CompleteScript.EvaluateAsync(_database, [OutboxKey(outbox, partition), OutboxMetaKey(outbox, partition)], [owner, throughSequence]),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<bool> RetireOutboxPartitionAsync(string outbox, string partition, TimeSpan idleFor, CancellationToken cancellationToken = default)
    {
        InMemoryStateStore.ValidateOutboxPartition(outbox, partition);
        cancellationToken.ThrowIfCancellationRequested();
        var registry = RegistryKey(outbox);
        var listed = await Call(_database.SortedSetScoreAsync(registry, partition), cancellationToken).ConfigureAwait(false);
        if (listed is not { } value)
        {
            return true;
        }

        // Scores are whole registration counts, which ZSCORE writes as plain integers.
        var score = value.ToString(CultureInfo.InvariantCulture);

        // Two steps, because the registry is on another shard than the partition: mark the
        // outbox "retiring the registration scored S" (only if empty, unleased and idle), then
        // forget the partition only if its registration is still S. A transaction that
        // enqueues after the mark lists the partition anew (a new score) before it writes, so
        // its listing survives; a crash between the steps leaves the partition listed.
        if ((long)await Call(MarkRetiringScript.EvaluateAsync(_database, [OutboxKey(outbox, partition), OutboxMetaKey(outbox, partition)], [Milliseconds(idleFor), (RedisValue)score]), cancellationToken).ConfigureAwait(false) == 0)
        {
            return false;
        }

        return (long)await Call(ForgetRegistrationScript.EvaluateAsync(_database, [registry], [partition, (RedisValue)score]), cancellationToken).ConfigureAwait(false) == 1;
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

    /// <summary>
    /// An entry's Redis key with the key prefix, for the hot paths (reads, writes,
    /// transactions), which go to the database itself: StackExchange.Redis's key-prefix wrapper
    /// costs more per call than the one string made here.
    /// </summary>
    private RedisKey Full(string key) => _keyPrefix.Length == 0 ? key : _keyPrefix + key;

    // Names within the key prefix, which the prefixed database adds.
    internal static string EntryKey(string key) => key;

    internal static string IndexKey(string index) => index + InternalSeparator + "index";

    internal static string OutboxKey(string outbox, string partition) => "{" + partition + "}" + InternalSeparator + "outbox:" + outbox;

    internal static string OutboxMetaKey(string outbox, string partition) => "{" + partition + "}" + InternalSeparator + "outbox-meta:" + outbox;

    private static RedisKey RegistryKey(string outbox) => "{outbox-registry:" + outbox + "}" + InternalSeparator + "partitions";

    /// <summary>
    /// Awaits a Redis call within the caller's cancellation, turning "Redis cannot be reached"
    /// into <see cref="StateStoreUnavailableException"/>. Hot paths use <see cref="Within{T}(Task{T}, CancellationToken)"/> and
    /// map with <see cref="Unavailable"/> in their own catch, saving a state machine per call.
    /// </summary>
    private static async Task<T> Call<T>(ValueTask<T> call, CancellationToken cancellationToken) => await Call(call.AsTask(), cancellationToken).ConfigureAwait(false);

    private static async Task<T> Call<T>(Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await Within(call, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    private static Task<T> Within<T>(Task<T> call, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? call.WaitAsync(cancellationToken) : call;

    private static ValueTask<T> Within<T>(ValueTask<T> call, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled && !call.IsCompleted ? new ValueTask<T>(call.AsTask().WaitAsync(cancellationToken)) : call;

    /// <summary>The <see cref="StateStoreUnavailableException"/> for a failure to reach Redis; null for any other exception.</summary>
    private static StateStoreUnavailableException? Unavailable(Exception exception) => exception switch
    {
        StateStoreUnavailableException => null,
        RedisConnectionException e => new StateStoreUnavailableException($"The state store (Redis) cannot be reached: {e.FailureType}. The call changed nothing it reported; retry once Redis is back.", e),
        RedisTimeoutException e => new StateStoreUnavailableException("The state store (Redis) did not answer in time; the call may or may not have applied. Retry with the same request id.", e),
        RedisServerException e when IsTransient(e.Message) => new StateStoreUnavailableException($"The state store (Redis) is not serving: {e.Message}", e),

        // A connection torn down mid-write can surface from the client's socket pipeline
        // itself ("Writing is not allowed after writer was completed").
        InvalidOperationException or ObjectDisposedException or IOException when exception.Source is "System.IO.Pipelines" or "Pipelines.Sockets.Unofficial" or "StackExchange.Redis" =>
            new StateStoreUnavailableException($"The state store (Redis) connection broke: {exception.Message}", exception),
        _ => null,
    };

    private static bool IsTransient(string message) =>
        message.StartsWith("LOADING", StringComparison.Ordinal) || message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("READONLY", StringComparison.Ordinal);

    private static RedisValue Bound(string? member) => member is null ? default : (RedisValue)member;

    private static Exclude Exclusion(IndexRange range) => (range.LowerExclusive ? Exclude.Start : Exclude.None) | (range.Upper is null ? Exclude.None : Exclude.Stop);

    private static StateOutboxMessage ParseOutboxMember(byte[] member)
    {
        var first = Array.IndexOf(member, (byte)':');
        var second = Array.IndexOf(member, (byte)':', first + 1);
        var sequence = long.Parse(Encoding.ASCII.GetString(member, 0, first), CultureInfo.InvariantCulture);
        var enqueued = long.Parse(Encoding.ASCII.GetString(member, first + 1, second - first - 1), CultureInfo.InvariantCulture);
        return new StateOutboxMessage(sequence, DateTimeOffset.FromUnixTimeMilliseconds(enqueued), member.AsMemory(second + 1));
    }

    private static (int Server, ulong Cursor) DecodeListToken(string pageToken)
    {
        if (pageToken.StartsWith(ListTokenPrefix, StringComparison.Ordinal)
            && pageToken.AsSpan(ListTokenPrefix.Length) is var body
            && body.IndexOf(':') is var colon and > 0
            && int.TryParse(body[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var server)
            && ulong.TryParse(body[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var cursor))
        {
            return (server, cursor);
        }

        throw new ArgumentException("The page token was not returned by this store's ListAsync.", nameof(pageToken));
    }

    private static long Milliseconds(TimeSpan? ttl) => ttl is { } t ? Math.Max(1, (long)Math.Ceiling(t.TotalMilliseconds)) : 0;

    private static StateEntry? ToEntry(RedisValue value, RedisValue version) =>
        value.IsNull || version.IsNull ? null : new StateEntry((byte[]?)value ?? [], Version(version));

    /// <summary>A live entry's version: its <c>ver</c> field is <c>N</c>, or <c>N.5</c> while it has a TTL (see <see cref="RedisScripts"/>).</summary>
    private static long Version(RedisValue stored) =>
        stored.TryParse(out long version) ? version : (long)Math.Floor((double)stored);

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

    /// <summary>
    /// The servers a listing of <paramref name="prefix"/> scans: null (the database itself) on a
    /// standalone Redis; on a cluster every primary in a stable order, or only the one holding
    /// the partition the prefix names.
    /// </summary>
    private List<IServer?> ServersFor(string prefix)
    {
        var primaries = _connection.GetServers().Where(s => !s.IsReplica).ToList();
        if (primaries.Count == 0 || primaries.All(s => s.ServerType != ServerType.Cluster))
        {
            return [null];
        }

        var open = prefix.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0 && prefix.IndexOf('}', open + 1) > open + 1)
        {
            return [_connection.GetServer((RedisKey)(_keyPrefix + prefix))];
        }

        return [.. primaries.OrderBy(s => s.EndPoint.ToString(), StringComparer.Ordinal).Cast<IServer?>()];
    }

    /// <summary>A transaction as the script's keys, plan and values (see <see cref="RedisScripts.Transaction"/>).</summary>
    private sealed class TransactionPlan
    {
        private const int Fixed = 3;
        private readonly StateTransaction _transaction;
        private readonly RedisValue[] _arguments;
        private readonly bool _general;
        private readonly bool _enqueues;
        private Dictionary<int, string>? _outboxes;

        private TransactionPlan(StateTransaction transaction, RedisKey[] keys, RedisValue[] arguments, bool general, bool enqueues)
        {
            _transaction = transaction;
            Keys = keys;
            _arguments = arguments;
            _general = general;
            _enqueues = enqueues;
        }

        public RedisKey[] Keys { get; }

        public string OutboxAt(int metaKeyPosition) => _outboxes![metaKeyPosition];

        /// <summary>The script that runs the plan: its shape's own, or the general one.</summary>
        public RedisScript Script { get; private init; } = TransactionScript;

        /// <summary>The plan of <paramref name="transaction"/>, its keys under <paramref name="keyPrefix"/>.</summary>
        public static TransactionPlan Build(StateTransaction transaction, bool useShapes, string keyPrefix) =>
            useShapes && transaction.Conditions.Count + transaction.Operations.Count <= TransactionShapes.MaxSteps && BuildShaped(transaction, keyPrefix) is { } shaped
                ? shaped
                : BuildGeneral(transaction, keyPrefix);

        /// <summary>
        /// A plan for the script of the transaction's shape, which takes every number as an
        /// argument; null when the shape is new and the cache of shapes is full. The shape's
        /// text is written to the stack and looked up without making a string.
        /// </summary>
        private static TransactionPlan? BuildShaped(StateTransaction transaction, string keyPrefix)
        {
            var conditions = transaction.Conditions;
            var operations = transaction.Operations;

            // The registrations come first, and only for a shape that enqueues.
            var numbers = conditions.Count;
            var values = 0;
            var enqueues = false;
            foreach (var operation in operations)
            {
                values += operation.Kind is StateOperationKind.Delete or StateOperationKind.Increment ? 0 : 1;
                numbers += operation.Kind switch { StateOperationKind.Set when operation.Ttl is not null => 1, StateOperationKind.Increment => 2, _ => 0 };
                enqueues |= operation.Kind == StateOperationKind.Enqueue;
            }

            var at = enqueues ? 1 : 0;
            var arguments = new RedisValue[at + numbers + values];
            var value = at + numbers;
            Span<char> shape = stackalloc char[TransactionShapes.MaxShapeLength];
            var length = 0;
            void Step(Span<char> shape, char code, int key, int meta = 0)
            {
                shape[length++] = code;
                key.TryFormat(shape[length..], out var written, provider: CultureInfo.InvariantCulture);
                length += written;
                if (meta > 0)
                {
                    shape[length++] = ':';
                    meta.TryFormat(shape[length..], out written, provider: CultureInfo.InvariantCulture);
                    length += written;
                }

                shape[length++] = ' ';
            }

            var keys = new PlanKeys(conditions.Count + (2 * operations.Count));
            try
            {
                foreach (var condition in conditions)
                {
                    Step(shape, '=', keys.Position(EntryKey(condition.Key)));
                    arguments[at++] = condition.Version;
                }

                Dictionary<int, string>? outboxes = null;
                foreach (var operation in operations)
                {
                    switch (operation.Kind)
                    {
                        case StateOperationKind.Set:
                            if (operation.Ttl is null)
                            {
                                Step(shape, 'S', keys.Position(EntryKey(operation.Key)));
                            }
                            else
                            {
                                Step(shape, 'T', keys.Position(EntryKey(operation.Key)));
                                arguments[at++] = Milliseconds(operation.Ttl);
                            }

                            arguments[value++] = operation.Value;
                            break;
                        case StateOperationKind.Delete:
                            Step(shape, 'D', keys.Position(EntryKey(operation.Key)));
                            break;
                        case StateOperationKind.Increment:
                            Step(shape, 'I', keys.Position(EntryKey(operation.Key)));
                            arguments[at++] = operation.Delta;
                            arguments[at++] = Milliseconds(operation.Ttl);
                            break;
                        case StateOperationKind.IndexAdd or StateOperationKind.IndexRemove:
                            Step(shape, operation.Kind == StateOperationKind.IndexAdd ? 'A' : 'R', keys.Position(IndexKey(operation.Key)));
                            arguments[value++] = operation.Member;
                            break;
                        default:
                            var meta = keys.Position(OutboxMetaKey(operation.Key, transaction.Partition!));
                            Step(shape, 'O', keys.Position(OutboxKey(operation.Key, transaction.Partition!)), meta);
                            (outboxes ??= [])[meta] = operation.Key;
                            arguments[value++] = operation.Value;
                            break;
                    }
                }

                // A shape seen for the first time once the cache is full runs the general way.
                return TransactionShapes.For(shape[..length]) is { } script
                    ? new TransactionPlan(transaction, keys.ToArray(keyPrefix), arguments, general: false, enqueues) { _outboxes = outboxes, Script = script }
                    : null;
            }
            finally
            {
                keys.Release();
            }
        }

        /// <summary>A plan for the general script, which reads the steps and their numbers from one argument.</summary>
        private static TransactionPlan BuildGeneral(StateTransaction transaction, string keyPrefix)
        {
            var conditions = transaction.Conditions;
            var operations = transaction.Operations;
            var values = 0;
            foreach (var operation in operations)
            {
                values += operation.Kind is StateOperationKind.Delete or StateOperationKind.Increment ? 0 : 1;
            }

            var arguments = new RedisValue[Fixed + values];
            var value = Fixed;
            var plan = new StringBuilder(12 * (conditions.Count + operations.Count));
            var keys = new PlanKeys(conditions.Count + (2 * operations.Count));
            try
            {
                foreach (var condition in conditions)
                {
                    plan.Append(CultureInfo.InvariantCulture, $"={keys.Position(EntryKey(condition.Key))}:{condition.Version} ");
                }

                Dictionary<int, string>? outboxes = null;
                foreach (var operation in operations)
                {
                    switch (operation.Kind)
                    {
                        case StateOperationKind.Set:
                            plan.Append(CultureInfo.InvariantCulture, $"S{keys.Position(EntryKey(operation.Key))}:{Milliseconds(operation.Ttl)}");
                            arguments[value++] = operation.Value;
                            break;
                        case StateOperationKind.Delete:
                            plan.Append(CultureInfo.InvariantCulture, $"D{keys.Position(EntryKey(operation.Key))}");
                            break;
                        case StateOperationKind.Increment:
                            plan.Append(CultureInfo.InvariantCulture, $"I{keys.Position(EntryKey(operation.Key))}:{operation.Delta}:{Milliseconds(operation.Ttl)}");
                            break;
                        case StateOperationKind.IndexAdd or StateOperationKind.IndexRemove:
                            plan.Append(CultureInfo.InvariantCulture, $"{(operation.Kind == StateOperationKind.IndexAdd ? 'A' : 'R')}{keys.Position(IndexKey(operation.Key))}");
                            arguments[value++] = operation.Member;
                            break;
                        default:
                            var meta = keys.Position(OutboxMetaKey(operation.Key, transaction.Partition!));
                            plan.Append(CultureInfo.InvariantCulture, $"O{keys.Position(OutboxKey(operation.Key, transaction.Partition!))}:{meta}");
                            (outboxes ??= [])[meta] = operation.Key;
                            arguments[value++] = operation.Value;
                            break;
                    }

                    plan.Append(' ');
                }

                arguments[Fixed - 1] = plan.ToString();
                return new TransactionPlan(transaction, keys.ToArray(keyPrefix), arguments, general: true, enqueues: outboxes is not null) { _outboxes = outboxes };
            }
            finally
            {
                keys.Release();
            }
        }

        /// <summary>The script's ARGV: the general script's retention, and the registrations where the plan enqueues.</summary>
        public RedisValue[] Arguments(Dictionary<int, RedisValue>? registrations)
        {
            if (_general)
            {
                _arguments[0] = (long)StateKeys.TombstoneRetention.TotalMilliseconds;
            }

            if (_enqueues || _general)
            {
                _arguments[_general ? 1 : 0] = registrations is null
                    ? RedisValue.EmptyString
                    : string.Join(',', registrations.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Key}={r.Value}")));
            }

            return _arguments;
        }

        public StateTransactionResult ToResult(RedisResult[] reply)
        {
            var operations = _transaction.Operations;
            var versions = new long[operations.Count];
            long[]? counters = null;
            var at = 1;
            for (var i = 0; i < operations.Count; i++)
            {
                switch (operations[i].Kind)
                {
                    case StateOperationKind.Set or StateOperationKind.Delete:
                        versions[i] = (long)reply[at++];
                        break;
                    case StateOperationKind.Increment:
                        versions[i] = (long)reply[at++];
                        (counters ??= new long[operations.Count])[i] = (long)reply[at++];
                        break;
                }
            }

            return StateTransactionResult.Applied(operations, versions, counters);
        }

        public StateConflict ToConflict(RedisResult[] reply)
        {
            var condition = _transaction.Conditions[(int)reply[1] - 1];
            var version = (long)reply[2];
            return new StateConflict(condition.Key, condition.Version, version == 0 ? null : new StateEntry((byte[]?)reply[3] ?? [], version));
        }
        /// <summary>
        /// The distinct keys of a plan in the order first named (KEYS[1..n] of the script),
        /// gathered in a buffer of the thread's (plans are built synchronously) and copied out
        /// once, at their exact count, with the store's key prefix. The script goes to the
        /// database itself, not through StackExchange.Redis's key-prefix wrapper, which costs
        /// a 3-key transaction about 5 % of its throughput at 64 in flight.
        /// </summary>
        private ref struct PlanKeys
        {
            private const int ScanLimit = 16;
            private const int KeptBuffer = 256;

            [ThreadStatic]
            private static string[]? t_buffer;

            private readonly string[] _keys;
            private int _count;
            private Dictionary<string, int>? _positions;

            public PlanKeys(int bound)
            {
                var buffer = t_buffer;
                if (buffer is null || buffer.Length < bound)
                {
                    buffer = new string[Math.Max(bound, 32)];
                    if (bound <= KeptBuffer)
                    {
                        t_buffer = buffer;
                    }
                }

                _keys = buffer;
            }

            /// <summary>The 1-based position of <paramref name="key"/>, added when new.</summary>
            public int Position(string key)
            {
                // Keys of a small transaction are found by a scan; a large one builds a map.
                if (_positions is null && _count > ScanLimit)
                {
                    _positions = new Dictionary<string, int>(_count * 2, StringComparer.Ordinal);
                    for (var i = 0; i < _count; i++)
                    {
                        _positions[_keys[i]] = i + 1;
                    }
                }

                if (_positions is not null)
                {
                    if (_positions.TryGetValue(key, out var found))
                    {
                        return found;
                    }
                }
                else
                {
                    for (var i = 0; i < _count; i++)
                    {
                        if (string.Equals(_keys[i], key, StringComparison.Ordinal))
                        {
                            return i + 1;
                        }
                    }
                }

                _keys[_count++] = key;
                _positions?.Add(key, _count);
                return _count;
            }

            public readonly RedisKey[] ToArray(string keyPrefix)
            {
                var keys = new RedisKey[_count];
                for (var i = 0; i < _count; i++)
                {
                    keys[i] = keyPrefix.Length == 0 ? _keys[i] : keyPrefix + _keys[i];
                }

                return keys;
            }

            /// <summary>Clears the buffer, so it holds no key strings alive.</summary>
            public readonly void Release() => _keys.AsSpan(0, _count).Clear();
        }
    }
}
