using GameSystem.Events;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.Services.QuestSystem.Internal;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.QuestSystem;

public sealed partial class QuestSystemService
{
    private const string PurchaseCompletedType = "payment.purchase.completed";
    private const string PurchaseRefundedType = "payment.purchase.refunded";
    private const string WorldEventAppliedType = "world.event.applied";

    /// <summary>
    /// A world event a player caused (<c>subject</c> <c>players/&lt;id&gt;</c>) is play the log
    /// can see: it progresses the player's active REACH objectives on its region and INTERACT
    /// objectives on its type (e.g. <c>gate.opened</c>), one each, reported under report ids
    /// derived from the world event's id, so a redelivery counts nothing twice.
    /// </summary>
    private async ValueTask OnWorldEventAsync(ReceivedEvent received, CancellationToken cancellationToken)
    {
        var applied = received.Payload<WorldEventApplied>().Result?.Event;
        const string players = "players/";
        if (applied is null || !applied.Subject.StartsWith(players, StringComparison.Ordinal) || applied.EventId.Length is 0 or > 100
            || DefinitionRules.PlayerIdProblem(applied.Subject[players.Length..]) is not null)
        {
            // Weather, NPC schedules, anything no player did: nothing for a quest log.
            return;
        }

        var playerId = applied.Subject[players.Length..];
        foreach (var (kind, target) in new[] { (ObjectiveKind.Reach, applied.RegionId), (ObjectiveKind.Interact, applied.Type) })
        {
            if (target.Length is 0 or > DefinitionRules.MaxIdLength)
            {
                continue;
            }

            var report = new ReportObjectiveProgressRequest
            {
                PlayerId = playerId,
                ReportId = $"world:{applied.EventId}:{DefinitionRules.Name(kind).ToLowerInvariant()}",
                Action = new GameAction { Kind = kind, TargetId = target },
                Increment = 1,
            };
            var result = await ProgressAsync(report, cancellationToken).ConfigureAwait(false);
            if (result.UpdatedQuests.Count > 0 && !result.Duplicate)
            {
                LogWorldProgress(_logger, playerId, applied.EventId, kind, target, result.UpdatedQuests.Count);
            }
        }
    }

    /// <summary>
    /// Records a purchase (or its refund) in the buyer's log partition, where AcceptQuest and
    /// ListAvailableQuests read it. Idempotent: a purchase id is added once, and a refunded one
    /// never counts again, whatever order redeliveries arrive in.
    /// </summary>
    private async ValueTask OnPurchaseEventAsync(ReceivedEvent received, CancellationToken cancellationToken)
    {
        var refunded = received.Event.Type == PurchaseRefundedType;
        var purchase = refunded ? received.Payload<PurchaseRefunded>().Purchase : received.Payload<PurchaseCompleted>().Purchase;
        if (purchase is null || DefinitionRules.PlayerIdProblem(purchase.PlayerId) is not null || !DefinitionRules.IsId(purchase.OfferId))
        {
            LogPurchaseIgnored(_logger, received.Event.EventId, received.Event.Type);
            return;
        }

        var key = StoreKeys.Offer(purchase.PlayerId, purchase.OfferId);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var record = entry is null ? new OfferPurchases() : OfferPurchases.Parser.ParseFrom(entry.Value.Span);
            var next = record.Clone();
            if (refunded)
            {
                next.PurchaseIds.Remove(purchase.PurchaseId);
                if (!next.RefundedPurchaseIds.Contains(purchase.PurchaseId))
                {
                    next.RefundedPurchaseIds.Add(purchase.PurchaseId);
                }
            }
            else if (!next.PurchaseIds.Contains(purchase.PurchaseId) && !next.RefundedPurchaseIds.Contains(purchase.PurchaseId))
            {
                next.PurchaseIds.Add(purchase.PurchaseId);
            }

            if (next.Equals(record))
            {
                return;
            }

            var result = await _store.SetAsync(key, next.ToByteArray(), expectedVersion: entry?.Version ?? 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogPurchaseRecorded(_logger, purchase.PlayerId, purchase.OfferId, purchase.PurchaseId, refunded);
                return;
            }
        }

        throw Errors.Contended($"Player '{purchase.PlayerId}''s purchases of offer '{purchase.OfferId}'");
    }

    [LoggerMessage(EventId = 2702, Level = LogLevel.Information, Message = "Player {PlayerId}: purchase {PurchaseId} of offer {OfferId} recorded for quest unlocks (refunded: {Refunded})")]
    private static partial void LogPurchaseRecorded(ILogger logger, string playerId, string offerId, string purchaseId, bool refunded);

    [LoggerMessage(EventId = 2704, Level = LogLevel.Debug, Message = "Player {PlayerId}: world event {EventId} progressed {Count} quests ({Kind} {Target})")]
    private static partial void LogWorldProgress(ILogger logger, string playerId, string eventId, ObjectiveKind kind, string target, int count);

    [LoggerMessage(EventId = 2703, Level = LogLevel.Warning, Message = "Event {EventId} ({Type}) names no valid player or offer; ignored")]
    private static partial void LogPurchaseIgnored(ILogger logger, string eventId, string type);
}
