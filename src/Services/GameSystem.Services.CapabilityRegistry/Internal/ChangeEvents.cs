using System.Globalization;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.Common.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>
/// The contract's <c>capability.instance.changed</c> event, as published through the outbox.
/// Its id is the lease (random per Register) and the version of the instance's last-known
/// record the change was made at, which every change moves: a redelivered or re-sent event
/// carries the same id and event-bus keeps one, and no two changes share an id.
/// </summary>
internal static class ChangeEvents
{
    public const string InstanceChangedType = "capability.instance.changed";

    public static DomainEvent InstanceChanged(ProviderChangeType change, Instance instance, long atVersion, Timestamp at, IEnumerable<Capability>? removedCapabilities = null)
    {
        var payload = new GameSystem.CapabilityRegistry.V1.InstanceChanged { ChangeType = change, Instance = instance, ChangeTime = at };
        if (removedCapabilities is not null)
        {
            payload.RemovedCapabilities.AddRange(removedCapabilities);
        }

        return new DomainEvent
        {
            EventId = string.Create(CultureInfo.InvariantCulture, $"capability-registry/{instance.InstanceId}/{instance.LeaseId}/{atVersion}"),
            Type = InstanceChangedType,
            Subject = "instances/" + instance.InstanceId,
            OccurredAt = at,
            Payload = payload.ToByteString(),
            PayloadType = GameSystem.CapabilityRegistry.V1.InstanceChanged.Descriptor.FullName,
        };
    }
}
