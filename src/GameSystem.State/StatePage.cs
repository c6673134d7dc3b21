namespace GameSystem.State;

/// <summary>One page of a listing.</summary>
/// <param name="Items">The entries of this page.</param>
/// <param name="NextPageToken">The token for the next page; null when the listing is complete.</param>
public sealed record StatePage(IReadOnlyList<StateItem> Items, string? NextPageToken);

/// <summary>A listed entry and its key.</summary>
/// <param name="Key">The key.</param>
/// <param name="Entry">The entry (value and version).</param>
public sealed record StateItem(string Key, StateEntry Entry);
