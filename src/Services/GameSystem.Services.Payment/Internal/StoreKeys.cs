using System.Security.Cryptography;
using System.Text;
using GameSystem.State;

namespace GameSystem.Services.Payment.Internal;

/// <summary>
/// Where payment keeps its state (the part in braces: what changes together in one
/// transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{player:&lt;id&gt;}</c>: everything one player's money touches: the wallet, every
/// ledger transaction of the player (its entries, including the balancing entries on system
/// accounts), the index of those entries by ledger sequence, the purchases and their index,
/// the units bought per offer, the idempotency keys and the outbox of the player's events. A
/// credit, debit, purchase or refund is one transaction of this partition, so balances and
/// ledger never disagree, and players spread over the shards.
/// </para>
/// <para>
/// <c>{offers}</c>: the catalog and its index by offer id; operators write it rarely.
/// <c>{txn:&lt;id&gt;}</c>: which player a ledger transaction belongs to, written before the
/// transaction (a lookup without a transaction behind it reads as NOT_FOUND).
/// <c>{players}</c>: the index of players who have a ledger, a superset added before a
/// wallet's first transaction, which whole-ledger reads and audits walk. <c>{ledger}</c>: the
/// counter handing out ledger sequences.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    private const string Service = "payment/";
    private const string Offers = Service + "{offers}/";

    /// <summary>Index of every offer id.</summary>
    public const string OfferIds = Offers + "ids";

    /// <summary>Index of every player with a ledger.</summary>
    public const string Players = Service + "{players}/all";

    /// <summary>The counter of ledger sequences (the last one handed out).</summary>
    public const string Sequence = Service + "{ledger}/sequence";

    public static string Offer(string offerId) => Offers + "offer/" + offerId;

    public static string Wallet(string playerId) => PlayerPrefix(playerId) + "wallet";

    public static string Transaction(string playerId, string transactionId) => PlayerPrefix(playerId) + "txn/" + transactionId;

    /// <summary>Index of the partition's ledger entries: <see cref="EntryMember"/>.</summary>
    public static string Entries(string playerId) => PlayerPrefix(playerId) + "entries";

    public static string EntryMember(long sequence, string transactionId) => StateIndex.SortableNumber(sequence) + "/" + transactionId;

    public static (long Sequence, string TransactionId) ParseEntryMember(string member) =>
        (StateIndex.ParseSortableNumber(member.AsSpan(0, 20)), member[21..]);

    public static string Purchase(string playerId, string purchaseId) => PlayerPrefix(playerId) + "purchase/" + purchaseId;

    /// <summary>Index of a player's purchases in the order they were made: <see cref="PurchaseMember"/>.</summary>
    public static string Purchases(string playerId) => PlayerPrefix(playerId) + "purchases";

    public static string PurchaseMember(long sequence, string purchaseId) => StateIndex.SortableNumber(sequence) + "/" + purchaseId;

    public static string PurchaseIdOf(string member) => member[21..];

    public static string OfferUnits(string playerId, string offerId) => PlayerPrefix(playerId) + "offer-units/" + offerId;

    // A key is client text of any alphabet up to 256 characters; its hash is always a valid key.
    public static string IdempotencyKey(string playerId, string key) => PlayerPrefix(playerId) + "key/" + Hash(key);

    public static string TransactionOwner(string transactionId) => Service + "{txn:" + transactionId + "}/owner";

    /// <summary>
    /// The id of the ledger transaction a player's idempotency key writes: the same key always
    /// names the same transaction, so racing repeats agree on it and its owner lookup.
    /// </summary>
    public static string TransactionId(string playerId, string key) => "txn-" + IdPart(playerId, key);

    /// <summary>The id of the purchase a player's idempotency key makes.</summary>
    public static string PurchaseId(string playerId, string key) => "pur-" + IdPart(playerId, key);

    public static string WalletAccount(string playerId, GameSystem.Common.V1.Currency currency) => "wallets/" + playerId + "/" + CurrencyName(currency);

    public static string IssuanceAccount(GameSystem.Common.V1.Currency currency) => "system/issuance/" + CurrencyName(currency);

    public static string RevenueAccount(GameSystem.Common.V1.Currency currency) => "system/revenue/" + CurrencyName(currency);

    public static string CurrencyName(GameSystem.Common.V1.Currency currency) => currency switch
    {
        GameSystem.Common.V1.Currency.Soft => "soft",
        GameSystem.Common.V1.Currency.Premium => "premium",
        _ => throw new ArgumentOutOfRangeException(nameof(currency), currency, "Only soft and premium have accounts."),
    };

    private static string PlayerPrefix(string playerId) => Service + "{player:" + playerId + "}/";

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string IdPart(string playerId, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(playerId + "\n" + key)).AsSpan(0, 16));
}
