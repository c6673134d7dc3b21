using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using GameSystem.State;
using GameSystem.TimeManager.V1;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// Where time-manager keeps its state, and why there.
/// </summary>
/// <remarks>
/// <para>
/// <b>One partition per world</b> (<c>{world:ID}</c>): the clock, its schedule, its timers,
/// the timer indexes, the recent fires and the request claims. Everything one call changes
/// at once is a world's: firing a timer checks the clock's version, rewrites the timer, its
/// index entries and the schedule, keeps the fire for watchers and records the
/// <c>TimerFired</c> event in the world's outbox, as one transaction; creating a timer claims
/// its request id with it. Worlds spread over the cluster's shards, and a busy world never
/// slows another. A world's timers are listed from its own indexes (by fire time, per state,
/// per owner, per subject), so no listing reads a key it does not return.
/// </para>
/// <para>
/// Timers, their indexes and the recent fires live under the clock's <em>generation</em>
/// (<c>g/GEN/</c>), a random id given to each new clock. Deleting a clock is one transaction
/// (clock and schedule gone, a sweep request recorded); the generation's timers are swept
/// after it, in batches, because a world may hold more than one transaction can carry. A
/// clock created again gets a new generation, so it never sees what the sweep has not yet
/// removed, and a sweep interrupted by a crash is simply run again (its request is in an outbox).
/// </para>
/// <para>
/// <b>Cross-world projections</b> live in partitions of their own, since an index lists only
/// its own partition: the clock directory (<c>{time-manager:clocks}</c>: every world id, and
/// those running or paused, for ListClocks, written only when a clock is created, deleted,
/// paused or resumed) and the wake index (<c>{time-manager:wakes:N}</c>, sharded by world id
/// because it changes on every fire: when each world's first scheduled timer becomes due in
/// real time, so a scheduler pass reads only the worlds that are due). They are kept in a
/// separate step, crash-safe through outboxes: the world transaction that changes what a
/// projection shows also enqueues the new value (<see cref="DirectoryOutbox"/>,
/// <see cref="WakeOutbox"/>) in the world's partition, so the update exists exactly when the
/// change does. A drainer (right after the call, and every scheduler pass on any instance)
/// applies the latest update of each world and completes it; the outbox sequence it stores
/// with the projection makes applying idempotent and never lets an older update overwrite a
/// newer one. A crash between the change and the drain delays the projection until the next
/// pass; it never loses it.
/// </para>
/// </remarks>
internal static partial class StoreKeys
{
    /// <summary>Updates of the clock directory, per world partition.</summary>
    public const string DirectoryOutbox = "time-manager-clocks";

    /// <summary>Updates of the wake index, per world partition.</summary>
    public const string WakeOutbox = "time-manager-wakes";

    /// <summary>Sweep requests of deleted clock generations, per world partition.</summary>
    public const string SweepOutbox = "time-manager-sweeps";

    /// <summary>Partitions of the wake index.</summary>
    public const int WakeShards = 8;

    /// <summary>Fires kept per world for WatchClock streams (a stream further behind skips the older ones).</summary>
    public const int FiresKept = 256;

    /// <summary>How long a request id is remembered, so a retry within it gets the first answer.</summary>
    public static readonly TimeSpan RequestRetention = TimeSpan.FromHours(24);

    private const string WorldPartitionPrefix = "world:";
    private const string DirectoryRoot = "time-manager/{time-manager:clocks}/";

    /// <summary>Every world with a clock, by world id.</summary>
    public const string DirectoryAll = DirectoryRoot + "index/all";

    public static string WorldPartition(string worldId) => WorldPartitionPrefix + worldId;

    /// <summary>The world a world partition belongs to; null for any other partition.</summary>
    public static string? WorldOfPartition(string partition) =>
        partition.StartsWith(WorldPartitionPrefix, StringComparison.Ordinal) ? partition[WorldPartitionPrefix.Length..] : null;

    public static string Clock(string worldId) => World(worldId) + "clock";

    /// <summary>The schedule lives beside the clock (not under the generation): it is created and deleted with it, and read with it in one call.</summary>
    public static string Schedule(string worldId) => World(worldId) + "schedule";

    public static string CreateClockRequest(string worldId, string requestId) => World(worldId) + "requests/create-clock/" + RequestPart(requestId);

    public static string CreateTimerRequest(string worldId, string requestId) => World(worldId) + "requests/create-timer/" + RequestPart(requestId);

    public static string SetClockTimeRequest(string worldId, string requestId) => World(worldId) + "requests/set-clock-time/" + RequestPart(requestId);

    public static string Timer(string worldId, string generation, string timerId) => Generation(worldId, generation) + "timers/" + timerId;

