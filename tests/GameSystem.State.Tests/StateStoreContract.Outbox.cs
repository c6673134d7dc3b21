using System.Globalization;
using System.Text;

namespace GameSystem.State.Tests;

public abstract partial class StateStoreContract
{
    private const string OutboxName = "quest-system";

    /// <summary>The store's outbox side (the same object as <see cref="Store"/>).</summary>
    protected IStateOutboxStore Outboxes => (IStateOutboxStore)Store;

    [Fact(Timeout = 10_000)]
    public async Task Outbox_MessagesOfAppliedTransactions_AreListedAndClaimedInOrder()
    {
        var partition = NewPartition();
        for (var i = 1; i <= 5; i++)
        {
            await Store.ExecuteAsync(new StateTransaction().Increment(Key(partition, "n")).Enqueue(OutboxName, Encoding.UTF8.GetBytes($"event-{i}")), Timeout);
        }

        var listed = await ListPartitionsAsync();
        var claim = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-a", TimeSpan.FromMinutes(1), 3, Timeout);

        Assert.Contains(partition, listed);
        Assert.True(claim.Claimed);
        Assert.Equal(5, claim.Pending);
        Assert.Equal([1L, 2L, 3L], claim.Messages.Select(m => m.Sequence));
        Assert.Equal(["event-1", "event-2", "event-3"], claim.Messages.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.NotNull(claim.OldestEnqueuedAt);
        Assert.Equal(claim.Messages[0].EnqueuedAt, claim.OldestEnqueuedAt);
        Assert.True(claim.LastEnqueuedAt >= claim.OldestEnqueuedAt);

        Assert.Equal(2, await Outboxes.CompleteOutboxAsync(OutboxName, partition, "relay-a", 3, Timeout));
        var rest = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-a", TimeSpan.FromMinutes(1), 100, Timeout);
        Assert.Equal([4L, 5L], rest.Messages.Select(m => m.Sequence));
    }

    [Fact(Timeout = 10_000)]
    public async Task Outbox_OfARefusedTransaction_GetsNothing()
    {
        var partition = NewPartition();
        var key = Key(partition, "guarded");

        var refused = await Store.ExecuteAsync(new StateTransaction().Set(key, NewValue(), expectedVersion: 5).Enqueue(OutboxName, NewValue()), Timeout);
        var claim = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-a", TimeSpan.FromMinutes(1), 10, Timeout);

        Assert.False(refused.Succeeded);
        Assert.Empty(claim.Messages);
        Assert.Equal(0, claim.Pending);
    }

    [Fact(Timeout = 10_000)]
    public async Task Outbox_OutboxesOfOtherNamesAndPartitions_AreSeparate()
    {
        var (p1, p2) = (NewPartition(), NewPartition());
        await Store.ExecuteAsync(new StateTransaction().Increment(Key(p1, "n")).Enqueue(OutboxName, "a"u8.ToArray()).Enqueue("npc-behavior", "b"u8.ToArray()), Timeout);
        await Store.ExecuteAsync(new StateTransaction().Increment(Key(p2, "n")).Enqueue(OutboxName, "c"u8.ToArray()), Timeout);

        var quest1 = await Outboxes.ClaimOutboxAsync(OutboxName, p1, "r", TimeSpan.FromMinutes(1), 10, Timeout);
        var npc1 = await Outboxes.ClaimOutboxAsync("npc-behavior", p1, "r", TimeSpan.FromMinutes(1), 10, Timeout);
        var quest2 = await Outboxes.ClaimOutboxAsync(OutboxName, p2, "r", TimeSpan.FromMinutes(1), 10, Timeout);

        Assert.Equal(["a"], quest1.Messages.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal(["b"], npc1.Messages.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal(["c"], quest2.Messages.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal([1L], quest2.Messages.Select(m => m.Sequence));
    }

    [Fact(Timeout = 20_000)]
    public async Task Outbox_Lease_KeepsASecondRelayOutUntilCompletedOrExpired()
    {
        var partition = NewPartition();
        await Store.ExecuteAsync(new StateTransaction().Increment(Key(partition, "n")).Enqueue(OutboxName, NewValue()).Enqueue(OutboxName, NewValue()), Timeout);

        var first = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-a", ShortTtl, 1, Timeout);
        var refused = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-b", ShortTtl, 10, Timeout);
        var again = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-a", ShortTtl, 10, Timeout);
        await AdvanceTimeAsync(ShortTtl * 1.5);
        var afterExpiry = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-b", ShortTtl, 10, Timeout);

        Assert.True(first.Claimed);
        Assert.False(refused.Claimed);
        Assert.Empty(refused.Messages);
        Assert.Equal(2, refused.Pending);
        Assert.True(again.Claimed);
        Assert.True(afterExpiry.Claimed);
        Assert.Equal(2, afterExpiry.Messages.Count);

        // Completing hands the outbox over at once.
        await Outboxes.CompleteOutboxAsync(OutboxName, partition, "relay-b", 1, Timeout);
        Assert.True((await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay-a", ShortTtl, 10, Timeout)).Claimed);
    }

    [Fact(Timeout = 10_000)]
    public async Task Outbox_RetiredPartition_IsListedAgainByTheNextEnqueue_AndKeepsNumbering()
    {
        var partition = NewPartition();
        await Store.ExecuteAsync(new StateTransaction().Increment(Key(partition, "n")).Enqueue(OutboxName, NewValue()), Timeout);

        var whileFull = await Outboxes.RetireOutboxPartitionAsync(OutboxName, partition, TimeSpan.FromMilliseconds(1), Timeout);
        await Outboxes.CompleteOutboxAsync(OutboxName, partition, "relay", 1, Timeout);
        var whileRecent = await Outboxes.RetireOutboxPartitionAsync(OutboxName, partition, TimeSpan.FromHours(1), Timeout);
        await AdvanceTimeAsync(TimeSpan.FromMilliseconds(20));
        var retired = await Outboxes.RetireOutboxPartitionAsync(OutboxName, partition, TimeSpan.FromMilliseconds(1), Timeout);
        var listedAfterRetire = await ListPartitionsAsync();
        await Store.ExecuteAsync(new StateTransaction().Increment(Key(partition, "n")).Enqueue(OutboxName, "later"u8.ToArray()), Timeout);
        var listedAfterEnqueue = await ListPartitionsAsync();
        var claim = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay", TimeSpan.FromMinutes(1), 10, Timeout);

        Assert.False(whileFull);
        Assert.False(whileRecent);
        Assert.True(retired);
        Assert.DoesNotContain(partition, listedAfterRetire);
        Assert.Contains(partition, listedAfterEnqueue);
        Assert.Equal([2L], claim.Messages.Select(m => m.Sequence));
    }

    /// <summary>
    /// Property: a relay retiring a partition while transactions enqueue into it never leaves
    /// messages in an outbox that is not listed (the relay would never see them).
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Outbox_RetiringWhileTransactionsEnqueue_NeverHidesAMessage()
    {
        var partition = NewPartition();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var retirer = Task.Run(async () =>
        {
            var retirements = 0;
            for (var i = 0; i < 400 && !stop.IsCancellationRequested; i++)
            {
                var claim = await Outboxes.ClaimOutboxAsync(OutboxName, partition, "relay", TimeSpan.FromSeconds(30), 100, Timeout);
                if (claim.Messages.Count > 0)
                {
                    await Outboxes.CompleteOutboxAsync(OutboxName, partition, "relay", claim.Messages[^1].Sequence, Timeout);
                }

                retirements += await Outboxes.RetireOutboxPartitionAsync(OutboxName, partition, TimeSpan.FromMilliseconds(1), Timeout) ? 1 : 0;
            }

            return retirements;
        }, Timeout);

        for (var i = 0; i < 150; i++)
        {
            await Store.ExecuteAsync(new StateTransaction().Increment(Key(partition, "n")).Enqueue(OutboxName, Encoding.ASCII.GetBytes(i.ToString(CultureInfo.InvariantCulture))), Timeout);
            var listed = await ListPartitionsAsync();
            var pending = (await Outboxes.ClaimOutboxAsync(OutboxName, partition, "observer", TimeSpan.FromMilliseconds(1), 1, Timeout)).Pending;
            Assert.True(pending == 0 || listed.Contains(partition), $"After enqueue {i} the outbox holds {pending} messages but is not listed.");
        }

        await stop.CancelAsync();
        await retirer;
    }

    [Fact(Timeout = 30_000)]
    public async Task Outbox_ManyPartitions_AreAllListed()
    {
        var partitions = Enumerable.Range(0, 620).Select(_ => NewPartition()).ToList();
        await Task.WhenAll(partitions.Chunk(62).Select(chunk => Task.Run(async () =>
        {
            foreach (var partition in chunk)
            {
                await Store.ExecuteAsync(new StateTransaction().Increment(Key(partition, "n")).Enqueue(OutboxName, NewValue()), Timeout);
            }
        }, Timeout)));

        var listed = await ListPartitionsAsync();

        Assert.Equal(partitions.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task Outbox_InvalidArguments_AreRefused()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await Outboxes.ClaimOutboxAsync("Bad Name", "p", "r", TimeSpan.FromSeconds(1), 1, Timeout));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Outboxes.ClaimOutboxAsync(OutboxName, "{p}", "r", TimeSpan.FromSeconds(1), 1, Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Outboxes.ClaimOutboxAsync(OutboxName, "p", "r", TimeSpan.Zero, 1, Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Outboxes.ClaimOutboxAsync(OutboxName, "p", "r", TimeSpan.FromSeconds(1), 0, Timeout));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Outboxes.CompleteOutboxAsync(OutboxName, "p", string.Empty, 1, Timeout));
    }

    private async Task<List<string>> ListPartitionsAsync()
    {
        var partitions = new List<string>();
        await foreach (var partition in Outboxes.ListOutboxPartitionsAsync(OutboxName, Timeout))
        {
            partitions.Add(partition);
        }

        return partitions;
    }
}
