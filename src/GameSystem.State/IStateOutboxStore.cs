namespace GameSystem.State;

/// <summary>
/// The reading side of the outboxes that transactions append to
/// (<see cref="StateTransaction.Enqueue"/>): what a relay uses to deliver every message, in
/// order per partition, at least once. Services write to outboxes; only relays read them.
/// </summary>
/// <remarks>
/// Each partition has its own outbox per name (a service's), numbered 1, 2, 3 … in the order
/// its transactions applied, and never renumbered. A relay lists the partitions that may hold
/// messages, claims one partition's outbox (a lease, so two relays do not both deliver it),
/// delivers the messages in sequence order, completes them, and retires the partitions that
/// stay empty so listing stays short.
/// </remarks>
public interface IStateOutboxStore
{
    /// <summary>
    /// The partitions whose outbox <paramref name="outbox"/> may hold messages: every one that
    /// holds some, and possibly some recently emptied.
    /// </summary>
    IAsyncEnumerable<string> ListOutboxPartitionsAsync(string outbox, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims the outbox of <paramref name="partition"/> for <paramref name="owner"/> until
    /// <paramref name="lease"/> passes and returns its oldest messages; refused (not claimed, no
    /// messages) while another owner's lease lasts.
    /// </summary>
    ValueTask<StateOutboxClaim> ClaimOutboxAsync(string outbox, string partition, string owner, TimeSpan lease, int maxMessages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the messages up to and including <paramref name="throughSequence"/> (delivered)
    /// and ends <paramref name="owner"/>'s lease.
    /// </summary>
    /// <returns>The messages still in the outbox.</returns>
    ValueTask<long> CompleteOutboxAsync(string outbox, string partition, string owner, long throughSequence, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops listing <paramref name="partition"/> if its outbox is empty, unclaimed and received
    /// nothing for <paramref name="idleFor"/>. Safe against a transaction appending meanwhile: that
    /// partition is listed again.
    /// </summary>
    /// <returns>True when the partition is no longer listed.</returns>
    ValueTask<bool> RetireOutboxPartitionAsync(string outbox, string partition, TimeSpan idleFor, CancellationToken cancellationToken = default);
}

/// <summary>The result of <see cref="IStateOutboxStore.ClaimOutboxAsync"/>.</summary>
/// <param name="Claimed">True when the caller now holds the lease.</param>
/// <param name="Messages">The oldest messages, in sequence order (empty when not claimed).</param>
/// <param name="Pending">How many messages the outbox holds.</param>
/// <param name="OldestEnqueuedAt">When the oldest message was appended; null when empty.</param>
/// <param name="LastEnqueuedAt">When a message was last appended; null when never.</param>
public sealed record StateOutboxClaim(bool Claimed, IReadOnlyList<StateOutboxMessage> Messages, long Pending, DateTimeOffset? OldestEnqueuedAt, DateTimeOffset? LastEnqueuedAt);

/// <summary>One outbox message.</summary>
/// <param name="Sequence">Its position in the partition's outbox, from 1, never reused.</param>
/// <param name="EnqueuedAt">When its transaction applied (the store's clock).</param>
/// <param name="Payload">The bytes the transaction enqueued.</param>
public sealed record StateOutboxMessage(long Sequence, DateTimeOffset EnqueuedAt, ReadOnlyMemory<byte> Payload);
