using System.Runtime.CompilerServices;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.State;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>A member of an index read with its instance's live registration (null: the lease lapsed and the member outlived it).</summary>
internal readonly record struct ScannedMember(string Member, string InstanceId, Instance? Live);

/// <summary>Reads an index in order with the live entry of each member's instance, a chunk at a time.</summary>
internal static class IndexScan
{
    /// <summary>Members one listing call examines at most before answering with what it has and a token to go on (AIP-158 allows short pages).</summary>
    public const int ScanLimit = 5000;

    private const int ChunkSize = 200;

    public static async IAsyncEnumerable<ScannedMember> ReadAsync(
        IStateStore store, TimeProvider time, string index, StateIndexQuery query, Func<string, string> instanceIdOf, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        query = query with { PageSize = ChunkSize, PageToken = null };
        while (true)
        {
            var page = await store.QueryIndexAsync(index, query, cancellationToken).ConfigureAwait(false);
            var ids = page.Members.Select(instanceIdOf).ToList();
            var entries = ids.Count == 0 ? [] : await store.GetManyAsync([.. ids.Select(StoreKeys.Live)], cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            for (var i = 0; i < ids.Count; i++)
            {
                yield return new ScannedMember(page.Members[i], ids[i], Registration.LiveAt(entries[i], now));
            }

            if (page.NextPageToken is null)
            {
                yield break;
            }

            query = query with { PageToken = page.NextPageToken };
        }
    }
}
