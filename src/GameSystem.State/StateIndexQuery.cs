namespace GameSystem.State;

/// <summary>
/// Which members of an ordered index to read, in which order, one page at a time
/// (<see cref="IStateStore.QueryIndexAsync"/>).
/// </summary>
/// <remarks>
/// Members are ordered by their UTF-8 bytes (Unicode code point order), as Redis orders the
/// members of a sorted set that share a score. Encode what to sort by at the start of a member:
/// <see cref="StateIndex.SortableTime"/> and <see cref="StateIndex.SortableNumber"/> give
/// fixed-width forms that sort like the values they stand for.
/// </remarks>
public sealed record StateIndexQuery
{
    /// <summary>Every member, ascending, 100 a page.</summary>
    public static StateIndexQuery Default { get; } = new();

    /// <summary>Only members starting with this; null for no prefix.</summary>
    public string? Prefix { get; init; }

    /// <summary>Only members at or after this one (inclusive); null for no lower bound.</summary>
    public string? From { get; init; }

    /// <summary>Only members before this one (exclusive); null for no upper bound.</summary>
    public string? To { get; init; }

    /// <summary>True to read from the last member backwards.</summary>
    public bool Descending { get; init; }

    /// <summary>Members per page, 1 to <see cref="StateKeys.MaxPageSize"/>.</summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Null for the first page, then the previous page's <see cref="StateIndexPage.NextPageToken"/>.</summary>
    public string? PageToken { get; init; }
}

/// <summary>One page of an index query.</summary>
/// <param name="Members">The members of this page, in the query's order.</param>
/// <param name="NextPageToken">The token of the next page; null when no member is left.</param>
public sealed record StateIndexPage(IReadOnlyList<string> Members, string? NextPageToken);
