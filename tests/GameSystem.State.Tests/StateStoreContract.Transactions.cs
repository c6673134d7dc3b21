using System.Globalization;
using System.Text;

namespace GameSystem.State.Tests;

public abstract partial class StateStoreContract
{
    [Fact(Timeout = 10_000)]
    public async Task Transaction_WhenEveryConditionHolds_AppliesEveryOperationAndReportsVersions()
    {
        var partition = NewPartition();
        var (wallet, ledger, gone, counter, index) = (Key(partition, "wallet"), Key(partition, "ledger/1"), Key(partition, "gone"), Key(partition, "count"), Key(partition, "by-time"));
        await Store.SetAsync(wallet, "100"u8.ToArray(), cancellationToken: Timeout);
        await Store.SetAsync(gone, NewValue(), cancellationToken: Timeout);

        var result = await Store.ExecuteAsync(
            new StateTransaction()
                .Set(wallet, "70"u8.ToArray(), expectedVersion: 1)
                .Set(ledger, "-30"u8.ToArray(), expectedVersion: 0)
                .Delete(gone)
                .Increment(counter, 3)
                .IndexAdd(index, "0001/purchase-1"),
            Timeout);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(2, result.VersionOf(wallet));
        Assert.Equal(1, result.VersionOf(ledger));
        Assert.Equal(0, result.VersionOf(gone));
        Assert.Equal(1, result.VersionOf(counter));
        Assert.Equal(3, result.CounterOf(counter));
        Assert.Equal("70", Text(await Store.GetAsync(wallet, Timeout)));
        Assert.Equal("-30", Text(await Store.GetAsync(ledger, Timeout)));
        Assert.Null(await Store.GetAsync(gone, Timeout));
        Assert.Equal("3", Text(await Store.GetAsync(counter, Timeout)));
        Assert.Equal(["0001/purchase-1"], (await Store.QueryIndexAsync(index, StateIndexQuery.Default, Timeout)).Members);
    }

