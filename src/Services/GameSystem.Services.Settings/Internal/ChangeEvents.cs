using GameSystem.Common.V1;
using GameSystem.Settings.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// <c>settings.setting.changed</c>, the contract's event, as published through the outbox.
/// The outbox gives each a UUIDv7 id when it is recorded, so a redelivery carries the same id
/// and event-bus keeps one. Subjects as the contract names them.
/// </summary>
internal static class ChangeEvents
{
    public const string SettingChangedType = "settings.setting.changed";

    /// <summary>A global default changed, or its definition was created, updated or deleted.</summary>
    public static DomainEvent DefaultChanged(string key, SettingChangeType change, TypedValue? oldValue, TypedValue? newValue, Timestamp at) =>
        Event("settings/" + key, new SettingChanged { Key = key, ChangeType = change, OldValue = oldValue, NewValue = newValue, ChangeTime = at });

    /// <summary>A player's override of <paramref name="key"/> was set (new value) or removed (none).</summary>
    public static DomainEvent OverrideChanged(string playerId, string key, TypedValue? oldValue, TypedValue? newValue, Timestamp at) =>
        Event("players/" + playerId, new SettingChanged { Key = key, PlayerId = playerId, ChangeType = SettingChangeType.Updated, OldValue = oldValue, NewValue = newValue, ChangeTime = at });

    private static DomainEvent Event(string subject, SettingChanged payload) => new()
    {
        Type = SettingChangedType,
        Subject = subject,
        OccurredAt = payload.ChangeTime,
        Payload = payload.ToByteString(),
        PayloadType = SettingChanged.Descriptor.FullName,
    };
}