    public static string Fired(string worldId, string generation, long sequence) =>
        Generation(worldId, generation) + "fired/" + sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every timer of a generation: <see cref="TimerMember"/>.</summary>
    public static string TimersIndex(string worldId, string generation) => Generation(worldId, generation) + "index/all";

    /// <summary>The timers in one state: <see cref="TimerMember"/>. The scheduled ones are what the scheduler reads.</summary>
    public static string TimersInState(string worldId, string generation, TimerState state) => Generation(worldId, generation) + state switch
    {
        TimerState.Scheduled => "index/scheduled",
        TimerState.Fired => "index/fired",
        TimerState.Cancelled => "index/cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "A timer is scheduled, fired or cancelled."),
    };

    /// <summary>The timers with an owner: <see cref="LabelPrefix"/> of the owner, then <see cref="TimerMember"/>.</summary>
    public static string TimersByOwner(string worldId, string generation) => Generation(worldId, generation) + "index/by-owner";

    /// <summary>The timers with a subject: <see cref="LabelPrefix"/> of the subject, then <see cref="TimerMember"/>.</summary>
    public static string TimersBySubject(string worldId, string generation) => Generation(worldId, generation) + "index/by-subject";

    /// <summary>A timer in a timer index: sorts by fire time, then timer id, as ListTimers orders.</summary>
    public static string TimerMember(long fireAtGameSeconds, string timerId) => StateIndex.SortableNumber(fireAtGameSeconds) + "/" + timerId;

    /// <summary>The fire time and timer id of a <see cref="TimerMember"/> found at <paramref name="offset"/> of an index member.</summary>
    public static (long FireAt, string TimerId) ParseTimerMember(string member, int offset = 0)
    {
        const int Width = 20;
        if (member.Length < offset + Width + 2 || member[offset + Width] != '/')
        {
            throw new FormatException($"'{member}' is not a timer index member.");
        }

        return (StateIndex.ParseSortableNumber(member.AsSpan(offset, Width)), member[(offset + Width + 1)..]);
    }

    /// <summary>
    /// The start of an owner's or subject's members: a fixed-width digest (128 bits of SHA-256,
    /// base64url), so any text up to 256 characters fits a member and no label's members are a
    /// prefix of another's. Listings still compare the label itself on each timer they return.
    /// </summary>
    public static string LabelPrefix(string label) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(label)).AsSpan(0, 16)) + "/";

    /// <summary>Length of <see cref="LabelPrefix"/>.</summary>
    public const int LabelPrefixLength = 23;

    /// <summary>The worlds whose clock is in <paramref name="state"/>, by world id.</summary>
    public static string DirectoryByState(ClockState state) => DirectoryRoot + state switch
    {
        ClockState.Running => "index/running",
        ClockState.Paused => "index/paused",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "A clock is running or paused."),
    };

    /// <summary>What the directory lists for one world (<see cref="DirectoryEntry"/>).</summary>
    public static string DirectoryEntry(string worldId) => DirectoryRoot + "worlds/" + worldId;

    /// <summary>The wake shard of a world: FNV-1a of its id, so every instance agrees.</summary>
    public static int WakeShard(string worldId)
    {
        var hash = 2166136261u;
        foreach (var c in worldId)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return (int)(hash % WakeShards);
    }

    /// <summary>The worlds of a shard by when they are next due: <see cref="WakeMember"/>.</summary>
    public static string WakeIndex(int shard) => WakeRoot(shard) + "index/due";

    /// <summary>What the wake index lists for one world (<see cref="WakeEntry"/>).</summary>
    public static string WakeEntry(string worldId) => WakeRoot(WakeShard(worldId)) + "worlds/" + worldId;

    public static string WakeMember(DateTimeOffset wakeTime, string worldId) => StateIndex.SortableTime(wakeTime) + "/" + worldId;

    /// <summary>The world of a <see cref="WakeMember"/>.</summary>
    public static string WorldOfWakeMember(string member) => member[(member.IndexOf('/', StringComparison.Ordinal) + 1)..];

    /// <summary>A new clock generation: random, so two clocks of one world never share one.</summary>
    public static string NewGeneration() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static string World(string worldId) => "time-manager/{" + WorldPartitionPrefix + worldId + "}/";

    private static string Generation(string worldId, string generation) => World(worldId) + "g/" + generation + "/";

    private static string WakeRoot(int shard) => "time-manager/{time-manager:wakes:" + shard.ToString(CultureInfo.InvariantCulture) + "}/";

    /// <summary>
    /// A request id as a key segment: itself when it is plain (a UUID, say), otherwise a digest,
    /// since a client may send any text and a key allows no braces or whitespace. The two forms
    /// cannot meet: a plain id never starts with '~'.
    /// </summary>
    private static string RequestPart(string requestId) =>
        PlainRequestId().IsMatch(requestId)
            ? requestId
            : "~" + Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex PlainRequestId();
}
