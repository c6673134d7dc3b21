using System.ComponentModel.DataAnnotations;
using GameSystem.Services.EventBus.Internal;

namespace GameSystem.Services.EventBus;

/// <summary>
/// event-bus settings, bound by the host from <c>GameSystem:EventBus</c>. Immutable; adjust
/// with <c>with</c>. Validation (<see cref="Validate"/>) names each bad setting by its key.
/// </summary>
public sealed record EventBusOptions : IValidatableObject
{
    /// <summary>The defaults: the streams of <see cref="DefaultStreams"/>.</summary>
    public static EventBusOptions Default { get; } = new();

    /// <summary>
    /// The streams, created or updated at start-up. Empty selects <see cref="DefaultStreams"/>:
    /// <c>dead-letters</c> (<c>deadletter.&gt;</c>) and <c>events</c> (<c>&gt;</c>).
    /// </summary>
    public IReadOnlyList<EventBusStreamOptions> Streams { get; init; } = [];

    /// <summary>
    /// How long a live durable subscription holds its consumer without renewing the hold; after
    /// an instance dies, another Subscribe with that consumer name succeeds once this has passed.
    /// </summary>
    public TimeSpan SubscriptionLease { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long JetStream waits for the ack of an event delivered to a durable subscription
    /// whose event-bus instance died before redelivering it. A live subscription never loses
    /// an event to this: it keeps what it delivered until acked.
    /// </summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The streams used when none is configured.</summary>
    public static IReadOnlyList<EventBusStreamOptions> DefaultStreams { get; } =
    [
        new() { Name = "dead-letters", TypePatterns = ["deadletter.>"] },
        new() { Name = "events", TypePatterns = [">"] },
    ];

    /// <summary>The configured streams, or the defaults when none is.</summary>
    public IReadOnlyList<EventBusStreamOptions> EffectiveStreams => Streams.Count == 0 ? DefaultStreams : Streams;

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Streams.Count; i++)
        {
            var stream = Streams[i];
            var key = $"Streams:{i}";
            if (!EventTypes.IsValidStreamName(stream.Name))
            {
                yield return Problem($"{key}:Name", $"'{stream.Name}' must be 1-{EventTypes.MaxStreamNameLength} letters, digits, '-' or '_', e.g. events.");
            }
            else if (!names.Add(stream.Name))
            {
                yield return Problem($"{key}:Name", $"'{stream.Name}' names two streams; stream names must be unique.");
            }

            if (stream.TypePatterns.Count == 0)
            {
                yield return Problem($"{key}:TypePatterns", "is empty: give at least one event type pattern, e.g. quest.> (or > for every type).");
            }

            for (var p = 0; p < stream.TypePatterns.Count; p++)
            {
                if (EventTypes.CheckPattern(stream.TypePatterns[p]) is { } problem)
                {
                    yield return Problem($"{key}:TypePatterns:{p}", $"'{stream.TypePatterns[p]}' {problem}");
                }
            }

            if (stream.MaxAge is { } maxAge && maxAge <= TimeSpan.Zero)
            {
                yield return Problem($"{key}:MaxAge", $"'{maxAge}' must be a positive duration such as 7.00:00:00, or left unset to keep events until another limit applies.");
            }

            if (stream.MaxEvents < 0)
            {
                yield return Problem($"{key}:MaxEvents", $"'{stream.MaxEvents}' must be 0 (no limit) or more.");
            }

            if (stream.MaxEventBytes < 0)
            {
                yield return Problem($"{key}:MaxEventBytes", $"'{stream.MaxEventBytes}' must be 0 (what nats-server takes) or more.");
            }

            if (stream.DuplicateWindow <= TimeSpan.Zero)
            {
                yield return Problem($"{key}:DuplicateWindow", $"'{stream.DuplicateWindow}' must be a positive duration such as 00:02:00.");
            }
            else if (stream.MaxAge is { } age && age > TimeSpan.Zero && stream.DuplicateWindow > age)
            {
                yield return Problem($"{key}:DuplicateWindow", $"'{stream.DuplicateWindow}' is longer than MaxAge '{age}'; JetStream cannot remember an event id longer than it keeps the event.");
            }

            if (stream.Replicas is < 1 or > 5)
            {
                yield return Problem($"{key}:Replicas", $"'{stream.Replicas}' must be 1-5 (JetStream's limit; a single nats-server needs 1).");
            }

            if (!Enum.IsDefined(stream.Storage))
            {
                yield return Problem($"{key}:Storage", $"'{stream.Storage}' must be File or Memory.");
            }
        }

        if (SubscriptionLease < TimeSpan.FromSeconds(1))
        {
            yield return Problem("SubscriptionLease", $"'{SubscriptionLease}' must be at least 00:00:01.");
        }

        if (AckWait < TimeSpan.FromSeconds(1))
        {
            yield return Problem("AckWait", $"'{AckWait}' must be at least 00:00:01.");
        }
    }

    private static ValidationResult Problem(string key, string message) => new(message, [key]);
}

/// <summary>One stream of the bus: which event types it captures and how long it keeps them.</summary>
public sealed record EventBusStreamOptions
{
    /// <summary>Name of the stream: letters, digits, <c>-</c> and <c>_</c>, e.g. <c>events</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>Event type patterns, dotted with <c>*</c> for one token and <c>&gt;</c> for the rest.</summary>
    public IReadOnlyList<string> TypePatterns { get; init; } = [];

    /// <summary>Events older than this are removed; null keeps them until another limit applies.</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>Most events kept, the oldest removed first; 0 means no limit.</summary>
    public long MaxEvents { get; init; }

    /// <summary>
    /// Largest event kept, in encoded bytes; 0 means what nats-server takes (its max_payload).
    /// A larger Publish fails INVALID_ARGUMENT saying this limit.
    /// </summary>
    public int MaxEventBytes { get; init; }

    /// <summary>How long an event id is remembered to deduplicate publishes.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>JetStream replicas of the stream (1 on a single server, 3 in a cluster).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Where JetStream keeps the events.</summary>
    public EventBusStorage Storage { get; init; } = EventBusStorage.File;
}

/// <summary>JetStream storage of a stream.</summary>
public enum EventBusStorage
{
    /// <summary>On disk: survives a nats-server restart.</summary>
    File,

    /// <summary>In memory: lost when nats-server stops.</summary>
    Memory,
}
