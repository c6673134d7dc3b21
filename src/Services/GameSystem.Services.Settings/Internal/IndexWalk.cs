using GameSystem.State;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// Walks an ordered index under a set of key prefixes, in member order, from after a given
/// member, a page of the store at a time: never reading the index whole, never sorting.
/// </summary>
/// <remarks>
/// The prefixes are reduced to those no other one covers and sorted; the members under
/// such prefixes form disjoint runs in that order, so walking them one after the other is
/// walking the union in order.
/// </remarks>
internal sealed class IndexWalk
{
    private readonly IStateStore _store;
    private readonly string _index;
    private readonly List<string?> _prefixes;
    private readonly string? _after;
    private int _current;
    private string? _pageToken;

    public IndexWalk(IStateStore store, string index, IEnumerable<string> prefixes, string? after)
    {
        _store = store;
        _index = index;
        _after = after;
        var sorted = prefixes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        _prefixes = [.. sorted.Where(p => !sorted.Any(q => q.Length < p.Length && p.StartsWith(q, StringComparison.Ordinal)))];
        if (_prefixes.Count == 0)
        {
            _prefixes.Add(null);
        }

        // Runs wholly before the resume point are done already.
        while (_after is not null && _current < _prefixes.Count && _prefixes[_current] is { } prefix
            && string.CompareOrdinal(_after, prefix) > 0 && !_after.StartsWith(prefix, StringComparison.Ordinal))
        {
            _current++;
        }
    }

    /// <summary>Reduces prefixes as the walk does (exposed for tests of the listing's contract).</summary>
    public IReadOnlyList<string?> Prefixes => _prefixes;

    /// <summary>Up to <paramref name="count"/> next members (a few more when a store page is larger); empty when the walk is over.</summary>
    public async ValueTask<IReadOnlyList<string>> NextAsync(int count, CancellationToken cancellationToken)
    {
        var members = new List<string>(count);
        while (members.Count < count && _current < _prefixes.Count)
        {
            var prefix = _prefixes[_current];

            // A page token holds the last member read, so each page may ask for what it still needs.
            var query = new StateIndexQuery
            {
                Prefix = prefix,
                From = _after is not null && (prefix is null || string.CompareOrdinal(_after, prefix) >= 0) ? _after : null,
                PageSize = Math.Min(StateKeys.MaxPageSize, count - members.Count + 1),
                PageToken = _pageToken,
            };
            var page = await _store.QueryIndexAsync(_index, query, cancellationToken).ConfigureAwait(false);
            foreach (var member in page.Members)
            {
                if (!string.Equals(member, _after, StringComparison.Ordinal))
                {
                    members.Add(member);
                }
            }

            _pageToken = page.NextPageToken;
            if (_pageToken is null)
            {
                _current++;
            }
        }

        return members;
    }
}
