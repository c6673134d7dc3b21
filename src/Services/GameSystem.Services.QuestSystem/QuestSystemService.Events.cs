using GameSystem.Events;
using GameSystem.Payment.V1;
using GameSystem.Services.QuestSystem.Internal;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.QuestSystem;

public sealed partial class QuestSystemService
{
    private const string PurchaseCompletedType = "payment.purchase.completed";
    private const string PurchaseRefundedType = "payment.purchase.refunded";

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

    [LoggerMessage(EventId = 2703, Level = LogLevel.Warning, Message = "Event {EventId} ({Type}) names no valid player or offer; ignored")]
    private static partial void LogPurchaseIgnored(ILogger logger, string eventId, string type);
}
