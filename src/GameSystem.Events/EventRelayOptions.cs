namespace GameSystem.Events;

/// <summary>How an <see cref="EventRelay"/> delivers an outbox. Immutable; adjust with <c>with</c>.</summary>
public sealed record EventRelayOptions
{
    /// <summary>The defaults.</summary>
    public static EventRelayOptions Default { get; } = new();

    /// <summary>
    /// How often the relay lists every partition of its outbox. A write made in this process
    /// wakes the relay at once; the sweep is the fallback that finds what other instances
    /// wrote, what a crashed relay left behind, and partitions whose lease ran out.
    /// </summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a claim on a partition lasts. While it lasts no other relay delivers that
    /// partition; a relay that dies holds it this long. At least twice <see cref="PublishTimeout"/>:
    /// a relay stops publishing from a claim well before it runs out.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages read per claim (1 to 1000).</summary>
    public int ClaimSize { get; init; } = 100;

    /// <summary>Claims one partition may take per pass before the others get their turn.</summary>
    public int MaxClaimsPerPass { get; init; } = 10;

    /// <summary>Partitions delivered at the same time (each one strictly in order).</summary>
    public int MaxConcurrentPartitions { get; init; } = 8;

    /// <summary>Deadline of one Publish to event-bus, retries by the mesh client included.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a partition's outbox must stay empty before a sweep stops listing it; a later
    /// transaction that enqueues lists it again.
    /// </summary>
    public TimeSpan RetireAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First wait after a failure (event-bus or the store unreachable, an event refused).</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between attempts while failures go on.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An undelivered event older than this makes the relay warn that the outbox is backlogged.</summary>
    public TimeSpan BacklogAgeWarning { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>More undelivered events than this make the relay warn that the outbox is backlogged.</summary>
    public long BacklogSizeWarning { get; init; } = 10_000;

    /// <summary>
    /// How long a graceful stop may spend delivering what this process wrote last; what is left
    /// stays in the store for the next relay, and the stop logs that it left something.
    /// </summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    internal void Validate()
    {
        static void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentException($"EventRelayOptions.{name} must be positive; it is {value}.", name);
            }
        }

        Positive(SweepInterval, nameof(SweepInterval));
        Positive(Lease, nameof(Lease));
        Positive(PublishTimeout, nameof(PublishTimeout));
        Positive(RetireAfter, nameof(RetireAfter));
        Positive(FirstBackoff, nameof(FirstBackoff));
        Positive(BacklogAgeWarning, nameof(BacklogAgeWarning));
        if (MaxBackoff < FirstBackoff)
        {
            throw new ArgumentException($"EventRelayOptions.MaxBackoff ({MaxBackoff}) must be at least FirstBackoff ({FirstBackoff}).", nameof(MaxBackoff));
        }

        if (Lease < PublishTimeout * 2)
        {
            throw new ArgumentException(
                $"EventRelayOptions.Lease ({Lease}) must be at least twice PublishTimeout ({PublishTimeout}), so a relay stops publishing from a claim before another relay may take it.",
                nameof(Lease));
        }

        if (ClaimSize is < 1 or > State.StateKeys.MaxPageSize)
        {
            throw new ArgumentException($"EventRelayOptions.ClaimSize is 1 to {State.StateKeys.MaxPageSize}; it is {ClaimSize}.", nameof(ClaimSize));
        }

        if (MaxClaimsPerPass < 1 || MaxConcurrentPartitions < 1 || BacklogSizeWarning < 1)
        {
            throw new ArgumentException("EventRelayOptions.MaxClaimsPerPass, MaxConcurrentPartitions and BacklogSizeWarning must be at least 1.");
        }

        if (StopTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException($"EventRelayOptions.StopTimeout must not be negative; it is {StopTimeout}.", nameof(StopTimeout));
        }
    }
}
