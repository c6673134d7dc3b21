using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Bogus;

namespace GameSystem.State.Tests;

/// <summary>
/// The behaviour every <see cref="IStateStore"/> promises; each implementation runs all of it.
/// </summary>
public abstract partial class StateStoreContract
{
    private readonly Faker _faker = new() { Random = new Randomizer(20260412) };

    /// <summary>A fresh store that sees no other test's keys.</summary>
    protected abstract IStateStore Store { get; }

    /// <summary>A TTL the store can be made to outlive quickly.</summary>
    protected abstract TimeSpan ShortTtl { get; }

    /// <summary>Lets <paramref name="duration"/> pass for the store's expiry.</summary>
    protected abstract Task AdvanceTimeAsync(TimeSpan duration);

    protected static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 10_000)]
    public async Task Ping_WhenTheStoreIsUp_Completes()
    {
        await Store.PingAsync(Timeout);
    }

    [Fact(Timeout = 10_000)]
    public async Task Get_WhenAbsent_ReturnsNull()
    {
        Assert.Null(await Store.GetAsync(NewKey(), Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_Unconditionally_StartsAtVersion1AndEachWriteAddsOne()
    {
        var key = NewKey();
        var values = Enumerable.Range(0, 3).Select(_ => NewValue()).ToList();

        var versions = new List<long>();
        foreach (var value in values)
        {
            var result = await Store.SetAsync(key, value, cancellationToken: Timeout);
            Assert.True(result.Succeeded);
            versions.Add(result.Version);
        }

        var entry = await Store.GetAsync(key, Timeout);
        Assert.Equal([1L, 2L, 3L], versions);
        Assert.NotNull(entry);
        Assert.Equal(3, entry.Version);
        Assert.Equal(values[^1], entry.Value.ToArray());
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_RoundTripsBinaryAndEmptyValues()
    {
        var binary = _faker.Random.Bytes(4096);
        binary[0] = 0;
        binary[^1] = 0;

        var binaryKey = NewKey();
        var emptyKey = NewKey();
        await Store.SetAsync(binaryKey, binary, cancellationToken: Timeout);
        await Store.SetAsync(emptyKey, ReadOnlyMemory<byte>.Empty, cancellationToken: Timeout);

        Assert.Equal(binary, (await Store.GetAsync(binaryKey, Timeout))!.Value.ToArray());
        var empty = await Store.GetAsync(emptyKey, Timeout);
        Assert.NotNull(empty);
        Assert.Equal(0, empty.Value.Length);
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_WithCurrentExpectedVersion_SucceedsAndBumpsTheVersion()
    {
        var key = NewKey();
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        var second = NewValue();

        var result = await Store.SetAsync(key, second, expectedVersion: 1, cancellationToken: Timeout);

        Assert.Equal(StateWriteResult.Written(2), result);
        var entry = await Store.GetAsync(key, Timeout);
        Assert.Equal(2, entry!.Version);
        Assert.Equal(second, entry.Value.ToArray());
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_WithStaleExpectedVersion_ConflictsWithTheStoredEntryAndChangesNothing()
    {
        var key = NewKey();
        var first = NewValue();
        var second = NewValue();
        await Store.SetAsync(key, first, cancellationToken: Timeout);
        await Store.SetAsync(key, second, cancellationToken: Timeout);

        var result = await Store.SetAsync(key, NewValue(), expectedVersion: 1, cancellationToken: Timeout);

        Assert.True(result.IsConflict);
        Assert.Equal(2, result.Version);
        Assert.Equal(second, result.Current!.Value.ToArray());
        var entry = await Store.GetAsync(key, Timeout);
        Assert.Equal(2, entry!.Version);
        Assert.Equal(second, entry.Value.ToArray());
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_CreateOnly_SucceedsWhenAbsentAndConflictsWhenTheKeyExists()
    {
        var key = NewKey();
        var original = NewValue();

        var created = await Store.SetAsync(key, original, expectedVersion: 0, cancellationToken: Timeout);
        var again = await Store.SetAsync(key, NewValue(), expectedVersion: 0, cancellationToken: Timeout);

        Assert.Equal(StateWriteResult.Written(1), created);
        Assert.True(again.IsConflict);
        Assert.Equal(1, again.Version);
        Assert.Equal(original, again.Current!.Value.ToArray());
        Assert.Equal(original, (await Store.GetAsync(key, Timeout))!.Value.ToArray());
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_WithExpectedVersion_WhenAbsent_ConflictsAndCreatesNothing()
    {
        var key = NewKey();

        var result = await Store.SetAsync(key, NewValue(), expectedVersion: 4, cancellationToken: Timeout);

        Assert.Equal(StateWriteResult.Conflict(null), result);
        Assert.Equal(0, result.Version);
        Assert.Null(await Store.GetAsync(key, Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task Set_RetriedWithTheSameExpectedVersion_AppliesOnce()
    {
        var key = NewKey();
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        var update = NewValue();

        var first = await Store.SetAsync(key, update, expectedVersion: 1, cancellationToken: Timeout);
        var retry = await Store.SetAsync(key, update, expectedVersion: 1, cancellationToken: Timeout);

        Assert.True(first.Succeeded);
        Assert.True(retry.IsConflict);
        Assert.Equal(update, retry.Current!.Value.ToArray());
        Assert.Equal(2, (await Store.GetAsync(key, Timeout))!.Version);
    }

    [Fact(Timeout = 10_000)]
    public async Task Delete_Unconditionally_RemovesTheEntryAndARetrySucceeds()
    {
        var key = NewKey();
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);

        var deleted = await Store.DeleteAsync(key, cancellationToken: Timeout);
        var retried = await Store.DeleteAsync(key, cancellationToken: Timeout);

        Assert.Equal(StateWriteResult.Written(0), deleted);
        Assert.Equal(StateWriteResult.Written(0), retried);
        Assert.Null(await Store.GetAsync(key, Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task Delete_WithExpectedVersion_ConflictsWhenStaleAndDeletesWhenCurrent()
    {
        var key = NewKey();
        var value = NewValue();
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        await Store.SetAsync(key, value, cancellationToken: Timeout);

        var stale = await Store.DeleteAsync(key, expectedVersion: 1, cancellationToken: Timeout);
        Assert.True(stale.IsConflict);
        Assert.Equal(2, stale.Version);
        Assert.Equal(value, (await Store.GetAsync(key, Timeout))!.Value.ToArray());

        var current = await Store.DeleteAsync(key, expectedVersion: 2, cancellationToken: Timeout);
        Assert.True(current.Succeeded);
        Assert.Null(await Store.GetAsync(key, Timeout));

        var absent = await Store.DeleteAsync(key, expectedVersion: 2, cancellationToken: Timeout);
        Assert.Equal(StateWriteResult.Conflict(null), absent);
    }

    [Fact(Timeout = 10_000)]
    public async Task Delete_ThenRecreate_ContinuesTheVersion_SoAWriterHoldingAPreDeleteVersionConflicts()
    {
        var key = NewKey();
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        await Store.DeleteAsync(key, cancellationToken: Timeout);
        var absent = await Store.GetAsync(key, Timeout);
        var stale = await Store.SetAsync(key, NewValue(), expectedVersion: 2, cancellationToken: Timeout);

        var recreated = await Store.SetAsync(key, NewValue(), expectedVersion: 0, cancellationToken: Timeout);
        var staleAfterRecreate = await Store.SetAsync(key, NewValue(), expectedVersion: 1, cancellationToken: Timeout);
        var staleDelete = await Store.DeleteAsync(key, expectedVersion: 2, cancellationToken: Timeout);

        Assert.Null(absent);
        Assert.False(stale.Succeeded);
        Assert.Null(stale.Current);
        Assert.Equal(StateWriteResult.Written(3), recreated);
        Assert.False(staleAfterRecreate.Succeeded);
        Assert.False(staleDelete.Succeeded);
        Assert.Equal(3, (await Store.GetAsync(key, Timeout))!.Version);
    }

    [Fact(Timeout = 10_000)]
    public async Task Delete_ThenIncrement_CountsFromZeroAndContinuesTheVersion_AndListingSkipsTheDeletedKey()
    {
        var prefix = NewKey() + "/";
        await Store.SetAsync(prefix + "gone", NewValue(), cancellationToken: Timeout);
        await Store.SetAsync(prefix + "kept", NewValue(), cancellationToken: Timeout);
        await Store.DeleteAsync(prefix + "gone", cancellationToken: Timeout);
        var listed = await Store.ListAsync(prefix, cancellationToken: Timeout);

        var counted = await Store.IncrementAsync(prefix + "gone", 7, cancellationToken: Timeout);

        Assert.Equal([prefix + "kept"], listed.Items.Select(i => i.Key));
        Assert.Equal(7, counted);
        Assert.Equal(2, (await Store.GetAsync(prefix + "gone", Timeout))!.Version);
    }

    [Fact(Timeout = 10_000)]
    public async Task Increment_CountsFromZero_BumpsTheVersion_AndReadsBackAsDecimalText()
    {
        var key = NewKey();

        Assert.Equal(5, await Store.IncrementAsync(key, 5, cancellationToken: Timeout));
        Assert.Equal(-2, await Store.IncrementAsync(key, -7, cancellationToken: Timeout));
        Assert.Equal(-1, await Store.IncrementAsync(key, cancellationToken: Timeout));

        var entry = await Store.GetAsync(key, Timeout);
        Assert.Equal(3, entry!.Version);
        Assert.Equal("-1", Encoding.ASCII.GetString(entry.Value.Span));
    }

    [Fact(Timeout = 10_000)]
    public async Task Increment_OfAValueWrittenAsDecimalText_AddsToIt()
    {
        var key = NewKey();
        await Store.SetAsync(key, "40"u8.ToArray(), cancellationToken: Timeout);

        Assert.Equal(42, await Store.IncrementAsync(key, 2, cancellationToken: Timeout));
        Assert.Equal(2, (await Store.GetAsync(key, Timeout))!.Version);
    }

    [Fact(Timeout = 10_000)]
    public async Task Increment_WhenTheValueIsNotAnInteger_ThrowsAndChangesNothing()
    {
        var key = NewKey();
        await Store.SetAsync(key, "not a number"u8.ToArray(), cancellationToken: Timeout);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Store.IncrementAsync(key, 1, cancellationToken: Timeout));

        Assert.Equal(1, (await Store.GetAsync(key, Timeout))!.Version);
    }

    [Fact(Timeout = 60_000)]
    public async Task Increment_UnderHeavyConcurrency_LosesNoIncrement()
    {
        const int Writers = 50;
        const int IncrementsEach = 100;
        var key = NewKey();
        var returned = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < IncrementsEach; i++)
            {
                returned.Add(await Store.IncrementAsync(key, 1, cancellationToken: Timeout));
            }
        }, Timeout)));

        var entry = await Store.GetAsync(key, Timeout);
        Assert.Equal("5000", Encoding.ASCII.GetString(entry!.Value.Span));
        Assert.Equal(Writers * IncrementsEach, entry.Version);
        // Atomic means every caller saw a distinct intermediate value.
        Assert.Equal(Enumerable.Range(1, Writers * IncrementsEach).Select(i => (long)i), returned.Order());
    }

    [Fact(Timeout = 30_000)]
    public async Task ConditionalWrites_RacingForOneVersion_ExactlyOneWinsEachRound()
    {
        const int Writers = 16;
        const int Rounds = 20;
        var key = NewKey();

        for (var version = 0; version < Rounds; version++)
        {
            var expected = version;
            var results = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
                (Writer: w, Result: await Store.SetAsync(key, Encoding.UTF8.GetBytes($"writer-{w}"), expected, cancellationToken: Timeout)), Timeout)));

            var winner = Assert.Single(results, r => r.Result.Succeeded);
            Assert.Equal(expected + 1, winner.Result.Version);
            Assert.All(results.Where(r => r.Result.IsConflict), r => Assert.Equal(expected + 1, r.Result.Version));
            Assert.Equal($"writer-{winner.Writer}", Encoding.UTF8.GetString((await Store.GetAsync(key, Timeout))!.Value.Span));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task OptimisticReadModifyWrite_UnderConcurrency_LosesNoUpdate()
    {
        const int Writers = 8;
        const int UpdatesEach = 25;
        var key = NewKey();
        var wonVersions = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < UpdatesEach; i++)
            {
                var current = await Store.GetAsync(key, Timeout);
                while (true)
                {
                    var count = current is null ? 0 : int.Parse(Encoding.ASCII.GetString(current.Value.Span), CultureInfo.InvariantCulture);
                    var next = Encoding.ASCII.GetBytes((count + 1).ToString(CultureInfo.InvariantCulture));
                    var result = await Store.SetAsync(key, next, current?.Version ?? 0, cancellationToken: Timeout);
                    if (result.Succeeded)
                    {
                        wonVersions.Add(result.Version);
                        break;
                    }

                    current = result.Current;
                }
            }
        }, Timeout)));

        var entry = await Store.GetAsync(key, Timeout);
        Assert.Equal((Writers * UpdatesEach).ToString(CultureInfo.InvariantCulture), Encoding.ASCII.GetString(entry!.Value.Span));
        Assert.Equal(Writers * UpdatesEach, entry.Version);
        Assert.Equal(Enumerable.Range(1, Writers * UpdatesEach).Select(i => (long)i), wonVersions.Order());
    }

    [Fact(Timeout = 20_000)]
    public async Task Ttl_EntryIsThereBeforeItAndGoneAfter_FromReadsAndListings()
    {
        var key = "ttl/" + NewKey();
        await Store.SetAsync(key, NewValue(), ttl: ShortTtl, cancellationToken: Timeout);
        Assert.NotNull(await Store.GetAsync(key, Timeout));

        await AdvanceTimeAsync(ShortTtl * 1.5);

        Assert.Null(await Store.GetAsync(key, Timeout));
        Assert.Empty((await Store.ListAsync("ttl/", cancellationToken: Timeout)).Items);
        Assert.Equal(StateWriteResult.Written(1), await Store.SetAsync(key, NewValue(), expectedVersion: 0, cancellationToken: Timeout));
    }

    [Fact(Timeout = 20_000)]
    public async Task Set_WithoutTtl_RemovesAnEarlierTtl()
    {
        var key = NewKey();
        await Store.SetAsync(key, NewValue(), ttl: ShortTtl, cancellationToken: Timeout);
        await Store.SetAsync(key, NewValue(), expectedVersion: 1, cancellationToken: Timeout);

        await AdvanceTimeAsync(ShortTtl * 1.5);

        Assert.Equal(2, (await Store.GetAsync(key, Timeout))!.Version);
    }

    [Fact(Timeout = 20_000)]
    public async Task Increment_WithTtl_ExpiresAFixedWindowAfterTheFirstIncrement()
    {
        var key = NewKey();
        Assert.Equal(1, await Store.IncrementAsync(key, 1, ShortTtl, Timeout));
        await AdvanceTimeAsync(ShortTtl * 0.6);
        Assert.Equal(2, await Store.IncrementAsync(key, 1, ShortTtl, Timeout));

        await AdvanceTimeAsync(ShortTtl * 0.6);

        Assert.Null(await Store.GetAsync(key, Timeout));
        Assert.Equal(1, await Store.IncrementAsync(key, 1, ShortTtl, Timeout));
    }

    [Fact(Timeout = 30_000)]
    public async Task List_PagesCoverEveryKeyUnderAGlobbyPrefixOnce_AndNothingElse()
    {
        const string Prefix = @"q*s?t[1]-^\/";
        var expected = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < 137; i++)
        {
            expected[$"{Prefix}{{{_faker.Random.AlphaNumeric(10)}}}-{i}"] = NewValue();
        }

        // Each decoy would match if the prefix were used as a glob pattern, or is a near miss.
        string[] decoys = [@"qXsYt1-^\/{a}", @"qZZsAt[1]-^\/{b}", @"q*s?t1-^\/{c}", @"q*s?t[1]-^\{d}", @"q*s?t[2]-^\/{d}", @"Q*s?t[1]-^\/{e}", @"xq*s?t[1]-^\/{f}"];
        foreach (var (key, value) in expected)
        {
            await Store.SetAsync(key, value, cancellationToken: Timeout);
        }

        foreach (var decoy in decoys)
        {
            await Store.SetAsync(decoy, NewValue(), cancellationToken: Timeout);
        }

        var listed = new List<StateItem>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Store.ListAsync(Prefix, pageSize: 10, token, Timeout);
            listed.AddRange(page.Items);
            token = page.NextPageToken;
            Assert.True(++pages <= 200, "The listing did not end.");
        }
        while (token is not null);

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), listed.Select(i => i.Key).Order(StringComparer.Ordinal));
        Assert.All(listed, item =>
        {
            Assert.Equal(expected[item.Key], item.Entry.Value.ToArray());
            Assert.Equal(1, item.Entry.Version);
        });
    }

    [Fact(Timeout = 10_000)]
    public async Task List_WithAnEmptyPrefix_ReturnsExactlyThisStoresKeys()
    {
        var keys = Enumerable.Range(0, 5).Select(_ => NewKey()).ToList();
        foreach (var key in keys)
        {
            await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);
        }

        var page = await Store.ListAsync(string.Empty, pageSize: 100, cancellationToken: Timeout);

        Assert.Null(page.NextPageToken);
        Assert.Equal(keys.Order(StringComparer.Ordinal), page.Items.Select(i => i.Key).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 10_000)]
    public async Task List_WithATokenItDidNotIssue_ThrowsArgumentException()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ListAsync("p/", 10, "bogus-token", Timeout));

        Assert.Equal("pageToken", error.ParamName);
    }

    public static TheoryData<string> InvalidKeys => new(
        string.Empty,
        " ",
        "player 1",
        "tab\tkey",
        "line\nkey",
        "nul\0key",
        "nbsp\u00A0key",
        "{k}" + new string('k', StateKeys.MaxLength - 2),
        "no-partition/key",
        "empty-partition/{}/key",
        "two/{a}/partitions/{b}",
        "nested/{a{b}}",
        "reversed/}a{",
        "unclosed/{a");

    [Theory(Timeout = 10_000)]
    [MemberData(nameof(InvalidKeys))]
    public async Task EveryOperation_RejectsAnInvalidKeyWithArgumentException(string key)
    {
        var errors = new[]
        {
            await Assert.ThrowsAsync<ArgumentException>(async () => await Store.GetAsync(key, Timeout)),
            await Assert.ThrowsAsync<ArgumentException>(async () => await Store.SetAsync(key, NewValue(), cancellationToken: Timeout)),
            await Assert.ThrowsAsync<ArgumentException>(async () => await Store.DeleteAsync(key, cancellationToken: Timeout)),
            await Assert.ThrowsAsync<ArgumentException>(async () => await Store.IncrementAsync(key, cancellationToken: Timeout)),
        };

        Assert.All(errors, e =>
        {
            Assert.Equal("key", e.ParamName);
            Assert.Contains("state key", e.Message, StringComparison.Ordinal);
        });
    }

    [Fact(Timeout = 10_000)]
    public async Task AKeyOfTheMaximumLength_IsAccepted()
    {
        var key = "{k}" + new string('k', StateKeys.MaxLength - 3);

        await Store.SetAsync(key, NewValue(), cancellationToken: Timeout);

        Assert.NotNull(await Store.GetAsync(key, Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task InvalidArguments_AreRejectedBeforeAnythingIsWritten()
    {
        var key = NewKey();

        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Store.GetAsync(null!, Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.SetAsync(key, NewValue(), expectedVersion: -1, cancellationToken: Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.SetAsync(key, NewValue(), ttl: TimeSpan.Zero, cancellationToken: Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.IncrementAsync(key, 1, TimeSpan.FromSeconds(-1), Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ListAsync("p/", 0, cancellationToken: Timeout));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ListAsync("bad prefix", 10, cancellationToken: Timeout));

        Assert.Null(await Store.GetAsync(key, Timeout));
    }

    /// <summary>A key in a partition of its own, e.g. <c>bandwidth/{k3j9x}/a8d0f2c4e6b1</c>.</summary>
    private string NewKey() => $"{_faker.Hacker.Noun().Replace(' ', '-')}/{{{_faker.Random.AlphaNumeric(6)}}}/{_faker.Random.AlphaNumeric(12)}";

    private byte[] NewValue() => Encoding.UTF8.GetBytes(_faker.Lorem.Sentence(8));
}
