namespace GameSystem.Events;

/// <summary>How an <see cref="EventConsumer"/> talks to event-bus. Immutable; adjust with <c>with</c>.</summary>
public sealed record EventConsumerOptions
{
    /// <summary>The defaults.</summary>
    public static EventConsumerOptions Default { get; } = new();

    /// <summary>First wait before subscribing again after the stream ended or failed.</summary>
    public TimeSpan FirstReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between two attempts to subscribe (or to park an event) while event-bus fails.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of an Ack and of the Publish that parks an event.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Events event-bus may deliver ahead of the last Ack (1 to 10000); 0 for event-bus's default.</summary>
    public int MaxUnacked { get; init; }

    /// <summary>Heartbeat interval asked of event-bus on an idle stream; null for event-bus's default.</summary>
    public TimeSpan? Heartbeat { get; init; }

    internal void Validate()
    {
        if (FirstReconnectBackoff <= TimeSpan.Zero || MaxReconnectBackoff < FirstReconnectBackoff)
        {
            throw new ArgumentException($"EventConsumerOptions.FirstReconnectBackoff ({FirstReconnectBackoff}) must be positive and at most MaxReconnectBackoff ({MaxReconnectBackoff}).", nameof(FirstReconnectBackoff));
        }

        if (CallTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EventConsumerOptions.CallTimeout must be positive; it is {CallTimeout}.", nameof(CallTimeout));
        }

        if (MaxUnacked is < 0 or > 10_000)
        {
            throw new ArgumentException($"EventConsumerOptions.MaxUnacked is 0 (event-bus's default) to 10000; it is {MaxUnacked}.", nameof(MaxUnacked));
        }

        if (Heartbeat <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EventConsumerOptions.Heartbeat must be positive when set; it is {Heartbeat}.", nameof(Heartbeat));
        }
    }
}
