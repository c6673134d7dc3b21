using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using Google.Protobuf;

namespace GameSystem.Services.Payment.Internal;

/// <summary>
/// The contract's events, as published through the outbox (subject <c>players/{id}</c>). The
/// outbox gives each a UUIDv7 id when it is recorded, so a redelivery carries the same id and
/// event-bus keeps one.
/// </summary>
internal static class PaymentEvents
{
    public const string WalletChangedType = "payment.wallet.changed";
    public const string PurchaseCompletedType = "payment.purchase.completed";
    public const string PurchaseRefundedType = "payment.purchase.refunded";

    public static DomainEvent WalletChanged(Wallet wallet, LedgerTransaction transaction)
    {
        var payload = new WalletChanged
        {
            PlayerId = wallet.PlayerId,
            TransactionId = transaction.TransactionId,
            TransactionType = transaction.Type,
            WalletVersion = wallet.Version,
        };
        payload.Balances.AddRange(wallet.Balances);
        return Event(WalletChangedType, wallet.PlayerId, transaction, payload);
    }

    public static DomainEvent PurchaseCompleted(Purchase purchase, LedgerTransaction transaction) =>
        Event(PurchaseCompletedType, purchase.PlayerId, transaction, new PurchaseCompleted { Purchase = purchase });

    public static DomainEvent PurchaseRefunded(Purchase purchase, LedgerTransaction transaction) =>
        Event(PurchaseRefundedType, purchase.PlayerId, transaction, new PurchaseRefunded { Purchase = purchase });

    private static DomainEvent Event(string type, string playerId, LedgerTransaction transaction, IMessage payload) => new()
    {
        Type = type,
        Subject = "players/" + playerId,
        OccurredAt = transaction.CreateTime,
        Payload = payload.ToByteString(),
        PayloadType = payload.Descriptor.FullName,
    };
}
