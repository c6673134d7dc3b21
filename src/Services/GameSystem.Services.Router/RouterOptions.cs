namespace GameSystem.Services.Router;

/// <summary>
/// Settings of router, bound by the host from <c>GameSystem:Router</c>. Immutable; adjust with
/// <c>with</c>.
/// </summary>
public sealed record RouterOptions
{
    /// <summary>The defaults.</summary>
    public static RouterOptions Default { get; } = new();

    /// <summary>
    /// The <c>cache_ttl</c> of a sticky Resolve answer: how long the gateway may reuse it for
    /// the same request and split key. Random draws are never cacheable (their ttl is 0).
    /// </summary>
    public TimeSpan ResolveCacheTtl { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How stale this instance's copy of the table may get when change events are late: after
    /// this long without confirmation, a Resolve starts (in the background) a read of the table
    /// revision and a reload if the store is ahead, logged as a warning. Changes normally
    /// arrive through event-bus long before; <see cref="Timeout.InfiniteTimeSpan"/> turns the
    /// check off.
    /// </summary>
    public TimeSpan RevisionCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Changes one WatchRoutes stream may fall behind before it is closed with ABORTED.</summary>
    public int WatchBuffer { get; init; } = 10_000;

    /// <summary>First wait before subscribing to route change events again after event-bus failed.</summary>
    public TimeSpan FirstReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between two attempts to subscribe to route change events.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Heartbeat interval asked of event-bus on the idle change-event subscription (1 second to 5 minutes).</summary>
    public TimeSpan ChangeEventsHeartbeat { get; init; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (ChangeEventsHeartbeat < TimeSpan.FromSeconds(1) || ChangeEventsHeartbeat > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"GameSystem:Router:ChangeEventsHeartbeat must be 1 second to 5 minutes; it is {ChangeEventsHeartbeat}.", nameof(ChangeEventsHeartbeat));
        }

        if (ResolveCacheTtl < TimeSpan.Zero)
        {
            throw new ArgumentException($"GameSystem:Router:ResolveCacheTtl must not be negative; it is {ResolveCacheTtl}.", nameof(ResolveCacheTtl));
        }

        if (RevisionCheckInterval <= TimeSpan.Zero && RevisionCheckInterval != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"GameSystem:Router:RevisionCheckInterval must be positive (or infinite to turn the check off); it is {RevisionCheckInterval}.", nameof(RevisionCheckInterval));
        }

        if (WatchBuffer < 1)
        {
            throw new ArgumentException($"GameSystem:Router:WatchBuffer must be at least 1; it is {WatchBuffer}.", nameof(WatchBuffer));
        }

        if (FirstReconnectBackoff <= TimeSpan.Zero || MaxReconnectBackoff < FirstReconnectBackoff)
        {
            throw new ArgumentException($"GameSystem:Router:FirstReconnectBackoff ({FirstReconnectBackoff}) must be positive and at most MaxReconnectBackoff ({MaxReconnectBackoff}).", nameof(FirstReconnectBackoff));
        }
    }
}
