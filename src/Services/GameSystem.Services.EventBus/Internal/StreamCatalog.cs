using System.Collections.Frozen;
using NATS.Client.JetStream.Models;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>A configured stream and the JetStream names it lives under.</summary>
internal sealed record BusStream(EventBusStreamOptions Options, string JetStreamName, string SubjectRoot)
{
    public string Name => Options.Name;

    /// <summary>The NATS subject an event of <paramref name="type"/> is stored under.</summary>
    public string SubjectFor(string type) => string.Concat(SubjectRoot, ".", type);

    /// <summary>Every subject of the stream.</summary>
    public string AllSubjects => SubjectRoot + ".>";

    /// <summary>The event type of a subject of this stream.</summary>
    public string TypeOf(string subject) => subject.Length > SubjectRoot.Length + 1 ? subject[(SubjectRoot.Length + 1)..] : "";

    public StreamConfig ToConfig() => new(JetStreamName, [AllSubjects])
    {
        Description = $"GameSystem event-bus stream '{Name}' (types {string.Join(", ", Options.TypePatterns)})",
        Retention = StreamConfigRetention.Limits,
        Storage = Options.Storage == EventBusStorage.Memory ? StreamConfigStorage.Memory : StreamConfigStorage.File,
        MaxAge = Options.MaxAge ?? TimeSpan.Zero,
        MaxMsgs = Options.MaxEvents == 0 ? -1 : Options.MaxEvents,
        MaxMsgSize = Options.MaxEventBytes == 0 ? -1 : Options.MaxEventBytes + 256,
        DuplicateWindow = Options.DuplicateWindow,
        NumReplicas = Options.Replicas,
        Discard = StreamConfigDiscard.Old,
        AllowDirect = true,
    };
}

/// <summary>
/// The streams of one deployment and how events are routed to them. JetStream refuses
/// streams whose subjects overlap, so each stream owns its own subject space,
/// <c>&lt;prefix&gt;.events.&lt;stream&gt;.&lt;event type&gt;</c>, and event-bus picks the stream:
/// the first by name (ordinal) whose patterns match the type. JetStream names carry the
/// deployment's subject prefix, so deployments sharing a nats-server never meet.
/// </summary>
internal sealed class StreamCatalog
{
    private readonly FrozenDictionary<string, BusStream> _byName;

    public StreamCatalog(string prefix, IEnumerable<EventBusStreamOptions> streams)
    {
        Prefix = prefix;
        Streams = [.. streams.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => new BusStream(s, $"{prefix}-eventbus-{s.Name}", $"{prefix}.events.{s.Name}"))];
        _byName = Streams.ToFrozenDictionary(s => s.Name, StringComparer.Ordinal);
        LeaseBucket = $"{prefix}-eventbus-subscriptions";
    }

    public string Prefix { get; }

    /// <summary>The streams, ordered by name.</summary>
    public IReadOnlyList<BusStream> Streams { get; }

    /// <summary>The JetStream key-value bucket holding which instance serves each durable consumer.</summary>
    public string LeaseBucket { get; }

    /// <summary>Why the prefix cannot name JetStream streams, or null when it can.</summary>
    public string? PrefixProblem => Prefix.Length > 0 && Prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
        ? null
        : $"the subject prefix '{Prefix}' (GameSystem:Mesh:SubjectPrefix) names event-bus's JetStream streams, so it may hold only letters, digits, '-' and '_'";

    public BusStream? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The stream an event of <paramref name="type"/> goes to, or null when none captures it.</summary>
    public BusStream? Route(string type)
    {
        foreach (var stream in Streams)
        {
            foreach (var pattern in stream.Options.TypePatterns)
            {
                if (EventTypes.Matches(pattern, type))
                {
                    return stream;
                }
            }
        }

        return null;
    }

    /// <summary>The core NATS subject the instance serving a durable consumer's subscription takes its Acks on.</summary>
    public string AckSubject(BusStream stream, string consumerName) => $"{Prefix}.eventbus.ack.{stream.Name}.{EventTypes.ToDurableName(consumerName)}";

    /// <summary>The core NATS subject JetStream pushes one durable subscription's events to.</summary>
    public string DeliverSubject(BusStream stream, string consumerName, string subscriptionId) => $"{Prefix}.eventbus.deliver.{stream.Name}.{EventTypes.ToDurableName(consumerName)}.{subscriptionId}";

    /// <summary>The lease key of a durable consumer in <see cref="LeaseBucket"/>.</summary>
    public static string LeaseKey(BusStream stream, string consumerName) => $"{stream.Name}.{consumerName}";

    public string NamesForMessage() => string.Join(", ", Streams.Select(s => s.Name));
}