    [Fact(Timeout = 10_000)]
    public async Task Transaction_WhenOneConditionFails_AppliesNothingAndSaysWhichKeyAndWhatItHolds()
    {
        var partition = NewPartition();
        var (a, b, c, index) = (Key(partition, "a"), Key(partition, "b"), Key(partition, "c"), Key(partition, "idx"));
        await Store.SetAsync(a, "a1"u8.ToArray(), cancellationToken: Timeout);
        await Store.SetAsync(b, "b1"u8.ToArray(), cancellationToken: Timeout);
        await Store.SetAsync(b, "b2"u8.ToArray(), cancellationToken: Timeout);

        var result = await Store.ExecuteAsync(
            new StateTransaction()
                .Set(a, "a2"u8.ToArray(), expectedVersion: 1)
                .Set(b, "b3"u8.ToArray(), expectedVersion: 1)
                .Increment(c)
                .IndexAdd(index, "m"),
            Timeout);

        Assert.False(result.Succeeded);
        var conflict = Assert.IsType<StateConflict>(result.Conflict);
        Assert.Equal(b, conflict.Key);
        Assert.Equal(1, conflict.ExpectedVersion);
        Assert.Equal(2, conflict.CurrentVersion);
        Assert.Equal("b2", Encoding.UTF8.GetString(conflict.Current!.Value.Span));
        Assert.Empty(result.Versions);
        Assert.Equal("a1", Text(await Store.GetAsync(a, Timeout)));
        Assert.Equal(1, (await Store.GetAsync(a, Timeout))!.Version);
        Assert.Null(await Store.GetAsync(c, Timeout));
        Assert.Equal(0, await Store.CountIndexAsync(index, cancellationToken: Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task Transaction_RequireOnAKeyItDoesNotWrite_GuardsTheOthers()
    {
        var partition = NewPartition();
        var (config, target) = (Key(partition, "config"), Key(partition, "target"));
        await Store.SetAsync(config, "v1"u8.ToArray(), cancellationToken: Timeout);

        var stale = await Store.ExecuteAsync(new StateTransaction().RequireAbsent(config).Set(target, NewValue()), Timeout);
        var current = await Store.ExecuteAsync(new StateTransaction().Require(config, 1).Set(target, "written"u8.ToArray()), Timeout);

        Assert.Equal(config, stale.Conflict!.Key);
        Assert.Equal(0, stale.Conflict.ExpectedVersion);
        Assert.True(current.Succeeded);
        Assert.Equal("written", Text(await Store.GetAsync(target, Timeout)));
        Assert.Equal(1, (await Store.GetAsync(config, Timeout))!.Version);
    }

    [Fact(Timeout = 10_000)]
    public async Task Transaction_OnADeletedKey_SeesItAbsentAndContinuesItsVersion()
    {
        var key = NewKey();
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        await Store.DeleteAsync(key, cancellationToken: Timeout);

        var result = await Store.ExecuteAsync(new StateTransaction().Set(key, NewValue(), expectedVersion: 0), Timeout);

        Assert.Equal(3, result.VersionOf(key));
    }

    [Fact(Timeout = 10_000)]
    public async Task Transaction_WhenAnIncrementCannotApply_ThrowsAndAppliesNothingElse()
    {
        var partition = NewPartition();
        var (text, written, big) = (Key(partition, "text"), Key(partition, "written"), Key(partition, "big"));
        await Store.SetAsync(text, "twelve"u8.ToArray(), cancellationToken: Timeout);
        await Store.IncrementAsync(big, StateKeys.MaxCounter - 1, cancellationToken: Timeout);

        var notInteger = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Store.ExecuteAsync(new StateTransaction().Set(written, NewValue()).Increment(text), Timeout));
        var overflow = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Store.ExecuteAsync(new StateTransaction().Set(written, NewValue()).Increment(big, 2), Timeout));

        Assert.Contains(text, notInteger.Message, StringComparison.Ordinal);
        Assert.Contains(big, overflow.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetAsync(written, Timeout));
        Assert.Equal((StateKeys.MaxCounter - 1).ToString(CultureInfo.InvariantCulture), Text(await Store.GetAsync(big, Timeout)));
        Assert.Equal(StateKeys.MaxCounter, (await Store.ExecuteAsync(new StateTransaction().Increment(big, 1), Timeout)).CounterOf(big));
    }

    [Theory(Timeout = 10_000)]
    [InlineData("+5")]
    [InlineData("007")]
    [InlineData("-0")]
    [InlineData(" 5")]
    [InlineData("5.0")]
    public async Task Increment_OfANonCanonicalInteger_IsRefusedByEveryStoreAlike(string stored)
    {
        var key = NewKey();
        await Store.SetAsync(key, Encoding.ASCII.GetBytes(stored), cancellationToken: Timeout);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Store.IncrementAsync(key, 1, cancellationToken: Timeout));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Store.ExecuteAsync(new StateTransaction().Increment(key, 1), Timeout));
        Assert.Equal(1, (await Store.GetAsync(key, Timeout))!.Version);
    }

    [Fact(Timeout = 10_000)]
    public async Task Increment_BeyondTheCounterLimit_ThrowsAndChangesNothing()
    {
        var key = NewKey();
        await Store.IncrementAsync(key, -StateKeys.MaxCounter, cancellationToken: Timeout);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Store.IncrementAsync(key, -1, cancellationToken: Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.IncrementAsync(key, long.MaxValue, cancellationToken: Timeout));

        Assert.Equal((-StateKeys.MaxCounter).ToString(CultureInfo.InvariantCulture), Text(await Store.GetAsync(key, Timeout)));
    }

    [Fact(Timeout = 20_000)]
    public async Task Transaction_SetWithTtl_ExpiresLikeSetAsync()
    {
        var partition = NewPartition();
        var (brief, lasting) = (Key(partition, "brief"), Key(partition, "lasting"));

        await Store.ExecuteAsync(new StateTransaction().Set(brief, NewValue(), ttl: ShortTtl).Set(lasting, NewValue()), Timeout);
        await AdvanceTimeAsync(ShortTtl * 1.5);

        Assert.Null(await Store.GetAsync(brief, Timeout));
        Assert.NotNull(await Store.GetAsync(lasting, Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Transaction_WritesWithoutTtl_RemoveEarlierExpiries_AndRecreatedEntriesOutliveTheirTombstone()
    {
        var partition = NewPartition();
        var (expiring, counter, deleted) = (Key(partition, "expiring"), Key(partition, "counter"), Key(partition, "deleted"));
        await Store.SetAsync(expiring, NewValue(), ttl: ShortTtl, cancellationToken: Timeout);
        await Store.IncrementAsync(counter, 1, ShortTtl, Timeout);
        await Store.SetAsync(deleted, NewValue(), cancellationToken: Timeout);
        await Store.DeleteAsync(deleted, cancellationToken: Timeout);

        await Store.ExecuteAsync(new StateTransaction().Set(expiring, NewValue()).Set(counter, "5"u8.ToArray()).Increment(deleted), Timeout);
        await AdvanceTimeAsync(ShortTtl * 1.5);

        Assert.Equal(2, (await Store.GetAsync(expiring, Timeout))!.Version);
        Assert.Equal("5", Text(await Store.GetAsync(counter, Timeout)));
        Assert.Equal("1", Text(await Store.GetAsync(deleted, Timeout)));
        Assert.Equal(2, (await Store.GetAsync(deleted, Timeout))!.Version);
    }

    [Fact(Timeout = 30_000)]
    public async Task Transaction_AsLargeAsAThousandEntryImport_AppliesAtOnce()
    {
        var partition = NewPartition();
        var index = Key(partition, "entries");
        var transaction = new StateTransaction().Require(Key(partition, "request"), 0).Set(Key(partition, "request"), NewValue());
        for (var i = 0; i < 1000; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"entry-{i:D4}");
            transaction.Set(Key(partition, name), NewValue()).IndexAdd(index, name);
        }

        transaction.Increment(Key(partition, "count"), 1000);

        var result = await Store.ExecuteAsync(transaction, Timeout);

        Assert.True(result.Succeeded);
        Assert.Equal(1000, await Store.CountIndexAsync(index, cancellationToken: Timeout));
        Assert.Equal(1000, result.CounterOf(Key(partition, "count")));
        Assert.NotNull(await Store.GetAsync(Key(partition, "entry-0999"), Timeout));
    }

    [Fact(Timeout = 10_000)]
    public void Transaction_SpanningTwoPartitions_IsRefusedBeforeAnythingIsSent()
    {
        var transaction = new StateTransaction().Set("wallets/{player-1}/balance", NewValue());

        var error = Assert.Throws<ArgumentException>(() => transaction.Set("wallets/{player-2}/balance", NewValue()));

        Assert.Contains("partition 'player-1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'wallets/{player-2}/balance' is in partition 'player-2'", error.Message, StringComparison.Ordinal);
        Assert.Contains("spans one partition", error.Message, StringComparison.Ordinal);
        Assert.Single(transaction.Operations);
    }

    [Fact(Timeout = 10_000)]
    public async Task Transaction_WithoutOperations_IsRefused()
    {
        var empty = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ExecuteAsync(new StateTransaction(), Timeout));
        var conditionsOnly = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ExecuteAsync(new StateTransaction().RequireAbsent(NewKey()), Timeout));

        Assert.Contains("at least one operation", empty.Message, StringComparison.Ordinal);
        Assert.Contains("conditions alone change nothing", conditionsOnly.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void Transaction_OverTheSizeLimits_IsRefusedWhileBeingBuilt()
    {
        var partition = NewPartition();
        var many = new StateTransaction();
        for (var i = 0; i < StateKeys.MaxTransactionOperations; i++)
        {
            many.Increment(Key(partition, i.ToString(CultureInfo.InvariantCulture)));
        }

        var tooMany = Assert.Throws<ArgumentException>(() => many.Increment(Key(partition, "one-more")));
        var tooBig = Assert.Throws<ArgumentException>(() => new StateTransaction()
            .Set(Key(partition, "a"), new byte[StateKeys.MaxTransactionBytes / 2])
            .Set(Key(partition, "b"), new byte[(StateKeys.MaxTransactionBytes / 2) + 1]));

        Assert.Contains($"at most {StateKeys.MaxTransactionOperations} operations", tooMany.Message, StringComparison.Ordinal);
        Assert.Contains($"at most {StateKeys.MaxTransactionBytes} bytes", tooBig.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 10_000)]
    public void Transaction_NamingAKeyTwice_IsRefused()
    {
        var key = NewKey();
        var index = Key(StateKeys.PartitionOf(key), "idx");

        Assert.Throws<ArgumentException>(() => new StateTransaction().Set(key, NewValue()).Delete(key));
        Assert.Throws<ArgumentException>(() => new StateTransaction().Require(key, 1).Set(key, NewValue(), expectedVersion: 1));
        Assert.Throws<ArgumentException>(() => new StateTransaction().Require(key, 1).Require(key, 2));
        Assert.Throws<ArgumentException>(() => new StateTransaction().IndexAdd(index, "m").IndexRemove(index, "m"));
        Assert.Throws<InvalidOperationException>(() => new StateTransaction().Enqueue("quest-system", NewValue()));
        Assert.Throws<ArgumentException>(() => new StateTransaction().Set("no-partition", NewValue()));
        Assert.Throws<ArgumentException>(() => new StateTransaction().IndexAdd(index, string.Empty));
        Assert.Throws<ArgumentException>(() => new StateTransaction().IndexAdd(index, "bell\a"));
        Assert.Throws<ArgumentException>(() => new StateTransaction().Set(key, NewValue()).Enqueue("Not A Service", NewValue()));
    }

    [Fact(Timeout = 10_000)]
    public async Task GetMany_ReadsKeysOfManyPartitionsInOrder_WithNullsWhereAbsent()
    {
        var keys = Enumerable.Range(0, 20).Select(_ => NewKey()).ToList();
        var values = new Dictionary<string, byte[]>();
        foreach (var key in keys.Where((_, i) => i % 3 != 0))
        {
            values[key] = NewValue();
            await Store.SetAsync(key, values[key], cancellationToken: Timeout);
        }

        var entries = await Store.GetManyAsync(keys, Timeout);

        Assert.Equal(keys.Count, entries.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            if (values.TryGetValue(keys[i], out var value))
            {
                Assert.Equal(value, entries[i]!.Value.ToArray());
            }
            else
            {
                Assert.Null(entries[i]);
            }
        }

        Assert.Empty(await Store.GetManyAsync([], Timeout));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.GetManyAsync(["bad key"], Timeout));
    }

    [Fact(Timeout = 30_000)]
    public async Task GetMany_OfOnePartition_IsASnapshot_NeverHalfOfATransaction()
    {
        // A writer moves two keys of one partition together (as payment writes a wallet and the
        // idempotency key it claims); a reader must never see one moved and not the other.
        var partition = NewPartition();
        string[] keys = [Key(partition, "claim"), Key(partition, "balance")];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        var writer = Task.Run(async () =>
        {
            for (var n = 1; n <= 400 && !stop.IsCancellationRequested; n++)
            {
                var value = BitConverter.GetBytes(n);
                var result = await Store.ExecuteAsync(new StateTransaction().Set(keys[0], value).Set(keys[1], value), Timeout);
                Assert.True(result.Succeeded);
            }
        }, Timeout);

        var torn = 0;
        var reads = 0;
        while (!writer.IsCompleted)
        {
            var entries = await Store.GetManyAsync(keys, Timeout);
            reads++;
            if (entries[0]?.Value.ToArray() is var first && entries[1]?.Value.ToArray() is var second && !(first ?? []).AsSpan().SequenceEqual(second ?? []))
            {
                torn++;
            }
        }

        await writer;
        Assert.True(reads > 10, $"only {reads} reads ran beside the writer");
        Assert.Equal(0, torn);
    }

    /// <summary>
    /// Property: seeded random transfers between a few wallets of one partition, run by
    /// concurrent workers as optimistic transactions (read, then write at the versions read,
    /// append a ledger entry, index it, count it), never break the invariants: the total is
    /// constant, no balance goes negative, and every applied transfer (and only those) is in
    /// the ledger, the index and the count.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Transactions_InRandomConcurrentInterleavings_LoseNoUpdateAndKeepTheInvariants(int seed)
    {
        const int Wallets = 4;
        const int Workers = 8;
        const int TransfersEach = 30;
        const long Initial = 1000;
        var partition = NewPartition();
        var wallets = Enumerable.Range(0, Wallets).Select(i => Key(partition, $"wallet/{i}")).ToArray();
        var (ledgerIndex, count) = (Key(partition, "ledger"), Key(partition, "transfers"));
        var setup = new StateTransaction();
        foreach (var wallet in wallets)
        {
            setup.Set(wallet, Amount(Initial), expectedVersion: 0);
        }

        await Store.ExecuteAsync(setup, Timeout);
        var applied = new System.Collections.Concurrent.ConcurrentBag<string>();
        var refusedForFunds = 0;

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var random = new Bogus.Randomizer((seed * 7919) + worker);
            for (var t = 0; t < TransfersEach; t++)
            {
                var from = random.Number(0, Wallets - 1);
                var to = (from + random.Number(1, Wallets - 1)) % Wallets;
                var amount = random.Number(1, 400);
                var id = $"w{worker}-t{t}";
                for (var attempt = 0; ; attempt++)
                {
                    Assert.True(attempt < 500, "A transfer kept conflicting.");
                    var read = await Store.GetManyAsync([wallets[from], wallets[to]], Timeout);
                    var (source, target) = (Parse(read[0]!), Parse(read[1]!));
                    if (source < amount)
                    {
                        Interlocked.Increment(ref refusedForFunds);
                        break;
                    }

                    var result = await Store.ExecuteAsync(
                        new StateTransaction()
                            .Set(wallets[from], Amount(source - amount), expectedVersion: read[0]!.Version)
                            .Set(wallets[to], Amount(target + amount), expectedVersion: read[1]!.Version)
                            .Set(Key(partition, $"entries/{id}"), Amount(amount), expectedVersion: 0)
                            .IndexAdd(ledgerIndex, id)
                            .Increment(count),
                        Timeout);
                    if (result.Succeeded)
                    {
                        applied.Add(id);
                        break;
                    }

                    Assert.Contains(result.Conflict!.Key, wallets);
                }
            }
        }, Timeout)));

        var balances = (await Store.GetManyAsync(wallets, Timeout)).Select(e => Parse(e!)).ToList();
        Assert.Equal(Initial * Wallets, balances.Sum());
        Assert.All(balances, b => Assert.True(b >= 0));
        var ledger = await ReadIndexAsync(ledgerIndex, StateIndexQuery.Default with { PageSize = 50 });
        Assert.Equal(applied.Order(StringComparer.Ordinal), ledger.Order(StringComparer.Ordinal));
        Assert.Equal(applied.Count, Parse((await Store.GetAsync(count, Timeout))!));
        Assert.Equal(Workers * TransfersEach, applied.Count + refusedForFunds);

        static byte[] Amount(long value) => Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture));
        static long Parse(StateEntry entry) => long.Parse(Encoding.ASCII.GetString(entry.Value.Span), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Property: seeded concurrent creates and deletes of members, each with its entry and a
    /// counter in one transaction, leave the index, the entries and the counter agreeing.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(11)]
    [InlineData(12)]
    public async Task IndexAndCounter_UnderConcurrentCreatesAndDeletes_NeverDrift(int seed)
    {
        const int Workers = 6;
        const int StepsEach = 40;
        var partition = NewPartition();
        var (index, count) = (Key(partition, "names"), Key(partition, "count"));
        var names = new Bogus.Faker { Random = new Bogus.Randomizer(seed) }.Make(12, () => Guid.NewGuid().ToString("N")[..8]).ToArray();

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var random = new Bogus.Randomizer((seed * 104729) + worker);
            for (var step = 0; step < StepsEach; step++)
            {
                var name = names[random.Number(0, names.Length - 1)];
                var key = Key(partition, $"entry/{name}");
                var current = await Store.GetAsync(key, Timeout);
                var transaction = current is null
                    ? new StateTransaction().Set(key, NewValue(), expectedVersion: 0).IndexAdd(index, name).Increment(count, 1)
                    : new StateTransaction().Delete(key, expectedVersion: current.Version).IndexRemove(index, name).Increment(count, -1);
                await Store.ExecuteAsync(transaction, Timeout);
            }
        }, Timeout)));

        var members = await ReadIndexAsync(index, StateIndexQuery.Default);
        var entries = await Store.GetManyAsync([.. names.Select(n => Key(partition, $"entry/{n}"))], Timeout);
        var existing = names.Where((_, i) => entries[i] is not null).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(existing, members.Order(StringComparer.Ordinal));
        var counted = await Store.GetAsync(count, Timeout);
        Assert.Equal(existing.Count, counted is null ? 0 : long.Parse(Encoding.ASCII.GetString(counted.Value.Span), CultureInfo.InvariantCulture));
        Assert.Equal(existing.Count, await Store.CountIndexAsync(index, cancellationToken: Timeout));
    }

    private string NewPartition() => _faker.Random.AlphaNumeric(10);

    private static string Key(string partition, string path) => $"tx/{{{partition}}}/{path}";

    private static string? Text(StateEntry? entry) => entry is null ? null : Encoding.UTF8.GetString(entry.Value.Span);

    private async Task<List<string>> ReadIndexAsync(string index, StateIndexQuery query)
    {
        var members = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Store.QueryIndexAsync(index, query with { PageToken = token }, Timeout);
            members.AddRange(page.Members);
            token = page.NextPageToken;
            Assert.True(++pages <= 10_000, "The index listing did not end.");
        }
        while (token is not null);

        return members;
    }
}
