using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.Router.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.Router.Internal;

/// <summary>
/// <c>router.route.changed</c>, as published through the outbox: one per change of the table,
/// with the table revision after it in its id, so a redelivered or re-sent event carries the
/// same id and event-bus keeps one.
/// </summary>
internal static class ChangeEvents
{
    public const string RouteChangedType = "router.route.changed";

    public static DomainEvent RouteChanged(RouteChanged change) => new()
    {
        EventId = string.Create(CultureInfo.InvariantCulture, $"router/table/{change.TableRevision}"),
        Type = RouteChangedType,
        Subject = "routes/" + change.RouteId,
        OccurredAt = change.ChangeTime,
        Payload = change.ToByteString(),
        PayloadType = GameSystem.Router.V1.RouteChanged.Descriptor.FullName,
    };

    /// <summary>The change that created or updated <paramref name="route"/>.</summary>
    public static RouteChanged Upserted(Route route, long previousVersion, long tableRevision) => new()
    {
        ChangeType = RouteChangeType.Upserted,
        RouteId = route.RouteId,
        PreviousVersion = previousVersion,
        Route = route,
        UpdatedBy = route.UpdatedBy,
        ChangeTime = route.UpdateTime,
        TableRevision = tableRevision,
    };

    /// <summary>The change that deleted <paramref name="route"/>.</summary>
    public static RouteChanged Deleted(Route route, string updatedBy, Timestamp at, long tableRevision) => new()
    {
        ChangeType = RouteChangeType.Deleted,
        RouteId = route.RouteId,
        PreviousVersion = route.Version,
        UpdatedBy = updatedBy,
        ChangeTime = at,
        TableRevision = tableRevision,
    };
}
