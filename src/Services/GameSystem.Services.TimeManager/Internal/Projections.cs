using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// What time-manager keeps across worlds, projected from the world partitions (see
/// <see cref="StoreKeys"/>): the clock directory ListClocks reads, the wake index the scheduler
/// reads, and the sweeps of deleted clock generations. A world transaction records the update
/// in its own outbox (the <c>Enqueue…</c> methods); the drains apply it.
/// </summary>
internal sealed partial class Projections
{
    /// <summary>A deleted world's projection entry is kept this long, far beyond any claim's lease, so a late drainer cannot bring an older update back.</summary>
    private static readonly TimeSpan TombstoneLifetime = TimeSpan.FromDays(1);

    private const int MaxAttempts = 32;
    private const int TimersPerSweep = 200;
    private const int DueWorldsPerShard = 200;
    private const int MaxSweepBatches = 100_000;

    private readonly IStateStore _store;
    private readonly ILogger _logger;

    public Projections(IStateStore store, IStateOutboxStore outboxes, ILogger logger)
    {
        _store = store;
        _logger = logger;
        var owner = "time-manager-" + Guid.NewGuid().ToString("N");
        Directory = new OutboxDrain(outboxes, StoreKeys.DirectoryOutbox, owner, ApplyDirectoryAsync, logger);
        Wakes = new OutboxDrain(outboxes, StoreKeys.WakeOutbox, owner, ApplyWakeAsync, logger);
        Sweeps = new OutboxDrain(outboxes, StoreKeys.SweepOutbox, owner, ApplySweepsAsync, logger);
    }

    public OutboxDrain Directory { get; }

    public OutboxDrain Wakes { get; }

    public OutboxDrain Sweeps { get; }

    /// <summary>Records, in a world transaction, that the world's clock is now in <paramref name="state"/> (UNSPECIFIED: deleted).</summary>
    public static void EnqueueDirectory(StateTransaction transaction, string worldId, ClockState state) =>
        transaction.Enqueue(StoreKeys.DirectoryOutbox, new DirectoryUpdate { WorldId = worldId, State = state }.ToByteArray());

    /// <summary>Records, in a world transaction, when the world is next due given the clock and schedule it writes (or requires).</summary>
    public static void EnqueueWake(StateTransaction transaction, string worldId, Clock? clock, ScheduleRecord? schedule, DateTimeOffset now)
    {
        var update = new WakeUpdate { WorldId = worldId };
        if (clock is not null && schedule is not null && ClockMath.WakeTime(clock, schedule, now) is { } wake)
        {
            update.WakeTime = Timestamp.FromDateTimeOffset(wake);
        }

        transaction.Enqueue(StoreKeys.WakeOutbox, update.ToByteArray());
    }

    /// <summary>Records, in the transaction that deletes a clock, that its generation is to be swept.</summary>
    public static void EnqueueSweep(StateTransaction transaction, string worldId, string generation, long fireSequence) =>
        transaction.Enqueue(StoreKeys.SweepOutbox, new SweepRequest { WorldId = worldId, Generation = generation, FireSequence = fireSequence }.ToByteArray());

    /// <summary>Applies every pending update (crash recovery, and changes made on instances that stopped before draining).</summary>
    public async ValueTask DrainAllAsync(CancellationToken cancellationToken)
    {
        await Directory.DrainAllAsync(cancellationToken).ConfigureAwait(false);
        await Sweeps.DrainAllAsync(cancellationToken).ConfigureAwait(false);
        await Wakes.DrainAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The worlds due at <paramref name="now"/>, soonest first per shard; only those are read.</summary>
    public async ValueTask<List<string>> DueWorldsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var query = new StateIndexQuery { To = StateIndex.SortableTime(now.AddTicks(1)), PageSize = DueWorldsPerShard };
        var pages = await Task.WhenAll(Enumerable.Range(0, StoreKeys.WakeShards)
            .Select(shard => _store.QueryIndexAsync(StoreKeys.WakeIndex(shard), query, cancellationToken).AsTask())).ConfigureAwait(false);
        return [.. pages.SelectMany(page => page.Members).Select(StoreKeys.WorldOfWakeMember)];
    }

    /// <summary>
    /// One page of world ids from the directory, by world id, after <paramref name="afterWorldId"/>
    /// (exclusive; world ids hold no character below '!', so the id and a space bound it).
    /// </summary>
    public ValueTask<StateIndexPage> ListWorldsAsync(ClockState state, string afterWorldId, int pageSize, string? pageToken, CancellationToken cancellationToken) =>
        _store.QueryIndexAsync(
            state == ClockState.Unspecified ? StoreKeys.DirectoryAll : StoreKeys.DirectoryByState(state),
            new StateIndexQuery { From = afterWorldId.Length > 0 ? afterWorldId + " " : null, PageSize = pageSize, PageToken = pageToken },
            cancellationToken);

    internal async ValueTask ApplyDirectoryAsync(string partition, IReadOnlyList<StateOutboxMessage> messages, CancellationToken cancellationToken)
    {
        // Only the latest update counts: it says what the clock is now.
        if (Parse(DirectoryUpdate.Parser, partition, messages[^1]) is not { } update)
        {
            return;
        }

        var key = StoreKeys.DirectoryEntry(update.WorldId);
        var sequence = messages[^1].Sequence;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is not null && DirectoryEntry.Parser.ParseFrom(entry.Value.Span).Sequence >= sequence)
            {
                return;
            }

