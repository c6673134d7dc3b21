using GameSystem.Services.Settings.Internal;
using GameSystem.State;

namespace GameSystem.Services.Settings.Tests;

public sealed class IndexWalkTests
{
    private const string Index = "settings/{definitions}/keys";

    private static async Task<InMemoryStateStore> StoreWithAsync(params string[] members)
    {
        var store = new InMemoryStateStore();
        var transaction = new StateTransaction();
        foreach (var member in members)
        {
            transaction.IndexAdd(Index, member);
        }

        await store.ExecuteAsync(transaction, TestContext.Current.CancellationToken);
        return store;
    }

    private static async Task<List<string>> AllAsync(IndexWalk walk, int chunk)
    {
        var all = new List<string>();
        while (await walk.NextAsync(chunk, TestContext.Current.CancellationToken) is { Count: > 0 } members)
        {
            all.AddRange(members);
        }

        return all;
    }

    [Fact]
    public void Prefixes_CoveredByAnother_AreDropped_AndTheRestSorted()
    {
        var walk = new IndexWalk(new InMemoryStateStore(), Index, ["graphics.", "audio.music", "audio.", "graphics.", "chat"], null);

        Assert.Equal(["audio.", "chat", "graphics."], walk.Prefixes);
    }

    [Fact]
    public async Task Walk_YieldsTheUnionOfThePrefixesInOrder_AfterTheResumePoint()
    {
        var store = await StoreWithAsync("audio.a", "audio.b", "chat.x", "graphics.a", "graphics.b", "server.tick");

        Assert.Equal(["audio.a", "audio.b", "graphics.a", "graphics.b"], await AllAsync(new IndexWalk(store, Index, ["graphics.", "audio."], null), 1));
        Assert.Equal(["graphics.a", "graphics.b"], await AllAsync(new IndexWalk(store, Index, ["graphics.", "audio."], "audio.b"), 3));
        Assert.Equal(["graphics.b", "server.tick"], await AllAsync(new IndexWalk(store, Index, [], "graphics.a"), 2));
        Assert.Empty(await AllAsync(new IndexWalk(store, Index, ["zzz"], null), 2));
    }
}
