using GameSystem.State;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>
/// The store the service runs on in these tests: the real one, except that a prefix scan
/// (<see cref="IStateStore.ListAsync"/>, for admin sweeps only) fails, so every listing test
/// also proves the listing reads ordered indexes instead of every key.
/// </summary>
internal sealed class IndexOnlyStore(IStateStore inner) : IStateStore
{
    public ValueTask<StatePage> ListAsync(string prefix, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException($"language-system scanned the keys under '{prefix}'; service listings must page an ordered index.");

    public ValueTask<StateEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

    public ValueTask<StateWriteResult> SetAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default) =>
        inner.SetAsync(key, value, expectedVersion, ttl, cancellationToken);

    public ValueTask<StateWriteResult> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        inner.DeleteAsync(key, expectedVersion, cancellationToken);

    public ValueTask<long> IncrementAsync(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken cancellationToken = default) =>
        inner.IncrementAsync(key, delta, ttl, cancellationToken);

    public ValueTask<IReadOnlyList<StateEntry?>> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        inner.GetManyAsync(keys, cancellationToken);

    public ValueTask<StateTransactionResult> ExecuteAsync(StateTransaction transaction, CancellationToken cancellationToken = default) =>
        inner.ExecuteAsync(transaction, cancellationToken);

    public ValueTask<StateIndexPage> QueryIndexAsync(string index, StateIndexQuery query, CancellationToken cancellationToken = default) =>
        inner.QueryIndexAsync(index, query, cancellationToken);

    public ValueTask<long> CountIndexAsync(string index, string? prefix = null, CancellationToken cancellationToken = default) =>
        inner.CountIndexAsync(index, prefix, cancellationToken);

    public ValueTask PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);
}
