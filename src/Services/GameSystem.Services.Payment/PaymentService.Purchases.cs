using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.Payment;

/// <summary>Purchases and refunds, each one transaction of the buyer's partition with its ledger transaction.</summary>
public sealed partial class PaymentService
{
    /// <inheritdoc/>
    public async ValueTask<CreatePurchaseResponse> CreatePurchaseAsync(CreatePurchaseRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        PaymentRules.OfferId(request.OfferId);
        Errors.Require(request.Quantity is >= 0 and <= PaymentRules.MaxQuantity, "quantity", $"is {request.Quantity}; buy 1 to {PaymentRules.MaxQuantity} units (0 means 1).");
        if (request.ExpectedPrice is not null)
        {
            PaymentRules.Amount(request.ExpectedPrice, "expected_price");
        }

        PaymentRules.IdempotencyKey(request.IdempotencyKey);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: true, "CreatePurchase");
        var normalized = request.Clone();
        normalized.Quantity = Math.Max(1, request.Quantity);
        var quantity = normalized.Quantity;
        var playerId = request.PlayerId;
        var write = new MoneyWrite<CreatePurchaseResponse>(
            "CreatePurchase",
            playerId,
            request.IdempotencyKey,
            normalized,
            [StoreKeys.Offer(request.OfferId), StoreKeys.OfferUnits(playerId, request.OfferId)],
            CreatePurchaseResponse.Parser,
            r => r.Replayed = true,
            (wallet, read, now) =>
            {
                var offer = read[0] is { } storedOffer ? Offer.Parser.ParseFrom(storedOffer.Value.Span) : throw NoOffer(request.OfferId);
                if (PaymentRules.Unavailable(offer, now) is { } why)
                {
                    throw Errors.FailedPrecondition($"Offer '{offer.OfferId}' {why}; nothing was charged. ListOffers shows what is on sale.");
                }

                if (request.ExpectedPrice is { } expected && !expected.Equals(offer.Price))
                {
                    throw Errors.FailedPrecondition($"Offer '{offer.OfferId}' costs {Describe(offer.Price)} per unit, not the expected_price {Describe(expected)}; nothing was charged. Show the player the current price and buy again with a new key.");
                }

                var units = read[1] is { } storedUnits ? OfferUnits.Parser.ParseFrom(storedUnits.Value.Span).Units : 0;
                if (offer.MaxPerPlayer > 0 && units + quantity > offer.MaxPerPlayer)
                {
                    throw Errors.FailedPrecondition($"Offer '{offer.OfferId}' sells at most {offer.MaxPerPlayer} units per player; player '{playerId}' bought {units}, so {quantity} more are over the limit. Nothing was charged.");
                }

                var total = new CurrencyAmount { Currency = offer.Price.Currency, Amount = offer.Price.Amount * quantity };
                var balance = LedgerDraft.Balance(wallet, total.Currency);
                if (balance < total.Amount)
                {
                    throw Errors.FailedPrecondition($"Player '{playerId}' has {balance:N0} {StoreKeys.CurrencyName(total.Currency)}, less than the {total.Amount:N0} that {quantity} x '{offer.OfferId}' costs; nothing was charged.");
                }

                var purchaseId = StoreKeys.PurchaseId(playerId, request.IdempotencyKey);
                var draft = new LedgerDraft(playerId, TransactionType.Purchase) { Reference = purchaseId }
                    .OutOfWallet(total.Currency, total.Amount, StoreKeys.RevenueAccount(total.Currency));
                var grants = offer.CurrencyGrants.Select(g => new CurrencyAmount { Currency = g.Currency, Amount = g.Amount * quantity }).ToList();
                foreach (var grant in grants)
                {
                    draft.IntoWallet(grant.Currency, grant.Amount, StoreKeys.IssuanceAccount(grant.Currency));
                }

                Purchase? made = null;
                return new MoneyPlan<CreatePurchaseResponse>(
                    draft,
                    (transaction, ledger, after) =>
                    {
                        made = new Purchase
                        {
                            PurchaseId = purchaseId,
                            PlayerId = playerId,
                            OfferId = offer.OfferId,
                            Quantity = quantity,
                            TotalPrice = total,
                            Items = { offer.Items.Select(i => new ItemStack { ItemId = i.ItemId, Quantity = i.Quantity * quantity }) },
                            CurrencyGrants = { grants },
                            State = PurchaseState.Completed,
                            FulfillmentState = offer.Items.Count > 0 ? FulfillmentState.Pending : FulfillmentState.NotRequired,
                            TransactionId = ledger.TransactionId,
                            IdempotencyKey = request.IdempotencyKey,
                            CreateTime = ledger.CreateTime,
                        };
                        transaction
                            .Set(StoreKeys.Purchase(playerId, purchaseId), made.ToByteArray(), expectedVersion: 0)
                            .IndexAdd(StoreKeys.Purchases(playerId), StoreKeys.PurchaseMember(ledger.Entries[0].Sequence, purchaseId))
                            .Set(StoreKeys.OfferUnits(playerId, offer.OfferId), new OfferUnits { Units = units + quantity }.ToByteArray(), expectedVersion: read[1]?.Version ?? 0);
                        return new CreatePurchaseResponse { Purchase = made, Wallet = after };
                    },
                    ledger => [PaymentEvents.PurchaseCompleted(made!, ledger)]);
            });
        return await WriteMoneyAsync(write, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetPurchaseResponse> GetPurchaseAsync(GetPurchaseRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        PaymentRules.ServerId(request.PurchaseId, "purchase_id", "pur-", "purchase");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: false, "GetPurchase");
        var (purchase, _) = await ReadPurchaseAsync(request.PlayerId, request.PurchaseId, context.CancellationToken).ConfigureAwait(false);
        return new GetPurchaseResponse { Purchase = purchase };
    }

