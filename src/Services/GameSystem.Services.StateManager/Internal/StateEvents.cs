using GameSystem.Common.V1;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>
/// The contract's events as published through the outbox, each with subject
/// <c>players/{player_id}</c>. The outbox gives each a UUIDv7 id when it is recorded, so a
/// redelivery carries the same id and event-bus keeps one.
/// </summary>
internal static class StateEvents
{
    public const string PlayerSavedType = "state.player.saved";
    public const string PlayerRolledBackType = "state.player.rolled_back";
    public const string InventoryChangedType = "state.inventory.changed";
    public const string SessionStartedType = "state.session.started";
    public const string SessionEndedType = "state.session.ended";

    public static DomainEvent Saved(PlayerStateSaved saved) => Event(PlayerSavedType, saved.PlayerId, saved, saved.SaveTime);

    public static DomainEvent RolledBack(PlayerStateRolledBack rolledBack) => Event(PlayerRolledBackType, rolledBack.PlayerId, rolledBack, rolledBack.RollbackTime);

    public static DomainEvent InventoryChanged(InventoryChanged changed, Timestamp at) => Event(InventoryChangedType, changed.PlayerId, changed, at);

    public static DomainEvent SessionStarted(string playerId, Session session) => Event(SessionStartedType, playerId, new SessionChanged { Session = session }, session.StartTime);

    public static DomainEvent SessionEnded(string playerId, Session session) => Event(SessionEndedType, playerId, new SessionChanged { Session = session }, session.EndTime);

    private static DomainEvent Event(string type, string playerId, IMessage payload, Timestamp at) => new()
    {
        Type = type,
        Subject = "players/" + playerId,
        OccurredAt = at,
        Payload = payload.ToByteString(),
        PayloadType = payload.Descriptor.FullName,
    };
}
