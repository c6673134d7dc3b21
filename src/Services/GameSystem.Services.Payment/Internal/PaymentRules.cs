using System.Text.RegularExpressions;
using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.Payment.Internal;

/// <summary>What a valid request looks like: every check names the field and the rule it breaks.</summary>
internal static partial class PaymentRules
{
    public const int MaxPlayerIdLength = 128;
    public const int MaxIdempotencyKeyLength = 256;
    public const int MaxReferenceLength = 256;
    public const int MaxOfferIdLength = 64;
    public const int MaxIdLength = 64;
    public const int MaxItemIdLength = 128;
    public const int MaxDisplayNameLength = 100;
    public const int MaxDescriptionLength = 2000;
    public const int MaxItems = 50;
    public const int MaxItemQuantity = 10_000;
    public const int MaxQuantity = 100;
    public const int MaxPerPlayerLimit = 1_000_000;
    public const long MaxAmount = 1_000_000_000;

    /// <summary>The two currencies, in the order wallets show them.</summary>
    public static readonly Currency[] Currencies = [Currency.Soft, Currency.Premium];

    public static void PlayerId(string playerId, string field = "player_id")
    {
        Errors.Require(playerId.Length > 0, field, "is required: the account id of the player whose wallet this is (auth's account_id, e.g. 'acc-…').");
        Errors.Require(
            playerId.Length <= MaxPlayerIdLength && PlayerIdPattern().IsMatch(playerId),
            field,
            $"'{Shorten(playerId)}' ({playerId.Length} characters) is not a player id: 1-{MaxPlayerIdLength} letters, digits and '-', '_', '.', ':', '@', starting with a letter or digit.");
    }

    public static void IdempotencyKey(string key, string field = "idempotency_key")
    {
        Errors.Require(key.Length > 0, field, "is required: a key unique per player for this change (a UUID per purchase attempt, or a deterministic key such as 'quest:{player_id}:{quest_id}:{attempt}'); repeats with the same key never move money twice.");
        Errors.Require(key.Length <= MaxIdempotencyKeyLength, field, $"is {key.Length} characters; at most {MaxIdempotencyKeyLength}.");
        Errors.Require(!key.Any(char.IsControl), field, "contains a control character; use printable text.");
    }

    public static void Reference(string reference, string field = "reference")
    {
        Errors.Require(reference.Length <= MaxReferenceLength, field, $"is {reference.Length} characters; at most {MaxReferenceLength}.");
        Errors.Require(!reference.Any(char.IsControl), field, "contains a control character; use printable text.");
    }

    /// <summary>A currency of the game: soft or premium.</summary>
    public static void KnownCurrency(Currency currency, string field)
    {
        Errors.Require(currency != Currency.Unspecified, field, "is required: CURRENCY_SOFT or CURRENCY_PREMIUM.");
        Errors.Require(System.Enum.IsDefined(currency), field, $"{(int)currency} is not a currency of the game; use CURRENCY_SOFT or CURRENCY_PREMIUM.");
    }

    /// <summary>A positive amount of a known currency, at most <see cref="MaxAmount"/>.</summary>
    public static void Amount(CurrencyAmount? amount, string field)
    {
        Errors.Require(amount is not null, field, "is required: a currency and an amount of 1 to 1,000,000,000.");
        KnownCurrency(amount!.Currency, field + ".currency");
        Errors.Require(amount.Amount > 0, field + ".amount", amount.Amount < 0
            ? $"is {amount.Amount}: amounts are never negative (Debit removes currency); use 1 to {MaxAmount:N0}."
            : $"is 0; use 1 to {MaxAmount:N0}.");
        Errors.Require(amount.Amount <= MaxAmount, field + ".amount", $"is {amount.Amount:N0}; at most {MaxAmount:N0} per call.");
    }

    public static void Reason(BalanceChangeReason reason, string field = "reason")
    {
        Errors.Require(reason != BalanceChangeReason.Unspecified, field, "is required: why the balance changes (BALANCE_CHANGE_REASON_REWARD, _STORE_TOP_UP, _ADMIN_ADJUSTMENT, _SERVICE_FEE or _COMPENSATION).");
        Errors.Require(System.Enum.IsDefined(reason), field, $"{(int)reason} is not a BalanceChangeReason.");
    }

    public static void OfferId(string offerId, string field = "offer_id")
    {
        Errors.Require(offerId.Length > 0, field, "is required: the offer's id, lower-kebab-case such as 'gem-pack-small'.");
        Errors.Require(
            offerId.Length <= MaxOfferIdLength && OfferIdPattern().IsMatch(offerId),
            field,
            $"'{Shorten(offerId)}' ({offerId.Length} characters) is not an offer id: 1-{MaxOfferIdLength} lower-case letters and digits in words joined by '-', such as 'gem-pack-small'.");
    }

