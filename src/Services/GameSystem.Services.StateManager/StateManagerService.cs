using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Services.StateManager.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.StateManager;

/// <summary>
/// state-manager: the one owner of player state. A player's versioned snapshot (attributes,
/// location, save data, experience and inventory), their checkpoints, sessions, request ids and
/// events all live in their <c>{player:&lt;id&gt;}</c> partition (<see cref="StoreKeys"/>), so every
/// change is ONE store transaction: the new version, the retained history, the request id that
/// makes it safe to retry and its events in the outbox. Concurrent writers never lose an update
/// (each transaction requires the version it read and is re-planned on a conflict), a rollback
/// restores state, inventory and experience together, and a crash never leaves half a change.
/// </summary>
public sealed partial class StateManagerService : IStateManagerService
{
    /// <summary>Versions of a player's state kept for GetPlayerState, the latest included.</summary>
    internal const int RetainedVersions = 20;

    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<StateManagerService> _logger;
    private readonly StateManagerOptions _options;
    private readonly LevelCurve _levels;

    /// <summary>Creates the service over a state store, publishing its events through <paramref name="outbox"/>.</summary>
    public StateManagerService(IStateStore store, EventOutbox outbox, IOptions<StateManagerOptions> options, TimeProvider timeProvider, ILogger<StateManagerService> logger)
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
        _options = options.Value ?? StateManagerOptions.Default;
        _levels = new LevelCurve(_options.LevelBaseExperience, _options.LevelExponent, _options.MaxLevel);
    }

    /// <summary>
    /// Re-reads and re-plans a change of <paramref name="playerId"/>'s partition until its
    /// transaction applies on the state it was planned on, or answers the first result of its
    /// request id. <paramref name="plan"/> sees the current state (null: none yet) and the entries
    /// of <paramref name="extraKeys"/>; it throws to refuse (nothing is written) or returns what
    /// to write.
    /// </summary>
    private async ValueTask<TResponse> ChangeAsync<TResponse>(
        string playerId,
        RetryClaim? claim,
        MessageParser<TResponse> parser,
        IReadOnlyList<string> extraKeys,
        Func<PlayerState?, IReadOnlyList<StateEntry?>, Timestamp, Plan<TResponse>> plan,
        CancellationToken cancellationToken)
        where TResponse : class, IMessage<TResponse>
    {
        var current = StoreKeys.Current(playerId);
        var keys = new List<string>(2 + extraKeys.Count) { current };
        if (claim is not null)
        {
            keys.Add(claim.Key);
        }

        keys.AddRange(extraKeys);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            if (attempt > 2)
            {
                // Many writers on one player (a raid's loot, a crafting bot): spread the retries.
                await Task.Delay(Random.Shared.Next(1, Math.Min(4 * attempt, 40)), cancellationToken).ConfigureAwait(false);
            }

            var read = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
            if (claim?.Answer(read[1], parser) is { } answer)
            {
                return answer;
            }

            var state = read[0] is { } entry ? PlayerState.Parser.ParseFrom(entry.Value.Span) : null;
            var extras = claim is null ? read.Skip(1).ToList() : read.Skip(2).ToList();
            var now = Now();
            var planned = plan(state, extras, now);
            var transaction = new StateTransaction();
            if (planned.NewState is { } written)
            {
                var bytes = written.ToByteArray();
                transaction.Set(current, bytes, expectedVersion: read[0]?.Version ?? 0)
                    .Set(StoreKeys.Version(playerId, written.Version), bytes);
                if (written.Version > RetainedVersions)
                {
                    transaction.Delete(StoreKeys.Version(playerId, written.Version - RetainedVersions));
                }
            }
            else
            {
                // The answer was computed from this state: it applies only if the state still is.
                transaction.Require(current, read[0]?.Version ?? 0);
            }

            planned.Also?.Invoke(transaction);
            foreach (var domainEvent in planned.Events)
            {
                _outbox.Publish(transaction, domainEvent);
            }

            claim?.Take(transaction, planned.Response);
            if (transaction.Operations.Count == 0)
            {
                return planned.Response;
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                if (planned.NewState is { } applied)
                {
                    LogChanged(_logger, playerId, applied.Version, typeof(TResponse).Name);
                }

                return planned.Response;
            }
        }

        throw Errors.Contended($"Player '{playerId}''s state");
    }

    /// <summary>
    /// The next version of a player's state: a copy of <paramref name="current"/> (or a new, empty
    /// state) with the version moved on by one and stamped <paramref name="now"/>.
    /// </summary>
    private PlayerState NextVersion(string playerId, PlayerState? current, Timestamp now)
    {
        var next = current?.Clone() ?? new PlayerState { PlayerId = playerId, CreateTime = now, Inventory = new Inventory() };
        next.Version = (current?.Version ?? 0) + 1;
        next.UpdateTime = now;
        next.Inventory ??= new Inventory();
        next.Inventory.PlayerId = playerId;
        next.Inventory.StateVersion = next.Version;
        return Present(next);
    }

    /// <summary>Fills what is derived rather than stored: the level, and the inventory's capacity (the deployment's).</summary>
    private PlayerState Present(PlayerState state)
    {
        state.Level = _levels.LevelOf(state.Experience);
        state.Inventory ??= new Inventory { PlayerId = state.PlayerId, StateVersion = state.Version };
        state.Inventory.SlotCapacity = _options.SlotCapacity;
        return state;
    }

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    [LoggerMessage(EventId = 2600, Level = LogLevel.Debug, Message = "Player {PlayerId}: state version {Version} written ({Response})")]
    private static partial void LogChanged(ILogger logger, string playerId, long version, string response);

    /// <summary>What a change writes: the new state (null: none), more operations of the player's partition, its events and the answer.</summary>
    private sealed record Plan<TResponse>(PlayerState? NewState, TResponse Response, IReadOnlyList<DomainEvent> Events, Action<StateTransaction>? Also = null);
}