            var deleted = update.State == ClockState.Unspecified;
            var transaction = new StateTransaction()
                .Set(key, new DirectoryEntry { Sequence = sequence, State = update.State }.ToByteArray(), entry?.Version ?? 0, deleted ? TombstoneLifetime : null);
            foreach (var state in (ClockState[])[ClockState.Running, ClockState.Paused])
            {
                if (state == update.State)
                {
                    transaction.IndexAdd(StoreKeys.DirectoryByState(state), update.WorldId);
                }
                else
                {
                    transaction.IndexRemove(StoreKeys.DirectoryByState(state), update.WorldId);
                }
            }

            if (deleted)
            {
                transaction.IndexRemove(StoreKeys.DirectoryAll, update.WorldId);
            }
            else
            {
                transaction.IndexAdd(StoreKeys.DirectoryAll, update.WorldId);
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return;
            }
        }

        throw Contended(update.WorldId, "clock directory");
    }

    internal async ValueTask ApplyWakeAsync(string partition, IReadOnlyList<StateOutboxMessage> messages, CancellationToken cancellationToken)
    {
        if (Parse(WakeUpdate.Parser, partition, messages[^1]) is not { } update)
        {
            return;
        }

        var key = StoreKeys.WakeEntry(update.WorldId);
        var index = StoreKeys.WakeIndex(StoreKeys.WakeShard(update.WorldId));
        var sequence = messages[^1].Sequence;
        var member = update.WakeTime is null ? "" : StoreKeys.WakeMember(update.WakeTime.ToDateTimeOffset(), update.WorldId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var current = entry is null ? null : WakeEntry.Parser.ParseFrom(entry.Value.Span);
            if (current is not null && current.Sequence >= sequence)
            {
                return;
            }

            var transaction = new StateTransaction()
                .Set(key, new WakeEntry { Sequence = sequence, Member = member }.ToByteArray(), entry?.Version ?? 0, member.Length == 0 ? TombstoneLifetime : null);
            var old = current?.Member ?? "";
            if (old != member)
            {
                if (old.Length > 0)
                {
                    transaction.IndexRemove(index, old);
                }

                if (member.Length > 0)
                {
                    transaction.IndexAdd(index, member);
                }
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return;
            }
        }

        throw Contended(update.WorldId, "wake index");
    }

    /// <summary>Every request counts here (each names a generation), and sweeping twice removes nothing more.</summary>
    private async ValueTask ApplySweepsAsync(string partition, IReadOnlyList<StateOutboxMessage> messages, CancellationToken cancellationToken)
    {
        foreach (var message in messages)
        {
            if (Parse(SweepRequest.Parser, partition, message) is { } sweep)
            {
                var removed = await SweepAsync(sweep, cancellationToken).ConfigureAwait(false);
                LogSwept(_logger, sweep.WorldId, sweep.Generation, removed);
            }
        }
    }

    /// <summary>
    /// Removes a deleted generation's timers with their index entries, a batch per transaction
    /// (the first members of the all-timers index each time, since each batch removes its own),
    /// then its kept fires. Returns the timers removed.
    /// </summary>
    private async ValueTask<int> SweepAsync(SweepRequest sweep, CancellationToken cancellationToken)
    {
        var (worldId, generation) = (sweep.WorldId, sweep.Generation);
        var removed = 0;
        var all = StoreKeys.TimersIndex(worldId, generation);

        // Each batch removes the members it read, so the index shrinks every time round.
        for (var batch = 0; batch < MaxSweepBatches; batch++)
        {
            var page = await _store.QueryIndexAsync(all, new StateIndexQuery { PageSize = TimersPerSweep }, cancellationToken).ConfigureAwait(false);
            if (page.Members.Count == 0)
            {
                break;
            }

            var ids = page.Members.Select(m => StoreKeys.ParseTimerMember(m).TimerId).ToList();
            var entries = await _store.GetManyAsync([.. ids.Select(id => StoreKeys.Timer(worldId, generation, id))], cancellationToken).ConfigureAwait(false);
            var transaction = new StateTransaction();
            for (var i = 0; i < ids.Count; i++)
            {
                transaction.Delete(StoreKeys.Timer(worldId, generation, ids[i]));
                var members = entries[i] is { } entry
                    ? TimerIndexes.Entries(generation, TimerRecord.Parser.ParseFrom(entry.Value.Span).Timer).ToHashSet()
                    : [];

                // The member read is removed even if the record disagrees, so the sweep always ends.
                members.Add((all, page.Members[i]));
                foreach (var (index, member) in members)
                {
                    transaction.IndexRemove(index, member);
                }
            }

            await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false);
            removed += ids.Count;
        }

        var fires = new StateTransaction();
        for (var sequence = Math.Max(1, sweep.FireSequence - StoreKeys.FiresKept + 1); sequence <= sweep.FireSequence; sequence++)
        {
            fires.Delete(StoreKeys.Fired(worldId, generation, sequence));
        }

        if (fires.Operations.Count > 0)
        {
            await _store.ExecuteAsync(fires, cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    /// <summary>A message this version cannot read is skipped (logged), never retried forever.</summary>
    private T? Parse<T>(MessageParser<T> parser, string partition, StateOutboxMessage message)
        where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(message.Payload.Span);
        }
        catch (InvalidProtocolBufferException ex)
        {
            LogUnreadable(_logger, typeof(T).Name, partition, message.Sequence, ex);
            return null;
        }
    }

    private static RpcException Contended(string worldId, string what) =>
        new(new Status(StatusCode.Aborted, $"The {what} entry of world '{worldId}' kept changing under concurrent updates; the next scheduler pass applies it."));

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "Swept clock generation {Generation} of world {WorldId}: {Removed} timers removed")]
    private static partial void LogSwept(ILogger logger, string worldId, string generation, int removed);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Warning, Message = "Skipped an unreadable {Type} (partition {Partition}, sequence {Sequence})")]
    private static partial void LogUnreadable(ILogger logger, string type, string partition, long sequence, Exception exception);
}
