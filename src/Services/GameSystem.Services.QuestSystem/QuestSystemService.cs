using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.Services.QuestSystem.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.QuestSystem;

/// <summary>
/// quest-system: quest definitions and each player's quest log. Definitions live in one
/// <c>{quests}</c> partition with the prerequisite graph, so a definition write checks for
/// cycles in its own transaction; a player's log lives in their <c>{player:&lt;id&gt;}</c>
/// partition (<see cref="StoreKeys"/>), so accepting, progressing, completing, abandoning and
/// failing are each ONE transaction holding the records, the request id, the events and, for a
/// completion, the reward grant it owes. While hosted it runs the grant worker
/// (<see cref="RewardGrants"/>) that pays that grant through payment and state-manager exactly
/// once, and it follows payment's purchase events, which unlock quests.
/// </summary>
public sealed partial class QuestSystemService : IQuestSystemService, IHostedService, IEventSubscriber, IDisposable
{
    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly StateManagerServiceClient _stateManager;
    private readonly TimeProvider _time;
    private readonly ILogger<QuestSystemService> _logger;
    private readonly QuestSystemOptions _options;
    private readonly RewardGrants _grants;

    /// <summary>Creates the service over a state store; its events go to <paramref name="outbox"/>, its rewards to <paramref name="payment"/> and <paramref name="stateManager"/>.</summary>
    /// <param name="store">Where definitions and quest logs are kept.</param>
    /// <param name="outboxes">The store's outbox side: the grant worker drains quest-system's grant outbox.</param>
    /// <param name="outbox">The service's event outbox (the host names it <c>quest-system</c> and relays it to event-bus).</param>
    /// <param name="payment">payment, which credits currency rewards (as quest-system's service account).</param>
    /// <param name="stateManager">state-manager, which grants items and experience and tells levels and inventories.</param>
    /// <param name="options">The configuration.</param>
    /// <param name="timeProvider">Real time.</param>
    /// <param name="logger">The service's log.</param>
    public QuestSystemService(
        IStateStore store,
        IStateOutboxStore outboxes,
        EventOutbox outbox,
        PaymentServiceClient payment,
        StateManagerServiceClient stateManager,
        IOptions<QuestSystemOptions> options,
        TimeProvider timeProvider,
        ILogger<QuestSystemService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outboxes);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(payment);
        ArgumentNullException.ThrowIfNull(stateManager);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _outbox = outbox;
        _stateManager = stateManager;
        _time = timeProvider;
        _logger = logger;
        _options = options.Value ?? QuestSystemOptions.Default;
        _grants = new RewardGrants(store, outboxes, payment, stateManager, _options, timeProvider, logger);
    }

    /// <summary>
    /// payment's purchases unlock quests (<c>prerequisites.purchased_offer_ids</c>) and a refund
    /// locks them again; world events a player caused progress their REACH and INTERACT objectives.
    /// </summary>
    public IReadOnlyList<EventSubscription> Subscriptions =>
    [
        new("purchases", [PurchaseCompletedType, PurchaseRefundedType], OnPurchaseEventAsync),
        new("world-progress", [WorldEventAppliedType], OnWorldEventAsync),
    ];

    /// <summary>Starts the grant worker (the host calls this once the service is served).</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _grants.StartAsync();

    /// <summary>Stops the grant worker; grants not yet acknowledged stay owed in the store for the next start or another instance.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _grants.StopAsync();

    /// <inheritdoc/>
    public void Dispose() => _grants.Dispose();

    /// <summary>
    /// Re-reads and re-plans a change of <paramref name="playerId"/>'s log until its transaction
    /// applies on what it read, or answers the first result of its request id. <paramref name="plan"/>
    /// sees the records of <paramref name="questIds"/> and the entries of <paramref name="extraKeys"/>;
    /// it throws to refuse (nothing is written) or says what to write. Every key read is a
    /// condition of the transaction, so an answer computed from a prerequisite holds only if the
    /// prerequisite still does. <paramref name="markReplayed"/> marks an answer that a request id
    /// had already given (a repeat racing the first call finds it here).
    /// </summary>
    private async ValueTask<TResponse> ChangeLogAsync<TResponse>(
        string playerId,
        RequestClaim? claim,
        MessageParser<TResponse>? parser,
        IReadOnlyList<string> questIds,
        List<string> extraKeys,
        Func<LogSnapshot, Timestamp, LogPlan<TResponse>> plan,
        CancellationToken cancellationToken,
        Action<TResponse>? markReplayed = null)
        where TResponse : class, IMessage<TResponse>
    {
        var ids = questIds.Distinct(StringComparer.Ordinal).ToList();
        var keys = new List<string>();
        if (claim is not null)
        {
            keys.Add(claim.Key);
        }

        var first = keys.Count;
        keys.AddRange(ids.Select(id => StoreKeys.PlayerQuest(playerId, id)));
        keys.AddRange(extraKeys);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            if (attempt > 2)
            {
                await Task.Delay(Random.Shared.Next(1, Math.Min(4 * attempt, 40)), cancellationToken).ConfigureAwait(false);
            }

            // The claim first: GetMany reads key by key, and the claim commits with the records,
            // so a claim seen means the change it answers is seen too.
            var read = await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
            if (claim is not null && parser is not null && claim.Answer(read[0], parser) is { } answer)
            {
                markReplayed?.Invoke(answer);
                return answer;
            }

            var records = new Dictionary<string, (PlayerQuestRecord? Record, long Version)>(StringComparer.Ordinal);
            for (var i = 0; i < ids.Count; i++)
            {
                var entry = read[first + i];
                records[ids[i]] = (entry is null ? null : PlayerQuestRecord.Parser.ParseFrom(entry.Value.Span), entry?.Version ?? 0);
            }

            var extras = new Dictionary<string, StateEntry?>(StringComparer.Ordinal);
            for (var i = 0; i < extraKeys.Count; i++)
            {
                extras[extraKeys[i]] = read[first + ids.Count + i];
            }

            var now = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
            var planned = plan(new LogSnapshot(records, extras), now);
            var transaction = new StateTransaction();
            foreach (var (questId, (record, version)) in records)
            {
                var key = StoreKeys.PlayerQuest(playerId, questId);
                if (planned.Changes.TryGetValue(questId, out var changed))
                {
                    transaction.Set(key, changed.ToByteArray(), expectedVersion: version);
                    if (!string.Equals(record?.LogMember, changed.LogMember, StringComparison.Ordinal))
                    {
                        if (record is not null)
                        {
                            transaction.IndexRemove(StoreKeys.Log(playerId), record.LogMember);
                        }

                        transaction.IndexAdd(StoreKeys.Log(playerId), changed.LogMember);
                    }
                    var wasActive = record?.Quest.State == PlayerQuestState.Active;
                    var isActive = changed.Quest.State == PlayerQuestState.Active;
                    if (isActive && !wasActive)
                    {
                        transaction.IndexAdd(StoreKeys.Active(playerId), questId);
                    }
                    else if (wasActive && !isActive)
                    {
                        transaction.IndexRemove(StoreKeys.Active(playerId), questId);
                    }
                }
                else
                {
                    transaction.Require(key, version);
                }
            }

            foreach (var (key, entry) in extras)
            {
                transaction.Require(key, entry?.Version ?? 0);
            }

            foreach (var domainEvent in planned.Events)
            {
                _outbox.Publish(transaction, domainEvent);
            }

            foreach (var grant in planned.Grants)
            {
                transaction.Enqueue(StoreKeys.GrantOutbox, grant.ToByteArray());
            }

            if (planned.Grants.Count > 0)
            {
                var partition = StoreKeys.PlayerPartition(playerId);
                transaction.OnApplied(() => _grants.Wake(partition));
            }

            if (planned.Changes.Count == 0 && claim is null)
            {
                // A read-only answer (abandoning an abandoned quest): nothing to write.
                return planned.Response;
            }

            claim?.Take(transaction, planned.Response);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                foreach (var changed in planned.Changes.Values)
                {
                    LogChanged(_logger, playerId, changed.Quest.QuestId, changed.Quest.Attempt, changed.Quest.State, changed.Quest.Version);
                }

                return planned.Response;
            }
        }

        throw Errors.Contended($"Player '{playerId}''s quest log");
    }

    private RequestClaim Claim(string playerId, string rpc, string requestId, IMessage request) =>
        new(StoreKeys.Request(playerId, rpc, requestId), rpc, "request_id", requestId, request, _options.RequestRetention);

    private DateTimeOffset Now() => _time.GetUtcNow();

    [LoggerMessage(EventId = 2700, Level = LogLevel.Debug, Message = "Player {PlayerId}: quest {QuestId} attempt {Attempt} is {State} (version {Version})")]
    private static partial void LogChanged(ILogger logger, string playerId, string questId, int attempt, PlayerQuestState state, long version);

    /// <summary>What a change of a log read: the records by quest id (null: never accepted) and extra entries by key.</summary>
    private sealed class LogSnapshot(Dictionary<string, (PlayerQuestRecord? Record, long Version)> records, Dictionary<string, StateEntry?> extras)
    {
        public PlayerQuestRecord? Record(string questId) => records.TryGetValue(questId, out var read) ? read.Record : null;

        public IEnumerable<PlayerQuestRecord> Records => records.Values.Select(r => r.Record).OfType<PlayerQuestRecord>();

        public StateEntry? Extra(string key) => extras.GetValueOrDefault(key);
    }

    /// <summary>What a change writes: new records by quest id, events, grants owed, and the answer.</summary>
    private sealed record LogPlan<TResponse>(TResponse Response, IReadOnlyDictionary<string, PlayerQuestRecord> Changes, IReadOnlyList<DomainEvent> Events, IReadOnlyList<GrantTask> Grants)
    {
        public static LogPlan<TResponse> Unchanged(TResponse response) => new(response, new Dictionary<string, PlayerQuestRecord>(), [], []);
    }
}
