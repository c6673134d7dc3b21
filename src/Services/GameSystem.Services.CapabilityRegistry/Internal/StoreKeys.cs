using GameSystem.CapabilityRegistry.V1;
using GameSystem.State;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>
/// Where capability-registry keeps its state, and why there.
/// </summary>
/// <remarks>
/// <para>
/// <b>One partition</b>, <c>{registry}</c>, holds every registration and every index, so a
/// Register, Heartbeat, Deregister or expiry is one all-or-nothing transaction over the
/// registration, its index members and its <c>InstanceChanged</c> event (the outbox of the
/// same partition). Indexes list only their own partition, and every listing here crosses
/// instances (by id, by service, by capability), so they cannot be split without giving up
/// that atomicity. A registry holds hundreds of instances heart-beating every few seconds:
/// tens of small writes a second, well within one shard.
/// </para>
/// <para>
/// A registration is stored twice. <see cref="Live"/> carries the lease's TTL: the store
/// itself forgets it when the lease lapses, so no reader can ever see an expired registration.
/// <see cref="Last"/> has no TTL: it is what the expiry removes from the indexes and reports
/// as EXPIRED, and its version (which only moves, and outlives a delete by the store's
/// tombstone retention) is required by every change of the instance, so a write prepared
/// against one registration can never land on a later one of the same id.
/// </para>
/// <para>
/// Index members outlive the live entry until the expiry is processed (by the sweeper of any
/// instance at the lease's end, or by the first reader that finds the entry gone). Readers
/// therefore read each member's live entry and drop members without one.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    public const string Partition = "registry";

    private const string Root = "capability-registry/{" + Partition + "}/";

    /// <summary>Every registered instance id.</summary>
    public const string ByIdIndex = Root + "index/ids";

    /// <summary>Members <c>&lt;service_name&gt;/&lt;instance_id&gt;</c>.</summary>
    public const string ByServiceIndex = Root + "index/services";

    /// <summary>Members <c>&lt;capability&gt;!&lt;instance_id&gt;</c> (<c>!</c> sorts before every character of a name, so the index lists capabilities in name order).</summary>
    public const string ByCapabilityIndex = Root + "index/capabilities";

    /// <summary>Members <c>&lt;expire time, Unix ms, sortable&gt;/&lt;instance_id&gt;</c>: what the sweeper reads.</summary>
    public const string ExpiryIndex = Root + "index/expiry";

    /// <summary>Separates a capability from an instance id in <see cref="ByCapabilityIndex"/>.</summary>
    public const char CapabilitySeparator = '!';

    /// <summary>How long the last known state of an instance is kept at most, if no expiry ever processed it.</summary>
    public static readonly TimeSpan LastKnownRetention = TimeSpan.FromDays(7);

    public static string Live(string instanceId) => Root + "live/" + instanceId;

    public static string Last(string instanceId) => Root + "last/" + instanceId;

    public static string ServiceMember(string serviceName, string instanceId) => serviceName + "/" + instanceId;

    public static string ServicePrefix(string serviceName) => serviceName + "/";

    public static string CapabilityMember(string capability, string instanceId) => capability + CapabilitySeparator + instanceId;

    public static string CapabilityPrefix(string capability) => capability + CapabilitySeparator;

    public static (string Capability, string InstanceId) ParseCapabilityMember(string member)
    {
        var at = member.IndexOf(CapabilitySeparator, StringComparison.Ordinal);
        return at <= 0 ? throw new FormatException($"'{member}' is not a capability index member.") : (member[..at], member[(at + 1)..]);
    }

    public static string ExpiryMember(DateTimeOffset expireTime, string instanceId) =>
        StateIndex.SortableNumber(expireTime.ToUnixTimeMilliseconds()) + "/" + instanceId;

    public static string ExpiryMember(Instance instance) => ExpiryMember(instance.ExpireTime.ToDateTimeOffset(), instance.InstanceId);

    /// <summary>The first member due after <paramref name="time"/>: an upper bound (exclusive) of the members due at it.</summary>
    public static string ExpiryBound(DateTimeOffset time) => StateIndex.SortableNumber(time.ToUnixTimeMilliseconds() + 1);

    public static (DateTimeOffset ExpireTime, string InstanceId) ParseExpiryMember(string member)
    {
        const int Width = 20;
        if (member.Length < Width + 2 || member[Width] != '/')
        {
            throw new FormatException($"'{member}' is not an expiry index member.");
        }

        return (DateTimeOffset.FromUnixTimeMilliseconds(StateIndex.ParseSortableNumber(member.AsSpan(0, Width))), member[(Width + 1)..]);
    }

    /// <summary>Every index member of <paramref name="instance"/>, as (index, member).</summary>
    public static IEnumerable<(string Index, string Member)> MembersOf(Instance instance)
    {
        yield return (ByIdIndex, instance.InstanceId);
        yield return (ByServiceIndex, ServiceMember(instance.ServiceName, instance.InstanceId));
        yield return (ExpiryIndex, ExpiryMember(instance));
        foreach (var name in instance.Capabilities.Select(c => c.Name).Distinct(StringComparer.Ordinal))
        {
            yield return (ByCapabilityIndex, CapabilityMember(name, instance.InstanceId));
        }
    }
}
