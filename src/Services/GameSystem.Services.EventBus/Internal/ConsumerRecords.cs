using GameSystem.EventBus.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using NATS.Client.JetStream.Models;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// What event-bus remembers of a durable consumer beyond JetStream's own state: the filters
/// of its last subscription and when it was first created (it is re-created when its filters
/// change). Kept in the JetStream consumer's description as a base64 <see cref="Consumer"/>
/// (fields type_filters, subject_filter, create_time), so it needs no store of its own and
/// stays forward compatible; nats-server 2.9 has no consumer metadata.
/// </summary>
internal static class ConsumerRecords
{
    private const string Marker = "gs-event-bus:";

    public static string Write(IEnumerable<string> typeFilters, string subjectFilter, Timestamp createTime)
    {
        var record = new Consumer { SubjectFilter = subjectFilter, CreateTime = createTime };
        record.TypeFilters.AddRange(typeFilters);
        return Marker + Convert.ToBase64String(record.ToByteArray());
    }

    /// <summary>The record of a consumer event-bus created, or null for one it did not.</summary>
    public static Consumer? Read(ConsumerInfo info)
    {
        var description = info.Config.Description;
        if (description is null || !description.StartsWith(Marker, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return Consumer.Parser.ParseFrom(Convert.FromBase64String(description[Marker.Length..]));
        }
        catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
