using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.Payment.Internal;

/// <summary>
/// The lines of one ledger transaction before it is numbered: every movement is a pair of a
/// debit and a credit of the same amount and currency, so a transaction built here balances
/// per currency by construction, and the wallet it ends with is computed from its own lines.
/// </summary>
internal sealed class LedgerDraft(string playerId, TransactionType type)
{
    private readonly List<Line> _lines = [];

    public string PlayerId => playerId;

    public TransactionType Type => type;

    public BalanceChangeReason Reason { get; init; }

    public string Reference { get; init; } = "";

    /// <summary>Entries the transaction will have.</summary>
    public int EntryCount => _lines.Count;

    /// <summary>Moves <paramref name="amount"/> from the system account <paramref name="system"/> into the player's wallet.</summary>
    public LedgerDraft IntoWallet(Currency currency, long amount, string system)
    {
        _lines.Add(new Line(system, "", currency, EntryDirection.Debit, amount));
        _lines.Add(new Line(StoreKeys.WalletAccount(playerId, currency), playerId, currency, EntryDirection.Credit, amount));
        return this;
    }

    /// <summary>Moves <paramref name="amount"/> out of the player's wallet to the system account <paramref name="system"/>.</summary>
    public LedgerDraft OutOfWallet(Currency currency, long amount, string system)
    {
        _lines.Add(new Line(StoreKeys.WalletAccount(playerId, currency), playerId, currency, EntryDirection.Debit, amount));
        _lines.Add(new Line(system, "", currency, EntryDirection.Credit, amount));
        return this;
    }

    /// <summary>The wallet's balance of <paramref name="currency"/> after the transaction, from <paramref name="before"/>.</summary>
    public long BalanceAfter(WalletRecord before, Currency currency) =>
        Balance(before, currency) + _lines.Where(l => l.PlayerId.Length > 0 && l.Currency == currency).Sum(l => l.Direction == EntryDirection.Credit ? l.Amount : -l.Amount);

    /// <summary>
    /// The transaction, its entries numbered from <paramref name="firstSequence"/>, each wallet
    /// entry with the balance it leaves, and the wallet after it.
    /// </summary>
    public (LedgerTransaction Transaction, WalletRecord Wallet) Finish(string transactionId, string idempotencyKey, long firstSequence, WalletRecord before, Timestamp now)
    {
        var transaction = new LedgerTransaction
        {
            TransactionId = transactionId,
            Type = type,
            Reason = Reason,
            Reference = Reference,
            IdempotencyKey = idempotencyKey,
            CreateTime = now,
        };
        var soft = before.Soft;
        var premium = before.Premium;
        for (var i = 0; i < _lines.Count; i++)
        {
            var line = _lines[i];
            long after = 0;
            if (line.PlayerId.Length > 0)
            {
                var delta = line.Direction == EntryDirection.Credit ? line.Amount : -line.Amount;
                after = line.Currency == Currency.Soft ? soft += delta : premium += delta;
            }

            transaction.Entries.Add(new LedgerEntry
            {
                EntryId = transactionId + "." + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Sequence = firstSequence + i,
                TransactionId = transactionId,
                Account = line.Account,
                PlayerId = line.PlayerId,
                Currency = line.Currency,
                Direction = line.Direction,
                Amount = line.Amount,
                BalanceAfter = after,
                TransactionType = type,
                Reference = Reference,
                CreateTime = now,
            });
        }

        var wallet = new WalletRecord { Soft = soft, Premium = premium, Version = before.Version + 1, UpdateTime = now };
        return (transaction, wallet);
    }

    public static long Balance(WalletRecord wallet, Currency currency) => currency == Currency.Soft ? wallet.Soft : wallet.Premium;

    private sealed record Line(string Account, string PlayerId, Currency Currency, EntryDirection Direction, long Amount);
}
