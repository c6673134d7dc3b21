using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>Purchases, delivery and refunds.</summary>
public abstract partial class PaymentContract
{
    private CreatePurchaseRequest Buy(string player, Offer offer, int quantity = 1, string? key = null) =>
        new() { PlayerId = player, OfferId = offer.OfferId, Quantity = quantity, ExpectedPrice = offer.Price, IdempotencyKey = key ?? NewKey() };

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_ChargesThePrice_GrantsTheCurrency_InOneBalancedTransaction()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var bundle = await PutAsync(payment, GoldBundleOffer(gems: 80, gold: 1_200));
        await CreditAsync(payment, player, Premium(500));

        var bought = await payment.Client.CreatePurchaseAsync(Buy(player, bundle, quantity: 3), cancellationToken: Timeout);

        var purchase = bought.Purchase;
        Assert.False(bought.Replayed);
        Assert.Equal((3_600L, 260L), Balances(bought.Wallet));
        Assert.Equal((player, bundle.OfferId, 3, PurchaseState.Completed, FulfillmentState.NotRequired), (purchase.PlayerId, purchase.OfferId, purchase.Quantity, purchase.State, purchase.FulfillmentState));
        Assert.Equal(Premium(240), purchase.TotalPrice);
        Assert.Equal([Soft(3_600)], purchase.CurrencyGrants);
        Assert.StartsWith("pur-", purchase.PurchaseId, StringComparison.Ordinal);
        var transaction = (await payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = purchase.TransactionId }, cancellationToken: Timeout)).Transaction;
        Assert.Equal((TransactionType.Purchase, purchase.PurchaseId), (transaction.Type, transaction.Reference));
        Assert.Equal(
            [
                ($"wallets/{player}/premium", EntryDirection.Debit, 240L),
                ("system/revenue/premium", EntryDirection.Credit, 240L),
                ("system/issuance/soft", EntryDirection.Debit, 3_600L),
                ($"wallets/{player}/soft", EntryDirection.Credit, 3_600L),
            ],
            transaction.Entries.Select(e => (e.Account, e.Direction, e.Amount)));
        Assert.Equal(purchase, (await payment.Client.GetPurchaseAsync(new GetPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId }, cancellationToken: Timeout)).Purchase);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_OfItems_IsPendingDelivery_AndMarkPurchaseFulfilledDeliversItOnce()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 300));
        await CreditAsync(payment, player, Soft(300));

        var purchase = (await payment.Client.CreatePurchaseAsync(Buy(player, weapon), cancellationToken: Timeout)).Purchase;
        Assert.Equal(FulfillmentState.Pending, purchase.FulfillmentState);
        Assert.Equal(weapon.Items, purchase.Items);

        var reference = "inventory-change-" + Faker.Random.AlphaNumeric(8);
        var fulfilled = (await payment.Client.MarkPurchaseFulfilledAsync(new MarkPurchaseFulfilledRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, FulfillmentReference = reference }, cancellationToken: Timeout)).Purchase;
        var again = (await payment.Client.MarkPurchaseFulfilledAsync(new MarkPurchaseFulfilledRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, FulfillmentReference = "another" }, cancellationToken: Timeout)).Purchase;

        Assert.Equal((FulfillmentState.Fulfilled, reference), (fulfilled.FulfillmentState, fulfilled.FulfillmentReference));
        Assert.NotNull(fulfilled.FulfillTime);
        Assert.Equal(fulfilled, again);
        await FailsAsync(StatusCode.NotFound, () => payment.Client.MarkPurchaseFulfilledAsync(new MarkPurchaseFulfilledRequest { PlayerId = player, PurchaseId = "pur-0123abcd" }, cancellationToken: Timeout).AsTask(), "pur-0123abcd");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_WhenFundsAreShort_FailsPrecondition_AndChargesNothing()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 500));
        await CreditAsync(payment, player, Soft(499));
        var request = Buy(player, weapon);

        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(request, cancellationToken: Timeout).AsTask(), "has 499 soft", "nothing was charged");

        var wallet = await WalletAsync(payment.Client, player);
        Assert.Equal(((499L, 0L), 1L), (Balances(wallet), wallet.Version));
        Assert.Empty((await payment.Client.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = player }, cancellationToken: Timeout)).Purchases);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_WhenThePriceChanged_FailsPrecondition_SoNoPlayerPaysAPriceTheyDidNotSee()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var shown = await PutAsync(payment, WeaponOffer(price: 200));
        var raised = shown.Clone();
        raised.Price = Soft(260);
        await PutAsync(payment, raised, expectedVersion: 1);
        await CreditAsync(payment, player, Soft(1_000));

        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(Buy(player, shown), cancellationToken: Timeout).AsTask(), "costs 260 soft", "expected_price 200 soft");

        Assert.Equal((1_000L, 0L), Balances(await WalletAsync(payment.Client, player)));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_OfAnOfferNotOnSale_FailsPrecondition_AndOfAnUnknownOne_NotFound()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        await CreditAsync(payment, player, Soft(1_000));
        var inactive = WeaponOffer();
        inactive.Active = false;
        var ended = WeaponOffer();
        ended.EndTime = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(-5));
        var future = WeaponOffer();
        future.StartTime = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(3));
        foreach (var offer in new[] { inactive, ended, future })
        {
            await PutAsync(payment, offer);
        }

        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(Buy(player, inactive), cancellationToken: Timeout).AsTask(), "is not active");
        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(Buy(player, ended), cancellationToken: Timeout).AsTask(), "was on sale until");
        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(Buy(player, future), cancellationToken: Timeout).AsTask(), "is not on sale before");
        await FailsAsync(StatusCode.NotFound, () => payment.Client.CreatePurchaseAsync(new CreatePurchaseRequest { PlayerId = player, OfferId = "phoenix-feather", IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "'phoenix-feather'");
        Assert.Equal((1_000L, 0L), Balances(await WalletAsync(payment.Client, player)));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_BeyondMaxPerPlayer_FailsPrecondition_CountingEveryUnitEverBought()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var starter = PotionPackOffer(price: 10);
        starter.MaxPerPlayer = 3;
        starter = await PutAsync(payment, starter);
        await CreditAsync(payment, player, Soft(1_000));

        var first = await payment.Client.CreatePurchaseAsync(Buy(player, starter, quantity: 2), cancellationToken: Timeout);
        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(Buy(player, starter, quantity: 2), cancellationToken: Timeout).AsTask(), "at most 3 units", "bought 2");
        await payment.Client.CreatePurchaseAsync(Buy(player, starter, quantity: 1), cancellationToken: Timeout);
        await payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = first.Purchase.PurchaseId, Reason = "support ticket 4711", IdempotencyKey = NewKey() }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.CreatePurchaseAsync(Buy(player, starter), cancellationToken: Timeout).AsTask(), "bought 3");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreatePurchase_RepeatedWithTheSameKey_ChargesOnce_AndWithOtherParameters_FailsAlreadyExists()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 150));
        var potions = await PutAsync(payment, PotionPackOffer());
        await CreditAsync(payment, player, Soft(1_000));
        var key = NewKey();

        var first = await payment.Client.CreatePurchaseAsync(Buy(player, weapon, key: key), cancellationToken: Timeout);
        var repeat = await payment.Client.CreatePurchaseAsync(Buy(player, weapon, key: key), cancellationToken: Timeout);

        Assert.True(repeat.Replayed);
        Assert.Equal((first.Purchase, first.Wallet), (repeat.Purchase, repeat.Wallet));
        await FailsAsync(StatusCode.AlreadyExists, () => payment.Client.CreatePurchaseAsync(Buy(player, potions, key: key), cancellationToken: Timeout).AsTask(), "other parameters");
        await FailsAsync(StatusCode.AlreadyExists, () => payment.Client.CreatePurchaseAsync(Buy(player, weapon, quantity: 2, key: key), cancellationToken: Timeout).AsTask(), "other parameters");
        Assert.Equal((850L, 0L), Balances(await WalletAsync(payment.Client, player)));
    }

    public static TheoryData<string, string> BadPurchases => new()
    {
        { "empty-player", "player_id" },
        { "empty-offer", "offer_id" },
        { "bad-offer", "offer_id" },
        { "negative-quantity", "quantity" },
        { "too-many", "quantity" },
        { "negative-expected-price", "expected_price.amount" },
        { "unknown-expected-currency", "expected_price.currency" },
        { "empty-key", "idempotency_key" },
        { "too-long-key", "idempotency_key" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(BadPurchases))]
    public async Task CreatePurchase_WithBadInput_FailsInvalidArgument_NamingTheField_AndChargesNothing(string @case, string field)
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 100));
        await CreditAsync(payment, player, Soft(1_000));
        var request = Buy(player, weapon);
        switch (@case)
        {
            case "empty-player": request.PlayerId = ""; break;
            case "empty-offer": request.OfferId = ""; break;
            case "bad-offer": request.OfferId = "Sword of Doom"; break;
            case "negative-quantity": request.Quantity = -1; break;
            case "too-many": request.Quantity = 101; break;
            case "negative-expected-price": request.ExpectedPrice.Amount = -100; break;
            case "unknown-expected-currency": request.ExpectedPrice.Currency = (Currency)5; break;
            case "empty-key": request.IdempotencyKey = ""; break;
            case "too-long-key": request.IdempotencyKey = new string('x', 300); break;
        }

        var error = await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.CreatePurchaseAsync(request, cancellationToken: Timeout).AsTask());

        Assert.Equal(field, Field(error));
        var wallet = await WalletAsync(payment.Client, player);
        Assert.Equal(((1_000L, 0L), 1L), (Balances(wallet), wallet.Version));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListPurchases_IsNewestFirst_PagesAndFilters()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 20));
        var bundle = await PutAsync(payment, GoldBundleOffer(gems: 10, gold: 100));
        await CreditAsync(payment, player, Soft(10_000));
        await CreditAsync(payment, player, Premium(10_000));
        var made = new List<Purchase>();
        for (var i = 0; i < 9; i++)
        {
            made.Add((await payment.Client.CreatePurchaseAsync(Buy(player, i % 3 == 0 ? bundle : weapon), cancellationToken: Timeout)).Purchase);
        }

        var refunded = (await payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = made[4].PurchaseId, Reason = "accidental purchase", IdempotencyKey = NewKey() }, cancellationToken: Timeout)).Purchase;
        made[4] = refunded;

        var listed = new List<Purchase>();
        var request = new ListPurchasesRequest { PlayerId = player, PageSize = 4 };
        do
        {
            var page = await payment.Client.ListPurchasesAsync(request, cancellationToken: Timeout);
            Assert.True(page.Purchases.Count <= 4);
            listed.AddRange(page.Purchases);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(Enumerable.Reverse(made), listed);
        var bundles = (await payment.Client.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = player, OfferId = bundle.OfferId }, cancellationToken: Timeout)).Purchases;
        Assert.Equal(made.Where(p => p.OfferId == bundle.OfferId).Reverse(), bundles);
        Assert.Equal([refunded], (await payment.Client.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = player, State = PurchaseState.Refunded }, cancellationToken: Timeout)).Purchases);
        Assert.Equal(
            made.Where(p => p.FulfillmentState == FulfillmentState.Pending).Reverse(),
            (await payment.Client.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = player, FulfillmentState = FulfillmentState.Pending }, cancellationToken: Timeout)).Purchases);
        Assert.Empty((await payment.Client.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = NewPlayer() }, cancellationToken: Timeout)).Purchases);
        await FailsAsync(StatusCode.NotFound, () => payment.Client.GetPurchaseAsync(new GetPurchaseRequest { PlayerId = NewPlayer(), PurchaseId = made[0].PurchaseId }, cancellationToken: Timeout).AsTask(), made[0].PurchaseId);
        Assert.Equal("purchase_id", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.GetPurchaseAsync(new GetPurchaseRequest { PlayerId = player, PurchaseId = "" }, cancellationToken: Timeout).AsTask())));
    }

    [Fact(Timeout = 30_000)]
    public async Task RefundPurchase_ReturnsThePrice_TakesBackTheGrant_AndRefundsOnce()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var potions = await PutAsync(payment, PotionPackOffer(price: 120));
        await CreditAsync(payment, player, Soft(500));
        var purchase = (await payment.Client.CreatePurchaseAsync(Buy(player, potions, quantity: 2), cancellationToken: Timeout)).Purchase;
        var request = new RefundPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, Reason = "player reported an accidental purchase", IdempotencyKey = NewKey() };

        var refund = await payment.Client.RefundPurchaseAsync(request, cancellationToken: Timeout);
        var repeat = await payment.Client.RefundPurchaseAsync(request, cancellationToken: Timeout);

        Assert.Equal((500L, 0L), Balances(refund.Wallet));
        Assert.Equal((PurchaseState.Refunded, request.Reason), (refund.Purchase.State, refund.Purchase.RefundReason));
        Assert.NotEmpty(refund.Purchase.RefundTransactionId);
        Assert.True(repeat.Replayed);
        Assert.Equal(refund.Purchase, repeat.Purchase);
        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, Reason = "again", IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "already refunded");
        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.MarkPurchaseFulfilledAsync(new MarkPurchaseFulfilledRequest { PlayerId = player, PurchaseId = purchase.PurchaseId }, cancellationToken: Timeout).AsTask(), "refunded");
        var reversal = (await payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = refund.Purchase.RefundTransactionId }, cancellationToken: Timeout)).Transaction;
        Assert.Equal(
            [
                ("system/revenue/soft", EntryDirection.Debit, 240L),
                ($"wallets/{player}/soft", EntryDirection.Credit, 240L),
                ($"wallets/{player}/premium", EntryDirection.Debit, 10L),
                ("system/issuance/premium", EntryDirection.Credit, 10L),
            ],
            reversal.Entries.Select(e => (e.Account, e.Direction, e.Amount)));
        Assert.Equal(TransactionType.Refund, reversal.Type);
        var original = (await payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = purchase.TransactionId }, cancellationToken: Timeout)).Transaction;
        Assert.Equal((TransactionType.Purchase, purchase.PurchaseId, 4), (original.Type, original.Reference, original.Entries.Count));
    }

    [Fact(Timeout = 30_000)]
    public async Task RefundPurchase_WhenTheGrantedCurrencyWasSpent_FailsPrecondition_AndRefundsNothing()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var bundle = await PutAsync(payment, GoldBundleOffer(gems: 50, gold: 800));
        await CreditAsync(payment, player, Premium(50));
        var purchase = (await payment.Client.CreatePurchaseAsync(Buy(player, bundle), cancellationToken: Timeout)).Purchase;
        await payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = Soft(500), Reason = BalanceChangeReason.ServiceFee, Reference = "fast-travel:riverwood", IdempotencyKey = NewKey() }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, Reason = "chargeback", IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "800 soft", "has 300 left", "nothing was refunded");

        Assert.Equal((300L, 0L), Balances(await WalletAsync(payment.Client, player)));
        Assert.Equal(PurchaseState.Completed, (await payment.Client.GetPurchaseAsync(new GetPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId }, cancellationToken: Timeout)).Purchase.State);
        Assert.Equal("reason", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask())));
        await FailsAsync(StatusCode.NotFound, () => payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = "pur-00ff", Reason = "x", IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "pur-00ff");
    }
}
