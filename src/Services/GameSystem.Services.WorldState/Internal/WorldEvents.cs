using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// The contract's events as published through the outbox. Ids are derived from the change (a
/// region's generation and version are unique to it), so a redelivery carries the same id and
/// event-bus keeps one.
/// </summary>
internal static class WorldEvents
{
    public const string RegionChangedType = "world.region.changed";
    public const string EntityChangedType = "world.entity.changed";
    public const string EventAppliedType = "world.event.applied";

    public static DomainEvent RegionChanged(RegionChanged change, string generation) =>
        Event(RegionChangedType, $"world:{change.RegionId}:{generation}:{Number(change.Version)}", "regions/" + change.RegionId, change, change.ChangeTime);

    public static DomainEvent EntityChanged(EntityChanged change, string generation) =>
        Event(EntityChangedType, $"world:{change.RegionId}:{generation}:{Number(change.RegionVersion)}:{change.EntityId}", "entities/" + change.EntityId, change, change.ChangeTime);

    public static DomainEvent EventApplied(AppliedWorldEvent result) =>
        Event(EventAppliedType, "world:" + result.Event.EventId, "regions/" + result.Event.RegionId, new WorldEventApplied { Result = result }, result.ApplyTime);

    private static DomainEvent Event(string type, string id, string subject, IMessage payload, Timestamp at) => new()
    {
        EventId = id,
        Type = type,
        Subject = subject,
        OccurredAt = at,
        Payload = payload.ToByteString(),
        PayloadType = payload.Descriptor.FullName,
    };

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