    /// <inheritdoc/>
    public async ValueTask<ListPurchasesResponse> ListPurchasesAsync(ListPurchasesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        var pageSize = PaymentRules.PageSize(request.PageSize, defaultSize: 20, max: 100);
        if (request.OfferId.Length > 0)
        {
            PaymentRules.OfferId(request.OfferId);
        }

        Errors.Require(System.Enum.IsDefined(request.State), "state", $"{(int)request.State} is not a PurchaseState.");
        Errors.Require(System.Enum.IsDefined(request.FulfillmentState), "fulfillment_state", $"{(int)request.FulfillmentState} is not a FulfillmentState.");
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, write: false, "ListPurchases");
        var listing = $"purchases|{request.PlayerId}|{request.OfferId}|{(int)request.State}|{(int)request.FulfillmentState}";
        var after = PageCursor.Resume(request.PageToken, listing);
        var response = new ListPurchasesResponse();
        string? pageToken = null;
        var examined = 0;
        var lastExamined = after;
        while (true)
        {
            // Newest first: descending from before the last member of the previous page.
            var page = await _store.QueryIndexAsync(StoreKeys.Purchases(request.PlayerId), new StateIndexQuery { To = after, Descending = true, PageSize = Math.Min(StateKeys.MaxPageSize, pageSize + 1), PageToken = pageToken }, context.CancellationToken).ConfigureAwait(false);
            var members = page.Members;
            var stored = members.Count == 0 ? [] : await _store.GetManyAsync([.. members.Select(m => StoreKeys.Purchase(request.PlayerId, StoreKeys.PurchaseIdOf(m)))], context.CancellationToken).ConfigureAwait(false);
            for (var i = 0; i < members.Count; i++)
            {
                if (response.Purchases.Count == pageSize || examined == _options.ListScanLimit)
                {
                    response.NextPageToken = PageCursor.After(listing, lastExamined!);
                    return response;
                }

                examined++;
                lastExamined = members[i];
                if (stored[i] is { } entry && Purchase.Parser.ParseFrom(entry.Value.Span) is var purchase
                    && (request.OfferId.Length == 0 || purchase.OfferId == request.OfferId)
                    && (request.State == PurchaseState.Unspecified || purchase.State == request.State)
                    && (request.FulfillmentState == FulfillmentState.Unspecified || purchase.FulfillmentState == request.FulfillmentState))
                {
                    response.Purchases.Add(purchase);
                }
            }

            pageToken = page.NextPageToken;
            if (pageToken is null)
            {
                return response;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<MarkPurchaseFulfilledResponse> MarkPurchaseFulfilledAsync(MarkPurchaseFulfilledRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        PaymentRules.ServerId(request.PurchaseId, "purchase_id", "pur-", "purchase");
        PaymentRules.Reference(request.FulfillmentReference, "fulfillment_reference");
        Access.RequireAdmin(context.GetPrincipal(), "MarkPurchaseFulfilled");
        for (var attempt = 0; attempt < _options.MaxWriteAttempts; attempt++)
        {
            var (purchase, version) = await ReadPurchaseAsync(request.PlayerId, request.PurchaseId, context.CancellationToken).ConfigureAwait(false);
            switch (purchase.FulfillmentState)
            {
                case FulfillmentState.Fulfilled:
                case FulfillmentState.NotRequired:
                    return new MarkPurchaseFulfilledResponse { Purchase = purchase }; // delivered already, or nothing to deliver
                case FulfillmentState.Pending when purchase.State == PurchaseState.Refunded:
                    throw Errors.FailedPrecondition($"Purchase '{purchase.PurchaseId}' was refunded ({purchase.RefundReason}); its items must not be delivered.");
            }

            purchase.FulfillmentState = FulfillmentState.Fulfilled;
            purchase.FulfillTime = Now();
            purchase.FulfillmentReference = request.FulfillmentReference;
            var transaction = new StateTransaction().Set(StoreKeys.Purchase(request.PlayerId, request.PurchaseId), purchase.ToByteArray(), expectedVersion: version);
            if ((await _store.ExecuteAsync(transaction, context.CancellationToken).ConfigureAwait(false)).Succeeded)
            {
                return new MarkPurchaseFulfilledResponse { Purchase = purchase };
            }
        }

        throw Errors.Contended($"Purchase '{request.PurchaseId}'", _options.MaxWriteAttempts);
    }

    /// <inheritdoc/>
    public async ValueTask<RefundPurchaseResponse> RefundPurchaseAsync(RefundPurchaseRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        PaymentRules.PlayerId(request.PlayerId);
        PaymentRules.ServerId(request.PurchaseId, "purchase_id", "pur-", "purchase");
        Errors.Require(request.Reason.Length > 0, "reason", "is required: why the purchase is refunded, for the audit trail (e.g. 'accidental purchase, ticket 4711').");
        PaymentRules.Reference(request.Reason, "reason");
        PaymentRules.IdempotencyKey(request.IdempotencyKey);
        Access.RequireAdmin(context.GetPrincipal(), "RefundPurchase");
        var playerId = request.PlayerId;
        var purchaseKey = StoreKeys.Purchase(playerId, request.PurchaseId);
        var write = new MoneyWrite<RefundPurchaseResponse>(
            "RefundPurchase",
            playerId,
            request.IdempotencyKey,
            request,
            [purchaseKey],
            RefundPurchaseResponse.Parser,
            r => r.Replayed = true,
            (wallet, read, _) =>
            {
                var purchase = read[0] is { } stored ? Purchase.Parser.ParseFrom(stored.Value.Span) : throw NoPurchase(playerId, request.PurchaseId);
                if (purchase.State == PurchaseState.Refunded)
                {
                    throw Errors.FailedPrecondition($"Purchase '{purchase.PurchaseId}' was already refunded by transaction {purchase.RefundTransactionId} ({purchase.RefundReason}); a purchase is refunded once.");
                }

                foreach (var grant in purchase.CurrencyGrants)
                {
                    var balance = LedgerDraft.Balance(wallet, grant.Currency);
                    if (balance < grant.Amount)
                    {
                        throw Errors.FailedPrecondition($"Refunding purchase '{purchase.PurchaseId}' takes back the {grant.Amount:N0} {StoreKeys.CurrencyName(grant.Currency)} it granted, but player '{playerId}' has {balance:N0} left; the balance would go negative, so nothing was refunded.");
                    }
                }

                var draft = new LedgerDraft(playerId, TransactionType.Refund) { Reference = purchase.PurchaseId }
                    .IntoWallet(purchase.TotalPrice.Currency, purchase.TotalPrice.Amount, StoreKeys.RevenueAccount(purchase.TotalPrice.Currency));
                foreach (var grant in purchase.CurrencyGrants)
                {
                    draft.OutOfWallet(grant.Currency, grant.Amount, StoreKeys.IssuanceAccount(grant.Currency));
                }

                return new MoneyPlan<RefundPurchaseResponse>(
                    draft,
                    (transaction, ledger, after) =>
                    {
                        purchase.State = PurchaseState.Refunded;
                        purchase.RefundTransactionId = ledger.TransactionId;
                        purchase.RefundTime = ledger.CreateTime;
                        purchase.RefundReason = request.Reason;
                        transaction.Set(purchaseKey, purchase.ToByteArray(), expectedVersion: read[0]!.Version);
                        return new RefundPurchaseResponse { Purchase = purchase, Wallet = after };
                    },
                    ledger => [PaymentEvents.PurchaseRefunded(purchase, ledger)]);
            });
        return await WriteMoneyAsync(write, context.CancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<(Purchase Purchase, long Version)> ReadPurchaseAsync(string playerId, string purchaseId, CancellationToken cancellationToken)
    {
        var stored = await _store.GetAsync(StoreKeys.Purchase(playerId, purchaseId), cancellationToken).ConfigureAwait(false)
            ?? throw NoPurchase(playerId, purchaseId);
        return (Purchase.Parser.ParseFrom(stored.Value.Span), stored.Version);
    }

    private static RpcException NoPurchase(string playerId, string purchaseId) =>
        Errors.NotFound($"Player '{playerId}' has no purchase '{purchaseId}'; ListPurchases shows the player's purchases.");

    private static string Describe(CurrencyAmount amount) => $"{amount.Amount:N0} {(System.Enum.IsDefined(amount.Currency) && amount.Currency != Currency.Unspecified ? StoreKeys.CurrencyName(amount.Currency) : amount.Currency.ToString())}";
}
