using GameSystem.Events;
using GameSystem.Services.WorldState.Internal;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.WorldState;

/// <summary>
/// world-state: the shared state of the game world. Everything of one world lives in its
/// <c>{world:&lt;id&gt;}</c> partition (<see cref="StoreKeys"/>), so every change, a world event of
/// a hundred mutations or a move between two regions included, is ONE store transaction: the
/// regions and entities it changes (each requiring the version it was read at), their indexes,
/// each region's next change-log entry, the event's record or the request id that makes a retry
/// safe, and the events in the outbox. Concurrent writers never lose an update (a conflict
/// re-reads and re-plans), and a refused or failed call writes nothing.
/// </summary>
public sealed partial class WorldStateService : IWorldStateService
{
    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<WorldStateService> _logger;
    private readonly WorldStateOptions _options;
    private readonly RegionSignals _signals = new();

    /// <summary>Creates the service over a state store, publishing its events through <paramref name="outbox"/>.</summary>
    public WorldStateService(IStateStore store, EventOutbox outbox, IOptions<WorldStateOptions> options, TimeProvider timeProvider, ILogger<WorldStateService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _outbox = outbox;
        _time = timeProvider;
        _logger = logger;
        _options = options.Value ?? WorldStateOptions.Default;
    }

    /// <summary>
    /// The world <paramref name="regionId"/> is in, from the directory; null when no region has
    /// that id (a directory entry whose region is absent counts as none for reads).
    /// </summary>
    private async ValueTask<string?> WorldOfAsync(string regionId, CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(StoreKeys.RegionDirectory(regionId), cancellationToken).ConfigureAwait(false);
        return entry is null ? null : RegionDirectoryRecord.Parser.ParseFrom(entry.Value.Span).WorldId;
    }

    /// <summary>The region and the world it is in; NOT_FOUND naming it when there is none.</summary>
    private async ValueTask<(string WorldId, RegionRecord Record, long StoreVersion)> ReadRegionAsync(string regionId, CancellationToken cancellationToken)
    {
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false);
        var entry = worldId is null ? null : await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false);
        return entry is null
            ? throw RegionNotFound(regionId)
            : (worldId!, RegionRecord.Parser.ParseFrom(entry.Value.Span), entry.Version);
    }

    /// <summary>
    /// Reads the keys of a world change, plans it with <paramref name="plan"/> and commits it as one
    /// transaction, again and again until it applies on the state it was planned on, or answers the
    /// first result of its request id. <paramref name="keys"/> names what to read (it may read the
    /// store itself, e.g. a region's ancestors); <paramref name="plan"/> changes the
    /// <see cref="WorldChange"/> and returns how to answer, or throws to refuse (nothing is written).
    /// </summary>
    private async ValueTask<TResponse> ChangeWorldAsync<TResponse>(
        string worldId,
        RequestClaim? claim,
        MessageParser<TResponse> parser,
        Func<CancellationToken, ValueTask<WorldKeys>> keys,
        Func<WorldChange, IReadOnlyList<StateEntry?>, Plan<TResponse>> plan,
        CancellationToken cancellationToken,
        string eventId = "",
        string eventType = "")
        where TResponse : class, IMessage<TResponse>
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            if (attempt > 2)
            {
                // Many writers on one region (a raid on one boss): spread the retries.
                await Task.Delay(Random.Shared.Next(1, Math.Min(4 * attempt, 40)), cancellationToken).ConfigureAwait(false);
            }

            var wanted = await keys(cancellationToken).ConfigureAwait(false);
            var all = new List<string>(1 + wanted.Regions.Count + wanted.Entities.Count + wanted.Extras.Count);
            if (claim is not null)
            {
                all.Add(claim.Key);
            }

            all.AddRange(wanted.Regions.Select(r => StoreKeys.Region(worldId, r)));
            all.AddRange(wanted.Entities.Select(e => StoreKeys.Entity(worldId, e)));
            all.AddRange(wanted.Extras);
            var read = await _store.GetManyAsync(all, cancellationToken).ConfigureAwait(false);
            var at = 0;
            if (claim is not null && claim.Answer(read[at++], parser) is { } answer)
            {
                return answer;
            }

            var change = new WorldChange(worldId, Now(), eventId, eventType);
            foreach (var regionId in wanted.Regions)
            {
                change.LoadRegion(regionId, read[at++]);
            }

            foreach (var entityId in wanted.Entities)
            {
                change.LoadEntity(entityId, read[at++]);
            }

            var extras = read.Skip(at).ToList();
            Plan<TResponse> planned;
            try
            {
                planned = plan(change, extras);
            }
            catch (StaleReadException)
            {
                continue;
            }

            var transaction = new StateTransaction();
            var commit = change.Commit(transaction, _options.MaxEntitiesPerRegion, _options.ChangeRetention, (t, e) => _outbox.Publish(t, e));
            var response = planned.Respond(commit);
            planned.Finish?.Invoke(transaction, response);
            claim?.Take(transaction, response);
            if (transaction.Operations.Count == 0)
            {
                return response;
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                foreach (var region in commit.Regions.Values)
                {
                    _signals.Pulse(worldId, region.RegionId);
                    LogRegionChanged(_logger, region.RegionId, region.Version, eventId.Length == 0 ? typeof(TResponse).Name : eventId);
                }

                return response;
            }
        }

        throw Errors.Contended($"World '{worldId}'");
    }

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    private static Grpc.Core.RpcException RegionNotFound(string regionId) =>
        Errors.NotFound($"Region '{regionId}' does not exist; ListRegions shows the regions, CreateRegion creates one.");

    private static Grpc.Core.RpcException EntityNotFound(string regionId, string entityId) =>
        Errors.NotFound($"Region '{regionId}' has no entity '{entityId}'; QueryRegion lists its entities.");

    [LoggerMessage(EventId = 7200, Level = LogLevel.Debug, Message = "Region {RegionId}: version {Version} written ({Cause})")]
    private static partial void LogRegionChanged(ILogger logger, string regionId, long version, string cause);

    /// <summary>What a change reads: regions and entities of its world by id, and other keys of the world's partition.</summary>
    private sealed record WorldKeys(IReadOnlyList<string> Regions, IReadOnlyList<string> Entities, IReadOnlyList<string> Extras);

    /// <summary>How a planned change answers once committed, and what else its transaction writes (the event record).</summary>
    private sealed record Plan<TResponse>(Func<WorldCommit, TResponse> Respond, Action<StateTransaction, TResponse>? Finish = null);

    private static ValueTask<WorldKeys> Keys(IReadOnlyList<string> regions, IReadOnlyList<string>? entities = null, IReadOnlyList<string>? extras = null) =>
        ValueTask.FromResult(new WorldKeys(regions, entities ?? [], extras ?? []));
}
