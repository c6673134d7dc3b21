using GameSystem.State;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// Applies what world transactions enqueued in one of time-manager's own outboxes (not the
/// event outbox, which the host's relay delivers): claim a partition's messages, apply them,
/// complete them. Applying must be idempotent: after a crash between applying and completing,
/// the same messages are applied again.
/// </summary>
/// <param name="outboxes">The store's outbox side.</param>
/// <param name="outbox">The outbox drained.</param>
/// <param name="owner">Who claims (one per service instance), so instances do not drain one partition at once.</param>
/// <param name="apply">Applies the messages of one partition, oldest first.</param>
/// <param name="logger">Where a partition that cannot be applied is reported.</param>
internal sealed partial class OutboxDrain(
    IStateOutboxStore outboxes,
    string outbox,
    string owner,
    Func<string, IReadOnlyList<StateOutboxMessage>, CancellationToken, ValueTask> apply,
    ILogger logger)
{
    /// <summary>How long a claim keeps other instances off a partition: far longer than an apply takes.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    /// <summary>A partition stays listed this long after its last message, so a busy world is not retired and listed again on every change.</summary>
    private static readonly TimeSpan IdleBeforeRetiring = TimeSpan.FromSeconds(10);

    private const int MessagesPerClaim = 100;
    private const int PartitionsAtOnce = 8;
    private const int ClaimsPerPartition = 10;

    public string Outbox => outbox;

    /// <summary>Drains every partition listed; retires those that stayed empty.</summary>
    public async ValueTask DrainAllAsync(CancellationToken cancellationToken)
    {
        // Listed first, then drained: retiring while paging the registry would shift its pages.
        var partitions = new List<string>();
        await foreach (var partition in outboxes.ListOutboxPartitionsAsync(outbox, cancellationToken).ConfigureAwait(false))
        {
            partitions.Add(partition);
        }

        await Parallel.ForEachAsync(partitions, new ParallelOptions { MaxDegreeOfParallelism = PartitionsAtOnce, CancellationToken = cancellationToken }, async (partition, token) =>
        {
            try
            {
                if (!await DrainAsync(partition, token).ConfigureAwait(false))
                {
                    await outboxes.RetireOutboxPartitionAsync(outbox, partition, IdleBeforeRetiring, token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not StateStoreUnavailableException)
            {
                // One partition that cannot be applied now must not hold up every other world's.
                LogPartitionFailed(logger, outbox, partition, ex);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Drains one partition now (right after a change, so the caller reads its own write).
    /// Returns false when the outbox held nothing; true when it did, or another instance holds it
    /// (that instance applies it).
    /// </summary>
    public async ValueTask<bool> DrainAsync(string partition, CancellationToken cancellationToken)
    {
        for (var claims = 0; claims < ClaimsPerPartition; claims++)
        {
            var claim = await outboxes.ClaimOutboxAsync(outbox, partition, owner, Lease, MessagesPerClaim, cancellationToken).ConfigureAwait(false);
            if (!claim.Claimed)
            {
                return true;
            }

            if (claim.Messages.Count == 0)
            {
                return claims > 0;
            }

            await apply(partition, claim.Messages, cancellationToken).ConfigureAwait(false);
            var left = await outboxes.CompleteOutboxAsync(outbox, partition, owner, claim.Messages[^1].Sequence, cancellationToken).ConfigureAwait(false);
            if (left == 0)
            {
                return true;
            }
        }

        return true;
    }

    [LoggerMessage(EventId = 2119, Level = LogLevel.Warning, Message = "Cannot apply the {Outbox} updates of partition {Partition}; retrying on the next pass")]
    private static partial void LogPartitionFailed(ILogger logger, string outbox, string partition, Exception exception);
}