    /// <summary>A server-assigned id (<c>pur-…</c>, <c>txn-…</c>).</summary>
    public static void ServerId(string id, string field, string prefix, string what)
    {
        Errors.Require(id.Length > 0, field, $"is required: the {what}'s id ('{prefix}…') as payment returned it.");
        Errors.Require(id.Length <= MaxIdLength && id.StartsWith(prefix, StringComparison.Ordinal) && IdPattern().IsMatch(id), field, $"'{Shorten(id)}' ({id.Length} characters) is not a {what} id: '{prefix}' then lower-case hex, as payment returns it.");
    }

    /// <summary>A page size within 1-<paramref name="max"/>, 0 selecting <paramref name="defaultSize"/>.</summary>
    public static int PageSize(int requested, int defaultSize, int max, string field = "page_size")
    {
        Errors.Require(requested >= 0 && requested <= max, field, $"must be 1-{max} (0 selects {defaultSize}); got {requested}.");
        return requested == 0 ? defaultSize : requested;
    }

    /// <summary>Checks an offer as PutOffer receives it.</summary>
    public static void Offer(Offer? offer)
    {
        Errors.Require(offer is not null, "offer", "is required: the offer to create or replace.");
        OfferId(offer!.OfferId, "offer.offer_id");
        Errors.Require(offer.DisplayName.Length <= MaxDisplayNameLength, "offer.display_name", $"is {offer.DisplayName.Length} characters; at most {MaxDisplayNameLength}.");
        Errors.Require(offer.Description.Length <= MaxDescriptionLength, "offer.description", $"is {offer.Description.Length} characters; at most {MaxDescriptionLength}.");
        Amount(offer.Price, "offer.price");
        Errors.Require(offer.Items.Count <= MaxItems, "offer.items", $"holds {offer.Items.Count} stacks; at most {MaxItems}.");
        var itemIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < offer.Items.Count; i++)
        {
            var item = offer.Items[i];
            var field = $"offer.items[{i}]";
            Errors.Require(item.ItemId.Length is > 0 and <= MaxItemIdLength && ItemIdPattern().IsMatch(item.ItemId), field + ".item_id", $"'{Shorten(item.ItemId)}' is not an item id: 1-{MaxItemIdLength} lower-case letters, digits, '.', '_' and '-', such as 'item.potion.minor-healing'.");
            Errors.Require(itemIds.Add(item.ItemId), field + ".item_id", $"'{item.ItemId}' is already listed; give each item once with its total quantity.");
            Errors.Require(item.Quantity is > 0 and <= MaxItemQuantity, field + ".quantity", $"is {item.Quantity}; use 1 to {MaxItemQuantity}.");
        }

        var granted = new HashSet<Currency>();
        for (var i = 0; i < offer.CurrencyGrants.Count; i++)
        {
            var field = $"offer.currency_grants[{i}]";
            Amount(offer.CurrencyGrants[i], field);
            Errors.Require(offer.CurrencyGrants[i].Currency != offer.Price.Currency, field + ".currency", $"is the price's currency ({offer.Price.Currency}); an offer grants another currency than it costs.");
            Errors.Require(granted.Add(offer.CurrencyGrants[i].Currency), field + ".currency", $"{offer.CurrencyGrants[i].Currency} is already granted; give each currency once.");
        }

        Errors.Require(offer.Items.Count > 0 || offer.CurrencyGrants.Count > 0, "offer.items", "is empty and so is currency_grants: an offer delivers items, currency or both.");
        Errors.Require(offer.MaxPerPlayer is >= 0 and <= MaxPerPlayerLimit, "offer.max_per_player", $"is {offer.MaxPerPlayer}; use 0 (unlimited) to {MaxPerPlayerLimit:N0}.");
        Time(offer.StartTime, "offer.start_time");
        Time(offer.EndTime, "offer.end_time");
        Errors.Require(offer.StartTime is null || offer.EndTime is null || offer.StartTime < offer.EndTime, "offer.end_time", $"{offer.EndTime} is not after start_time {offer.StartTime}; the offer would never be purchasable.");
    }

    public static void Time(Timestamp? time, string field)
    {
        if (time is null)
        {
            return;
        }

        Errors.Require(time.Nanos is >= 0 and < 1_000_000_000 && time.Seconds is >= -62135596800 and <= 253402300799, field, "is not a valid timestamp (0001-01-01 to 9999-12-31 UTC).");
    }

    /// <summary>Why <paramref name="offer"/> cannot be bought at <paramref name="now"/>; null when it can.</summary>
    public static string? Unavailable(Offer offer, Timestamp now) =>
        !offer.Active ? "is not active"
        : offer.StartTime is not null && now < offer.StartTime ? $"is not on sale before {offer.StartTime}"
        : offer.EndTime is not null && now >= offer.EndTime ? $"was on sale until {offer.EndTime}"
        : null;

    public static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlayerIdPattern();

    [GeneratedRegex(@"^[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex OfferIdPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ItemIdPattern();

    [GeneratedRegex(@"^[a-z]+-[0-9a-f]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
