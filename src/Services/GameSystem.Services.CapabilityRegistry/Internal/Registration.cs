using GameSystem.CapabilityRegistry.V1;
using GameSystem.State;
using Google.Protobuf;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>One instance as the store holds it: its live entry (null once the lease lapsed) and its last known state (null once an expiry or deregistration processed it).</summary>
internal sealed class Registration
{
    private Registration(string instanceId, StateEntry? live, StateEntry? last, DateTimeOffset now)
    {
        InstanceId = instanceId;
        LiveVersion = live?.Version ?? 0;
        LastVersion = last?.Version ?? 0;
        Live = LiveAt(live, now);
        Last = last is null ? null : RegistrationRecord.Parser.ParseFrom(last.Value.Span).Instance;
    }

    public string InstanceId { get; }

    /// <summary>The registration readers see; null when absent or expired.</summary>
    public Instance? Live { get; }

    public long LiveVersion { get; }

    /// <summary>The last known state, kept until the expiry or deregistration is processed.</summary>
    public Instance? Last { get; }

    public long LastVersion { get; }

    /// <summary>Registered once, lapsed, and not yet processed as expired.</summary>
    public bool IsLapsed => Live is null && Last is not null;

    public static async ValueTask<Registration> ReadAsync(IStateStore store, string instanceId, TimeProvider time, CancellationToken cancellationToken)
    {
        var entries = await store.GetManyAsync([StoreKeys.Live(instanceId), StoreKeys.Last(instanceId)], cancellationToken).ConfigureAwait(false);
        return new Registration(instanceId, entries[0], entries[1], time.GetUtcNow());
    }

    /// <summary>
    /// The instance of a live entry, or null when there is none or its <c>expire_time</c> has
    /// passed: the store's TTL starts when the write executes, a little after the expire time
    /// the writer computed and reported, and the reported time is the one callers hold us to.
    /// </summary>
    public static Instance? LiveAt(StateEntry? live, DateTimeOffset now) =>
        live is not null && RegistrationRecord.Parser.ParseFrom(live.Value.Span).Instance is { } instance && instance.ExpireTime.ToDateTimeOffset() > now
            ? instance
            : null;

    /// <summary>
    /// Writes <paramref name="instance"/> as live for its TTL and as the last known state, both
    /// at the versions this read saw: a write prepared against one registration never lands on
    /// a later one (the last-known version only moves), nor revives a lapsed lease (the live
    /// entry must still be there, or still be absent).
    /// </summary>
    public void Write(StateTransaction transaction, Instance instance)
    {
        var bytes = new RegistrationRecord { Instance = instance }.ToByteArray();
        transaction
            .Set(StoreKeys.Live(InstanceId), bytes, LiveVersion, instance.Ttl.ToTimeSpan())
            .Set(StoreKeys.Last(InstanceId), bytes, LastVersion, StoreKeys.LastKnownRetention);
    }

    /// <summary>Removes both entries, at the versions this read saw.</summary>
    public void Delete(StateTransaction transaction) =>
        transaction.Delete(StoreKeys.Live(InstanceId), LiveVersion).Delete(StoreKeys.Last(InstanceId), LastVersion);

    /// <summary>Moves the index members from those of <paramref name="before"/> to those of <paramref name="after"/> (either may be null), touching only what differs.</summary>
    public static void ReplaceMembers(StateTransaction transaction, Instance? before, Instance? after)
    {
        var old = before is null ? [] : StoreKeys.MembersOf(before).ToHashSet();
        var next = after is null ? [] : StoreKeys.MembersOf(after).ToHashSet();
        foreach (var (index, member) in old.Where(m => !next.Contains(m)))
        {
            transaction.IndexRemove(index, member);
        }

        foreach (var (index, member) in next.Where(m => !old.Contains(m)))
        {
            transaction.IndexAdd(index, member);
        }
    }
}
