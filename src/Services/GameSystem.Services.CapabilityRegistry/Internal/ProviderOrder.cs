using System.Globalization;
using GameSystem.CapabilityRegistry.V1;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>
/// The order of ListProviders, best first: SERVING (or unreported) before DEGRADED before
/// DRAINING, then by ascending load, then by instance id, then by capability version (an
/// instance may offer several versions of one capability).
/// </summary>
internal readonly record struct ProviderOrder(int Rank, double Load, string InstanceId, string Version) : IComparable<ProviderOrder>
{
    public static ProviderOrder Of(Provider provider) =>
        new(RankOf(provider.Instance.Health), provider.Instance.Load, provider.Instance.InstanceId, provider.Capability.Version);

    public static int RankOf(InstanceHealth health) => health switch
    {
        InstanceHealth.Degraded => 1,
        InstanceHealth.Draining => 2,
        _ => 0,
    };

    public int CompareTo(ProviderOrder other)
    {
        var order = Rank.CompareTo(other.Rank);
        if (order == 0)
        {
            order = Load.CompareTo(other.Load);
        }

        if (order == 0)
        {
            order = string.CompareOrdinal(InstanceId, other.InstanceId);
        }

        return order != 0 ? order : string.CompareOrdinal(Version, other.Version);
    }

    public string[] ToToken() =>
        [Rank.ToString(CultureInfo.InvariantCulture), Load.ToString("R", CultureInfo.InvariantCulture), InstanceId, Version];

    public static ProviderOrder? FromToken(string[]? parts)
    {
        if (parts is null)
        {
            return null;
        }

        if (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rank)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var load)
            && InstanceRules.IsInstanceId(parts[2]))
        {
            return new ProviderOrder(rank, load, parts[2], parts[3]);
        }

        throw Errors.InvalidArgument("page_token", "is not a token returned by ListProviders; pass next_page_token unchanged or leave it empty.");
    }
}
