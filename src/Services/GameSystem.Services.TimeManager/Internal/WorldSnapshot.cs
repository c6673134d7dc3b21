using GameSystem.State;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// A world's clock and schedule as read together, with their versions: a transaction that
/// requires both versions acts on exactly this state.
/// </summary>
internal sealed record WorldSnapshot(string WorldId, ClockRecord Clock, long ClockVersion, ScheduleRecord Schedule, long ScheduleVersion)
{
    public string Generation => Clock.Generation;

    public string ClockKey => StoreKeys.Clock(WorldId);

    public string ScheduleKey => StoreKeys.Schedule(WorldId);

    /// <summary>Reads a world; null when it has no clock.</summary>
    public static async ValueTask<WorldSnapshot?> ReadAsync(IStateStore store, string worldId, CancellationToken cancellationToken)
    {
        var entries = await store.GetManyAsync([StoreKeys.Clock(worldId), StoreKeys.Schedule(worldId)], cancellationToken).ConfigureAwait(false);
        return From(worldId, entries[0], entries[1]);
    }

    /// <summary>
    /// The world from its two entries. A schedule is created and deleted with its clock; one
    /// missing beside a clock reads as empty (version 0), and the next timer change creates it.
    /// </summary>
    public static WorldSnapshot? From(string worldId, StateEntry? clock, StateEntry? schedule) =>
        clock is null
            ? null
            : new WorldSnapshot(
                worldId,
                ClockRecord.Parser.ParseFrom(clock.Value.Span),
                clock.Version,
                schedule is null ? new ScheduleRecord() : ScheduleRecord.Parser.ParseFrom(schedule.Value.Span),
                schedule?.Version ?? 0);
}
