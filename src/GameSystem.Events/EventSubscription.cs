using GameSystem.State;

namespace GameSystem.Events;

/// <summary>
/// Handles one event of a subscription. Return normally once the event's effects are stored:
/// the consumer then acknowledges it. Throw to have it retried (with backoff) and, after
/// <see cref="EventSubscription.MaxAttempts"/> attempts, parked as a dead letter. Delivery is
/// at least once, so a handler must tolerate an event it has already processed (give writes
/// the event id as their request id, or check a version).
/// </summary>
/// <param name="received">The event and how often it was delivered and attempted.</param>
/// <param name="cancellationToken">Cancelled when the consumer stops; the event is then redelivered later.</param>
public delegate ValueTask SubscriptionHandler(ReceivedEvent received, CancellationToken cancellationToken);

/// <summary>
/// One subscription of a service: the event types it reacts to and the handler they go to,
/// through a durable event-bus consumer that remembers, across restarts, what was handled.
/// Immutable; adjust the retry policy with <c>with</c>.
/// </summary>
public sealed record EventSubscription
{
    /// <summary>Declares a subscription.</summary>
    /// <param name="name">
    /// The subscription's name within the service: 1 to 64 lower-case letters, digits and
    /// '-' (e.g. <c>world-sync</c>). The durable consumer is <c>&lt;service&gt;.&lt;name&gt;</c>;
    /// renaming it starts a new consumer with nothing handled.
    /// </param>
    /// <param name="eventTypes">Type patterns to receive, dotted, with <c>*</c> for one token and <c>&gt;</c> for the rest (<c>quest.&gt;</c>).</param>
    /// <param name="handler">Handles each event, in stream order.</param>
    /// <exception cref="ArgumentException">A name or pattern is malformed, or no pattern is given.</exception>
    public EventSubscription(string name, IReadOnlyList<string> eventTypes, SubscriptionHandler handler)
    {
        StateKeys.ValidateOutbox(name, nameof(name));
        ArgumentNullException.ThrowIfNull(eventTypes);
        ArgumentNullException.ThrowIfNull(handler);
        if (eventTypes.Count == 0)
        {
            throw new ArgumentException($"Subscription '{name}' needs at least one event type pattern (e.g. 'quest.completed' or 'quest.>').", nameof(eventTypes));
        }

        foreach (var pattern in eventTypes)
        {
            if (string.IsNullOrEmpty(pattern) || pattern.Any(char.IsWhiteSpace) || pattern.Split('.').Any(token => token.Length == 0))
            {
                throw new ArgumentException($"Subscription '{name}' has the event type pattern '{pattern}': give dotted tokens without spaces, e.g. 'quest.completed', 'npc.*.spawned' or 'world.>'.", nameof(eventTypes));
            }
        }

        Name = name;
        EventTypes = [.. eventTypes];
        Handler = handler;
    }

    /// <summary>The subscription's name within the service.</summary>
    public string Name { get; }

    /// <summary>The event type patterns received.</summary>
    public IReadOnlyList<string> EventTypes { get; }

    /// <summary>The handler.</summary>
    public SubscriptionHandler Handler { get; }

    /// <summary>The event-bus stream the types are stored in; <c>events</c> (which captures every type not captured by another stream) by default.</summary>
    public string Stream { get; init; } = "events";

    /// <summary>Only events whose <c>subject</c> equals this (e.g. <c>players/p-123</c>); empty for any.</summary>
    public string Subject { get; init; } = string.Empty;

    /// <summary>Attempts at one event before it is parked as a dead letter (at least 1).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Wait after a first failed attempt; it doubles (with jitter) after each further one.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between two attempts at one event.</summary>
    public TimeSpan MaxRetryBackoff { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (MaxAttempts < 1)
        {
            throw new ArgumentException($"Subscription '{Name}': MaxAttempts must be at least 1; it is {MaxAttempts}.", nameof(MaxAttempts));
        }

        if (RetryBackoff <= TimeSpan.Zero || MaxRetryBackoff < RetryBackoff)
        {
            throw new ArgumentException($"Subscription '{Name}': RetryBackoff ({RetryBackoff}) must be positive and at most MaxRetryBackoff ({MaxRetryBackoff}).", nameof(RetryBackoff));
        }

        if (string.IsNullOrEmpty(Stream))
        {
            throw new ArgumentException($"Subscription '{Name}': Stream must name an event-bus stream (e.g. 'events').", nameof(Stream));
        }

        ArgumentNullException.ThrowIfNull(Subject, nameof(Subject));
    }
}
