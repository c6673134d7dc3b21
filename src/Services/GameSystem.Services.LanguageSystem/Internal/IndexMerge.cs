using GameSystem.State;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Several ordered indexes read as one sequence, in member order and, for equal members, in
/// the order the indexes were given: the entries of every table by key then locale, or the
/// keys of a fallback chain with the first table's entry first. Each index is read a page at a
/// time as the sequence reaches it, never as a whole, and nothing is sorted in memory.
/// </summary>
/// <remarks>Members compare ordinally, which is the store's order for the ASCII keys and tags used here.</remarks>
internal sealed class IndexMerge
{
    private readonly IStateStore _store;
    private readonly Source[] _sources;
    private readonly int _pageSize;
    private readonly bool _distinct;
    private string? _lastMember;

    /// <param name="store">The store.</param>
    /// <param name="indexes">The indexes, in tie-break order.</param>
    /// <param name="prefix">Only members starting with this (null: all).</param>
    /// <param name="after">Start after this position: members after it, and the member itself in indexes after its source.</param>
    /// <param name="pageSize">Members read per index page (1 to <see cref="StateKeys.MaxPageSize"/>).</param>
    /// <param name="distinct">Yield each member once, from the first index holding it.</param>
    public IndexMerge(IStateStore store, IReadOnlyList<string> indexes, string? prefix, (string Member, int Source)? after, int pageSize, bool distinct)
    {
        _store = store;
        _pageSize = Math.Clamp(pageSize, 1, StateKeys.MaxPageSize);
        _distinct = distinct;
        _sources = new Source[indexes.Count];
        for (var i = 0; i < indexes.Count; i++)
        {
            var from = after is { } position ? (i > position.Source ? position.Member : Successor(position.Member)) : null;
            _sources[i] = new Source(indexes[i], new StateIndexQuery { Prefix = prefix is { Length: > 0 } ? prefix : null, From = from, PageSize = _pageSize });
        }

        _lastMember = distinct ? after?.Member : null;
    }

    /// <summary>The smallest member after <paramref name="member"/>: no member holds a control character, so a space is the least that can follow.</summary>
    public static string Successor(string member) => member + " ";

    /// <summary>The next member and the index it came from; null when every index is exhausted.</summary>
    public async ValueTask<(string Member, int Source)?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await FillAsync(cancellationToken).ConfigureAwait(false);
            var best = -1;
            for (var i = 0; i < _sources.Length; i++)
            {
                if (_sources[i].Buffer.Count > 0 && (best < 0 || string.CompareOrdinal(_sources[i].Buffer.Peek(), _sources[best].Buffer.Peek()) < 0))
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                return null;
            }

            var member = _sources[best].Buffer.Dequeue();
            if (_distinct && _lastMember is not null && string.CompareOrdinal(member, _lastMember) <= 0)
            {
                continue;
            }

            _lastMember = member;
            return (member, best);
        }
    }

    /// <summary>True when <see cref="NextAsync"/> would return a member.</summary>
    public async ValueTask<bool> HasMoreAsync(CancellationToken cancellationToken)
    {
        await FillAsync(cancellationToken).ConfigureAwait(false);
        foreach (var source in _sources)
        {
            // With distinct, a buffered member equal to the last one yielded is a duplicate: drop it.
            while (_distinct && source.Buffer.Count > 0 && _lastMember is not null && string.CompareOrdinal(source.Buffer.Peek(), _lastMember) <= 0)
            {
                source.Buffer.Dequeue();
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }

            if (source.Buffer.Count > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the next page of every index whose buffer ran dry, all at once.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        List<Task>? reads = null;
        foreach (var source in _sources)
        {
            if (source.Buffer.Count == 0 && source.Query is not null)
            {
                (reads ??= []).Add(source.ReadAsync(_store, cancellationToken));
            }
        }

        if (reads is not null)
        {
            await Task.WhenAll(reads).ConfigureAwait(false);
        }
    }

    private sealed class Source(string index, StateIndexQuery query)
    {
        public Queue<string> Buffer { get; } = new();

        /// <summary>The query of the next page; null once the index is exhausted.</summary>
        public StateIndexQuery? Query { get; private set; } = query;

        public async Task ReadAsync(IStateStore store, CancellationToken cancellationToken)
        {
            var page = await store.QueryIndexAsync(index, Query!, cancellationToken).ConfigureAwait(false);
            foreach (var member in page.Members)
            {
                Buffer.Enqueue(member);
            }

            Query = page.NextPageToken is { } token ? Query! with { PageToken = token } : null;
        }
    }
}
