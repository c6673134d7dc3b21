namespace GameSystem.State.Tests;

public abstract partial class StateStoreContract
{
    [Fact(Timeout = 20_000)]
    public async Task Index_ListsMembersInCodePointOrder_BothWays_AcrossPages()
    {
        var index = Key(NewPartition(), "names");
        var members = NewMembers(150);
        await AddMembersAsync(index, members);
        var expected = members.Order(CodePointOrder.Instance).ToList();

        foreach (var pageSize in new[] { 1, 7, 150, 1000 })
        {
            Assert.Equal(expected, await ReadIndexAsync(index, StateIndexQuery.Default with { PageSize = pageSize }));
            Assert.Equal(Enumerable.Reverse(expected), await ReadIndexAsync(index, StateIndexQuery.Default with { PageSize = pageSize, Descending = true }));
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task Index_OrdersCharactersAboveUFFFFAfterThePrivateUseArea_AsRedisDoes()
    {
        var index = Key(NewPartition(), "unicode");
        string[] members = ["\U0001F600 grin", "\uFF21 wide A", "\uE000 private", "z", "é", "A", "a"];
        await AddMembersAsync(index, members);

        var listed = await ReadIndexAsync(index, StateIndexQuery.Default);

        Assert.Equal(["A", "a", "z", "é", "\uE000 private", "\uFF21 wide A", "\U0001F600 grin"], listed);
    }

    [Fact(Timeout = 20_000)]
    public async Task Index_RangeAndPrefix_SelectExactlyTheirMembers()
    {
        var index = Key(NewPartition(), "by-time");
        var members = new List<string>();
        foreach (var day in new[] { "2026-11-30", "2026-12-01", "2026-12-02" })
        {
            for (var i = 0; i < 12; i++)
            {
                members.Add($"{day}/{i:D2}/{_faker.Random.AlphaNumeric(4)}");
            }
        }

        await AddMembersAsync(index, members);
        var sorted = members.Order(CodePointOrder.Instance).ToList();

        var december1 = await ReadIndexAsync(index, StateIndexQuery.Default with { Prefix = "2026-12-01/", PageSize = 5 });
        var fromDec1 = await ReadIndexAsync(index, StateIndexQuery.Default with { From = "2026-12-01", PageSize = 5 });
        var beforeDec2 = await ReadIndexAsync(index, StateIndexQuery.Default with { To = "2026-12-02", Descending = true, PageSize = 5 });
        var window = await ReadIndexAsync(index, StateIndexQuery.Default with { From = "2026-12-01/03", To = "2026-12-01/07" });
        var prefixAndFrom = await ReadIndexAsync(index, StateIndexQuery.Default with { Prefix = "2026-12-01/", From = "2026-12-01/10" });

        Assert.Equal(sorted.Where(m => m.StartsWith("2026-12-01/", StringComparison.Ordinal)), december1);
        Assert.Equal(sorted.Where(m => string.CompareOrdinal(m, "2026-12-01") >= 0), fromDec1);
        Assert.Equal(sorted.Where(m => string.CompareOrdinal(m, "2026-12-02") < 0).Reverse(), beforeDec2);
        Assert.Equal(sorted.Where(m => string.CompareOrdinal(m, "2026-12-01/03") >= 0 && string.CompareOrdinal(m, "2026-12-01/07") < 0), window);
        Assert.Equal(sorted.Where(m => m.StartsWith("2026-12-01/", StringComparison.Ordinal) && string.CompareOrdinal(m, "2026-12-01/10") >= 0), prefixAndFrom);
        Assert.Equal(12, await Store.CountIndexAsync(index, "2026-12-01/", Timeout));
        Assert.Equal(36, await Store.CountIndexAsync(index, cancellationToken: Timeout));
        Assert.Empty((await Store.QueryIndexAsync(index, StateIndexQuery.Default with { From = "b", To = "a" }, Timeout)).Members);
    }

    [Fact(Timeout = 20_000)]
    public async Task Index_PagingWhileMembersComeAndGo_ReturnsEveryLastingMemberOnce()
    {
        var index = Key(NewPartition(), "churn");
        var lasting = NewMembers(60);
        await AddMembersAsync(index, lasting);
        var seen = new List<string>();
        string? token = null;
        var round = 0;
        do
        {
            var page = await Store.QueryIndexAsync(index, StateIndexQuery.Default with { PageSize = 6, PageToken = token }, Timeout);
            seen.AddRange(page.Members);
            token = page.NextPageToken;

            // Between pages, members come and go on both sides of the cursor.
            var transient = $"{(char)('a' + (round % 26))}-transient-{round}";
            await Store.ExecuteAsync(new StateTransaction().IndexAdd(index, transient), Timeout);
            if (round > 0)
            {
                await Store.ExecuteAsync(new StateTransaction().IndexRemove(index, $"{(char)('a' + ((round - 1) % 26))}-transient-{round - 1}"), Timeout);
            }

            round++;
        }
        while (token is not null && round < 1000);

        var lastingSeen = seen.Where(m => !m.Contains("-transient-", StringComparison.Ordinal)).ToList();
        Assert.Equal(lasting.Order(CodePointOrder.Instance), lastingSeen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact(Timeout = 10_000)]
    public async Task Index_RemovedMembersAndAbsentIndexes_AreEmpty()
    {
        var partition = NewPartition();
        var index = Key(partition, "idx");
        await Store.ExecuteAsync(new StateTransaction().IndexAdd(index, "a").IndexAdd(index, "b"), Timeout);
        await Store.ExecuteAsync(new StateTransaction().IndexRemove(index, "a").IndexRemove(index, "never-there"), Timeout);

        Assert.Equal(["b"], (await Store.QueryIndexAsync(index, StateIndexQuery.Default, Timeout)).Members);
        Assert.Empty((await Store.QueryIndexAsync(Key(partition, "absent"), StateIndexQuery.Default, Timeout)).Members);
        Assert.Equal(0, await Store.CountIndexAsync(Key(partition, "absent"), cancellationToken: Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task Index_IsNotListedAsAnEntry_AndAnEntryOfTheSameNameIsSeparate()
    {
        var partition = NewPartition();
        var name = Key(partition, "shared-name");
        await Store.ExecuteAsync(new StateTransaction().IndexAdd(name, "member").Set(Key(partition, "entry"), NewValue()), Timeout);
        await Store.SetAsync(name, "entry value"u8.ToArray(), cancellationToken: Timeout);

        var listed = await Store.ListAsync($"tx/{{{partition}}}/", cancellationToken: Timeout);

        Assert.Equal([Key(partition, "entry"), name], listed.Items.Select(i => i.Key).Order(StringComparer.Ordinal));
        Assert.Equal("entry value", Text(await Store.GetAsync(name, Timeout)));
        Assert.Equal(["member"], (await Store.QueryIndexAsync(name, StateIndexQuery.Default, Timeout)).Members);
    }

    [Fact(Timeout = 10_000)]
    public async Task Index_PageTokens_AreCheckedAgainstTheQuery()
    {
        var index = Key(NewPartition(), "idx");
        await AddMembersAsync(index, ["a", "b", "c"]);
        var ascending = await Store.QueryIndexAsync(index, StateIndexQuery.Default with { PageSize = 1 }, Timeout);

        var reversed = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await Store.QueryIndexAsync(index, StateIndexQuery.Default with { PageSize = 1, Descending = true, PageToken = ascending.NextPageToken }, Timeout));
        var bogus = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await Store.QueryIndexAsync(index, StateIndexQuery.Default with { PageToken = "not-a-token" }, Timeout));

        Assert.Contains("ascending", reversed.Message, StringComparison.Ordinal);
        Assert.Contains("not returned by this store", bogus.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.QueryIndexAsync(index, StateIndexQuery.Default with { PageSize = 0 }, Timeout));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Store.QueryIndexAsync("no-partition", StateIndexQuery.Default, Timeout));
    }

    private List<string> NewMembers(int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"{_faker.Name.LastName()}{(i % 5 == 0 ? " Æ" : string.Empty)}/{i}").Distinct()];

    private async Task AddMembersAsync(string index, IEnumerable<string> members)
    {
        foreach (var chunk in members.Chunk(200))
        {
            var transaction = new StateTransaction();
            foreach (var member in chunk)
            {
                transaction.IndexAdd(index, member);
            }

            await Store.ExecuteAsync(transaction, Timeout);
        }
    }

    /// <summary>The order the stores promise, written independently of theirs: compare UTF-8 bytes.</summary>
    private sealed class CodePointOrder : IComparer<string>
    {
        public static CodePointOrder Instance { get; } = new();

        public int Compare(string? x, string? y) =>
            System.Text.Encoding.UTF8.GetBytes(x!).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(y!));
    }
}
