using GameSystem.CapabilityRegistry.V1;
using GameSystem.Events;
using GameSystem.State;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>What processing an instance's expiry found.</summary>
internal enum ExpiryOutcome
{
    /// <summary>Its lease is live and the member given is its own: nothing expired yet.</summary>
    Live,

    /// <summary>Its lease is live, and the member given was a stale one (of an earlier state): that member was removed.</summary>
    Stale,

    /// <summary>Its lease had lapsed: it is gone from every index and EXPIRED is in the outbox.</summary>
    Expired,

    /// <summary>Nothing is known of it any more (another call processed it): only the member given was removed.</summary>
    Gone,
}

/// <summary>
/// Turns a lapsed lease into its consequences, once: one transaction removes the last known
/// state and every index member of the instance and records EXPIRED in the outbox, guarded by
/// the last-known version, so when the sweepers of several instances and a reader race, one
/// wins and the others find nothing left to do. Nobody writes when a lease lapses (the store
/// forgets the live entry by itself), so this is how the lapse becomes an event.
/// </summary>
internal sealed partial class Expiry(IStateStore store, EventOutbox events, TimeProvider time, ILogger logger)
{
    /// <summary>Due members the sweeper processes per pass before it looks again at once.</summary>
    public const int SweepBatch = 100;

    /// <summary>When a member is due to the millisecond but its lease ends later within that millisecond, how soon to look again.</summary>
    public static readonly TimeSpan NotYetLapsedRetry = TimeSpan.FromMilliseconds(5);

    /// <summary>Most members one read cleans up inline; the rest are left to the sweeper or the next read.</summary>
    public const int MaxCleanupsPerRead = 32;

    /// <summary>
    /// Processes <paramref name="instanceId"/>'s expiry if its lease lapsed. <paramref name="found"/>
    /// is the index member that led here; it is removed too when it belongs to no state.
    /// </summary>
    public async ValueTask<ExpiryOutcome> ProcessAsync(string instanceId, (string Index, string Member)? found, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var registration = await Registration.ReadAsync(store, instanceId, time, cancellationToken).ConfigureAwait(false);
            var transaction = new StateTransaction();
            if (registration.Live is { } live)
            {
                var current = StoreKeys.MembersOf(live).ToHashSet();
                if (found is not { } stale || current.Contains(stale))
                {
                    return ExpiryOutcome.Live;
                }

                transaction.Require(StoreKeys.Live(instanceId), registration.LiveVersion).IndexRemove(stale.Index, stale.Member);
                if ((await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
                {
                    return ExpiryOutcome.Stale;
                }

                continue;
            }

            if (registration.Last is not { } last)
            {
                if (found is not { } orphan)
                {
                    return ExpiryOutcome.Gone;
                }

                transaction.RequireAbsent(StoreKeys.Last(instanceId)).IndexRemove(orphan.Index, orphan.Member);
                if ((await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
                {
                    return ExpiryOutcome.Gone;
                }

                continue;
            }

            registration.Delete(transaction);
            Registration.ReplaceMembers(transaction, last, null);
            if (found is { } extra && !StoreKeys.MembersOf(last).Contains(extra))
            {
                transaction.IndexRemove(extra.Index, extra.Member);
            }

            var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            events.Publish(transaction, ChangeEvents.InstanceChanged(ProviderChangeType.Expired, last, registration.LastVersion, now));
            if ((await store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogExpired(logger, instanceId, last.ServiceName, last.ExpireTime);
                return ExpiryOutcome.Expired;
            }
        }

        throw Errors.Contended(instanceId);
    }

    /// <summary>
    /// One sweep: processes the members of the expiry index due now (at most
    /// <see cref="SweepBatch"/>) and returns when the next one is due (null: none is).
    /// </summary>
    public async ValueTask<DateTimeOffset?> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = await store.QueryIndexAsync(StoreKeys.ExpiryIndex, new StateIndexQuery { To = StoreKeys.ExpiryBound(now), PageSize = SweepBatch }, cancellationToken).ConfigureAwait(false);
        DateTimeOffset? next = null;
        foreach (var member in due.Members)
        {
            var (_, instanceId) = StoreKeys.ParseExpiryMember(member);
            if (await ProcessAsync(instanceId, (StoreKeys.ExpiryIndex, member), cancellationToken).ConfigureAwait(false) == ExpiryOutcome.Live)
            {
                // Due to the millisecond the index keeps, yet its lease ends later within it.
                next = now + NotYetLapsedRetry;
            }
        }

        if (due.NextPageToken is not null)
        {
            return now;
        }

        var upcoming = await store.QueryIndexAsync(StoreKeys.ExpiryIndex, new StateIndexQuery { From = StoreKeys.ExpiryBound(now), PageSize = 1 }, cancellationToken).ConfigureAwait(false);
        if (upcoming.Members.Count > 0)
        {
            var (expireTime, _) = StoreKeys.ParseExpiryMember(upcoming.Members[0]);
            next = next is { } soon && soon < expireTime ? soon : expireTime;
        }

        return next;
    }

    /// <summary>Processes, best effort, the members a read found without a live entry; a failure is logged and left to the sweeper.</summary>
    public async ValueTask CleanUpAsync(IReadOnlyCollection<(string InstanceId, string Index, string Member)> orphans, CancellationToken cancellationToken)
    {
        foreach (var (instanceId, index, member) in orphans.Take(MaxCleanupsPerRead))
        {
            try
            {
                await ProcessAsync(instanceId, (index, member), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogCleanupFailed(logger, instanceId, ex);
            }
        }
    }

    [LoggerMessage(EventId = 3610, Level = LogLevel.Information, Message = "Instance {InstanceId} of {ServiceName} expired (lease ended {ExpireTime})")]
    private static partial void LogExpired(ILogger logger, string instanceId, string serviceName, Timestamp expireTime);

    [LoggerMessage(EventId = 3611, Level = LogLevel.Warning, Message = "Could not clean up the index members of instance {InstanceId} a read found without a live entry; the sweeper retries")]
    private static partial void LogCleanupFailed(ILogger logger, string instanceId, Exception exception);
}
