using System.Collections.Concurrent;
using System.Threading.Channels;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>
/// Grants the rewards of completed quests until payment and state-manager acknowledge them.
/// A completion enqueues a <see cref="GrantTask"/> in the <see cref="StoreKeys.GrantOutbox"/>
/// outbox of the player's partition in its own transaction, so a grant is owed exactly when the
/// quest is completed, even if the process dies the next instant. This worker claims a player's
/// grants (a lease, so two instances do not work on one player at once), calls payment's Credit
/// and state-manager's AddItems and GrantExperience with the attempt's key
/// (<c>quest:{player}:{quest}:{attempt}</c>; both deduplicate on it, so a repeat after a crash or a
/// lost answer grants nothing twice), marks the attempt GRANTED and only then completes the
/// message. A grant that fails for a reason that may pass is retried with backoff; one that is
/// refused for good, or keeps failing past the retry window, is marked FAILED for an operator.
/// </summary>
internal sealed partial class RewardGrants : IDisposable
{
    private const int MessagesPerClaim = 20;
    private const int PartitionsAtOnce = 4;
    private static readonly TimeSpan IdleBeforeRetiring = TimeSpan.FromSeconds(30);

    private readonly IStateStore _store;
    private readonly IStateOutboxStore _outboxes;
    private readonly PaymentServiceClient _payment;
    private readonly StateManagerServiceClient _stateManager;
    private readonly QuestSystemOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _owner = "quest-system-" + Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset NotBefore)> _backoff = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly Channel<string> _wakes = Channel.CreateBounded<string>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public RewardGrants(IStateStore store, IStateOutboxStore outboxes, PaymentServiceClient payment, StateManagerServiceClient stateManager, QuestSystemOptions options, TimeProvider time, ILogger logger)
    {
        _store = store;
        _outboxes = outboxes;
        _payment = payment;
        _stateManager = stateManager;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Asks the worker to look at <paramref name="partition"/> now (a completion there just committed).</summary>
    public void Wake(string partition) => _wakes.Writer.TryWrite(partition);

    public Task StartAsync()
    {
        _loop ??= Task.Run(() => RunAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    /// <summary>Stops at once: a grant in flight is abandoned where it is, as a crash would leave it; its lease expires and the next pass (here or on another instance) repeats it.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        foreach (var stripe in _stripes)
        {
            stripe.Dispose();
        }
    }

    /// <summary>
    /// Grants what <paramref name="partition"/> owes, oldest first, one drain at a time per
    /// partition in this process. Returns true when its outbox was left empty.
    /// </summary>
    public async ValueTask<bool> DrainAsync(string partition, CancellationToken cancellationToken)
    {
        var stripe = _stripes[(int)((uint)StringComparer.Ordinal.GetHashCode(partition) % (uint)_stripes.Length)];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var claim = await _outboxes.ClaimOutboxAsync(StoreKeys.GrantOutbox, partition, _owner, _options.GrantLease, MessagesPerClaim, cancellationToken).ConfigureAwait(false);
                if (!claim.Claimed)
                {
                    return false;
                }

                if (claim.Messages.Count == 0)
                {
                    await _outboxes.CompleteOutboxAsync(StoreKeys.GrantOutbox, partition, _owner, 0, cancellationToken).ConfigureAwait(false);
                    _backoff.TryRemove(partition, out _);
                    return true;
                }

                long done = 0;
                foreach (var message in claim.Messages)
                {
                    var task = GrantTask.Parser.ParseFrom(message.Payload.Span);
                    if (!await GrantAsync(task, cancellationToken).ConfigureAwait(false))
                    {
                        // Keep the rest for later, in order; free the partition for whoever tries next.
                        await _outboxes.CompleteOutboxAsync(StoreKeys.GrantOutbox, partition, _owner, done, cancellationToken).ConfigureAwait(false);
                        var failures = _backoff.TryGetValue(partition, out var previous) ? previous.Failures + 1 : 1;
                        var wait = TimeSpan.FromTicks(Math.Min(_options.MaxGrantRetryBackoff.Ticks, _options.GrantRetryBackoff.Ticks << Math.Min(failures - 1, 20)));
                        wait = TimeSpan.FromTicks((long)(wait.Ticks * (0.8 + (0.4 * Random.Shared.NextDouble()))));
                        _backoff[partition] = (failures, _time.GetUtcNow() + wait);
                        LogGrantRetry(_logger, task.GrantKey, failures, wait);
                        return false;
                    }

                    done = message.Sequence;
                }

                var left = await _outboxes.CompleteOutboxAsync(StoreKeys.GrantOutbox, partition, _owner, done, cancellationToken).ConfigureAwait(false);
                _backoff.TryRemove(partition, out _);
                if (left == 0)
                {
                    return true;
                }
            }
        }
        finally
        {
            stripe.Release();
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(cancellationToken).ConfigureAwait(false);
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                poll.CancelAfter(_options.GrantPollInterval);
                try
                {
                    var partition = await _wakes.Reader.ReadAsync(poll.Token).ConfigureAwait(false);
                    if (!InBackoff(partition))
                    {
                        await DrainAsync(partition, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The poll interval passed: sweep again.
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store unreachable, a malformed message: try again after a pause, never stop granting.
                LogSweepFailed(_logger, ex);
                await Task.Delay(_options.GrantPollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var partitions = new List<string>();
        await foreach (var partition in _outboxes.ListOutboxPartitionsAsync(StoreKeys.GrantOutbox, cancellationToken).ConfigureAwait(false))
        {
            if (!InBackoff(partition))
            {
                partitions.Add(partition);
            }
        }

        await Parallel.ForEachAsync(partitions, new ParallelOptions { MaxDegreeOfParallelism = PartitionsAtOnce, CancellationToken = cancellationToken }, async (partition, token) =>
        {
            try
            {
                if (await DrainAsync(partition, token).ConfigureAwait(false))
                {
                    await _outboxes.RetireOutboxPartitionAsync(StoreKeys.GrantOutbox, partition, IdleBeforeRetiring, token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPartitionFailed(_logger, partition, ex);
            }
        }).ConfigureAwait(false);
    }

    private bool InBackoff(string partition) => _backoff.TryGetValue(partition, out var backoff) && backoff.NotBefore > _time.GetUtcNow();

    /// <summary>Grants one attempt's rewards; true when it is done with (granted, or marked FAILED), false to retry later.</summary>
    private async ValueTask<bool> GrantAsync(GrantTask task, CancellationToken cancellationToken)
    {
        try
        {
            var reward = task.Reward ?? new GameSystem.Common.V1.Reward();
            var reason = $"quest-reward:{task.QuestId}";
            if (reward.Items.Count > 0)
            {
                var add = new AddItemsRequest { PlayerId = task.PlayerId, RequestId = task.GrantKey, Reason = reason };
                add.Items.AddRange(reward.Items);
                await _stateManager.AddItemsAsync(add, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                LogGranted(_logger, task.GrantKey, "items", false);
            }

            if (reward.Experience > 0)
            {
                await _stateManager.GrantExperienceAsync(new GrantExperienceRequest { PlayerId = task.PlayerId, Amount = reward.Experience, RequestId = task.GrantKey, Reason = reason }, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                LogGranted(_logger, task.GrantKey, "experience", false);
            }

            if (reward.Currencies.Count > 0)
            {
                var credit = new CreditRequest
                {
                    PlayerId = task.PlayerId,
                    Reason = BalanceChangeReason.Reward,
                    Reference = $"quests/{task.QuestId}/players/{task.PlayerId}/attempts/{task.Attempt}",
                    IdempotencyKey = task.GrantKey,
                };
                credit.Amounts.AddRange(reward.Currencies);
                var credited = await _payment.CreditAsync(credit, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                LogGranted(_logger, task.GrantKey, "currency", credited.Replayed);
            }

            await MarkAsync(task, RewardStatus.Granted, "", cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var permanent = ex.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists or StatusCode.NotFound or StatusCode.OutOfRange;
            var expired = _time.GetUtcNow() - (task.CompleteTime?.ToDateTimeOffset() ?? _time.GetUtcNow()) > _options.GrantRetryWindow;
            if (!permanent && !expired)
            {
                LogGrantFailed(_logger, task.GrantKey, ex.StatusCode, ex.Status.Detail);
                return false;
            }

            var error = $"{ex.StatusCode}: {ex.Status.Detail}" + (permanent ? "" : $" (still failing after the retry window of {_options.GrantRetryWindow})");
            LogGrantAbandoned(_logger, task.GrantKey, error);
            await MarkAsync(task, RewardStatus.Failed, error, cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    private DateTime Deadline() => (_time.GetUtcNow() + _options.GrantCallTimeout).UtcDateTime;

    /// <summary>Records the outcome on the attempt, if the log still shows it pending (a later attempt replaced nothing of it).</summary>
    private async ValueTask MarkAsync(GrantTask task, RewardStatus status, string error, CancellationToken cancellationToken)
    {
        var key = StoreKeys.PlayerQuest(task.PlayerId, task.QuestId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (read is null)
            {
                return;
            }

            var record = PlayerQuestRecord.Parser.ParseFrom(read.Value.Span);
            if (record.Quest.Attempt != task.Attempt || record.Quest.RewardStatus != RewardStatus.Pending)
            {
                return;
            }

            var next = LogRules.Next(record, Timestamp.FromDateTimeOffset(_time.GetUtcNow()));
            next.Quest.RewardStatus = status;
            next.Quest.RewardError = error;
            var transaction = new StateTransaction().Set(key, next.ToByteArray(), expectedVersion: read.Version);
            if (!string.Equals(record.LogMember, next.LogMember, StringComparison.Ordinal))
            {
                transaction.IndexRemove(StoreKeys.Log(task.PlayerId), record.LogMember).IndexAdd(StoreKeys.Log(task.PlayerId), next.LogMember);
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return;
            }
        }

        throw Errors.Contended($"Player '{task.PlayerId}''s quest '{task.QuestId}'");
    }

    [LoggerMessage(EventId = 2710, Level = LogLevel.Debug, Message = "Reward grant {GrantKey}: {Part} acknowledged (replayed: {Replayed})")]
    private static partial void LogGranted(ILogger logger, string grantKey, string part, bool replayed);

    [LoggerMessage(EventId = 2711, Level = LogLevel.Warning, Message = "Reward grant {GrantKey} failed with {Status} ({Detail}); it stays pending and is retried")]
    private static partial void LogGrantFailed(ILogger logger, string grantKey, StatusCode status, string detail);

    [LoggerMessage(EventId = 2712, Level = LogLevel.Information, Message = "Reward grant {GrantKey}: attempt {Failures} failed, next in {Wait}")]
    private static partial void LogGrantRetry(ILogger logger, string grantKey, int failures, TimeSpan wait);

    [LoggerMessage(EventId = 2713, Level = LogLevel.Error, Message = "Reward grant {GrantKey} marked FAILED for an operator: {Error}")]
    private static partial void LogGrantAbandoned(ILogger logger, string grantKey, string error);

    [LoggerMessage(EventId = 2714, Level = LogLevel.Warning, Message = "Cannot work on the reward grants of partition {Partition}; retrying on the next pass")]
    private static partial void LogPartitionFailed(ILogger logger, string partition, Exception exception);

    [LoggerMessage(EventId = 2715, Level = LogLevel.Warning, Message = "The reward grant sweep failed; retrying")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
