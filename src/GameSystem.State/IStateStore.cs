namespace GameSystem.State;

/// <summary>
/// Key-value state for services, safe under concurrent writers and client retries.
/// </summary>
/// <remarks>
/// <para>
/// Every entry carries a version: 0 means absent, and each successful write (set or
/// increment) adds 1. A write that names the version it expects succeeds only if the entry
/// is still at that version, so a read-modify-write never loses a concurrent update, and a
/// retried write (same expected version) cannot apply twice.
/// </para>
/// <para>
/// A deleted entry reads as absent (version 0), but its version is remembered for
/// <see cref="StateKeys.TombstoneRetention"/>: an entry re-created within it continues from
/// that version, so a writer still holding a version from before the delete gets a conflict
/// rather than overwriting the new entry. An entry that expires (TTL) is forgotten entirely
/// and starts again at 1; state written with a TTL should not be guarded by versions held
/// across its expiry.
/// </para>
/// <para>
/// Keys are 1 to <see cref="StateKeys.MaxLength"/> characters without whitespace or control
/// characters, and name their partition once in braces (<c>time-manager/{world-7}/clock</c>);
/// an invalid key throws <see cref="ArgumentException"/>. The keys of one partition can change
/// together in a transaction (<see cref="ExecuteAsync"/>) and, on a Redis Cluster, live on one
/// shard: the braces are a Redis hash tag.
/// </para>
/// <para>
/// When the store cannot be reached, a call fails at once with
/// <see cref="StateStoreUnavailableException"/> (an <see cref="Grpc.Core.RpcException"/> with
/// status UNAVAILABLE), never after a hang, and the store serves again when it is back.
/// </para>
/// </remarks>
public interface IStateStore
{
    /// <summary>Reads an entry with its version; null when the key is absent or expired.</summary>
    ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="value"/>, replacing the entry and its expiry.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes to store (copied).</param>
    /// <param name="expectedVersion">
    /// Null to write unconditionally; otherwise the version the entry must have for the write
    /// to happen (0: only create, the key must be absent).
    /// </param>
    /// <param name="ttl">How long the entry lives; null for no expiry.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new version, or a conflict carrying the entry actually stored.</returns>
    ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes an entry. Without <paramref name="expectedVersion"/> deleting an absent key
    /// succeeds, so a retried delete is harmless.
    /// </summary>
    /// <returns>Success with version 0, or a conflict carrying the entry actually stored.</returns>
    ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically adds <paramref name="delta"/> to a counter (an absent key counts as 0) and
    /// bumps its version. The counter is stored as its decimal text, which <see cref="GetAsync"/> returns.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="delta">The amount to add (may be negative).</param>
    /// <param name="ttl">
    /// Expiry applied only when this increment creates the counter (a fixed window); an
    /// existing counter keeps its expiry.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The counter's new value.</returns>
    /// <exception cref="InvalidOperationException">The entry does not hold an integer, or the sum overflows.</exception>
    ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the entries whose keys start with <paramref name="prefix"/>, one page at a time.
    /// </summary>
    /// <param name="prefix">The key prefix (may be empty for every key).</param>
    /// <param name="pageSize">The number of entries wanted per page (1 to <see cref="StateKeys.MaxPageSize"/>).</param>
    /// <param name="pageToken">Null for the first page, then the previous page's <see cref="StatePage.NextPageToken"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <remarks>
    /// An entry present for the whole listing is returned; one written or deleted meanwhile may
    /// or may not be. The in-memory store returns exactly <paramref name="pageSize"/> entries per
    /// page in ordinal key order. The Redis store follows SCAN: pages come in no particular
    /// order, may hold somewhat more than <paramref name="pageSize"/> entries, and a key may
    /// appear twice if Redis resizes its table during the listing.
    /// </remarks>
    ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads several entries (of any partitions) at once; null where a key is absent. The entries
    /// of one partition are one snapshot: no transaction commits between their reads. Entries of
    /// different partitions are not (a Redis Cluster keeps them on different shards).
    /// </summary>
    /// <returns>One entry (or null) per key, in the order of <paramref name="keys"/>.</returns>
    ValueTask<IReadOnlyList<StateEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs <paramref name="transaction"/>: checks every condition and, when all hold, applies
    /// every operation, as one atomic step; when one fails, applies nothing.
    /// </summary>
    /// <returns>The versions and counters written, or the first condition that failed and what the store holds there.</returns>
    /// <exception cref="ArgumentException">The transaction has no operation.</exception>
    /// <exception cref="InvalidOperationException">An increment's entry is not an integer, or the sum would pass ±<see cref="StateKeys.MaxCounter"/>; nothing applied.</exception>
    ValueTask<StateTransactionResult> ExecuteAsync(StateTransaction transaction, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads one page of the ordered index <paramref name="index"/> (kept with
    /// <see cref="StateTransaction.IndexAdd"/>/<see cref="StateTransaction.IndexRemove"/>) in the
    /// query's order and range, without reading the rest. An absent index is empty.
    /// </summary>
    /// <remarks>
    /// Pages continue after the last member returned, so a member added or removed meanwhile
    /// never shifts the others: each member present for the whole listing is returned once.
    /// </remarks>
    /// <exception cref="ArgumentException">The query is invalid, or its page token came from another query.</exception>
    ValueTask<StateIndexPage> QueryIndexAsync(string index, StateIndexQuery query, CancellationToken cancellationToken = default);

    /// <summary>Counts the members of <paramref name="index"/> (only those starting with <paramref name="prefix"/> when given), without reading them.</summary>
    ValueTask<long> CountIndexAsync(string index, string? prefix = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks, with one cheap round trip, that the store can be reached (for health checks):
    /// completes when it can, throws <see cref="StateStoreUnavailableException"/> when it cannot.
    /// </summary>
    ValueTask PingAsync(CancellationToken cancellationToken = default);
}
