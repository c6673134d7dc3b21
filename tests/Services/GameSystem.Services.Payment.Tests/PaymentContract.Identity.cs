using GameSystem.Payment.V1;
using GameSystem.Services.Testing;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>Who may call what, behind the runtime's identity interceptor, with tokens the real auth issued.</summary>
public abstract partial class PaymentContract
{
    private static readonly string[] AdminMethods = ["AuditLedger", "Credit", "Debit", "GetLedgerTransaction", "MarkPurchaseFulfilled", "PutOffer", "RefundPurchase"];

    [Fact(Timeout = 30_000)]
    public void TheContract_DeclaresWhoMayCallEachMethod()
    {
        var access = ContractAccess.Of(typeof(IPaymentService));

        Assert.Equal(14, access.Count);
        Assert.All(AdminMethods, m => Assert.Equal("authenticated payment.admin", access[m]));
        Assert.All(access.Keys.Except(AdminMethods), m => Assert.Equal("authenticated", access[m]));
    }

    [Fact(Timeout = 60_000)]
    public async Task APlayer_ReadsAndBuysOnlyForItself_AndAnAdminOrReaderReadsAnyPlayer()
    {
        await using var payment = await StartAsync();
        var (aria, bram) = (await payment.Identity.PlayerAsync(Timeout), await payment.Identity.PlayerAsync(Timeout));
        var weapon = await PutAsync(payment, WeaponOffer(price: 60));
        await CreditAsync(payment, aria.Subject, Soft(100));
        await CreditAsync(payment, bram.Subject, Soft(100));
        var asAria = payment.ClientAs(aria);

        // Her own wallet, purchase and ledger: yes.
        var bought = await asAria.CreatePurchaseAsync(Buy(aria.Subject, weapon), cancellationToken: Timeout);
        Assert.Equal((40L, 0L), Balances(await WalletAsync(asAria, aria.Subject)));
        Assert.Equal(bought.Purchase, (await asAria.GetPurchaseAsync(new GetPurchaseRequest { PlayerId = aria.Subject, PurchaseId = bought.Purchase.PurchaseId }, cancellationToken: Timeout)).Purchase);
        Assert.Single((await asAria.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = aria.Subject }, cancellationToken: Timeout)).Purchases);
        Assert.Equal(2, (await EntriesAsync(asAria, new ListLedgerEntriesRequest { PlayerId = aria.Subject })).Count);
        Assert.Single((await asAria.ListOffersAsync(new ListOffersRequest(), cancellationToken: Timeout)).Offers);

        // Bram's: no, naming the caller and the scope that would allow it.
        await FailsAsync(StatusCode.PermissionDenied, () => WalletAsync(asAria, bram.Subject), aria.Subject, bram.Subject, "'payment.read'");
        await FailsAsync(StatusCode.PermissionDenied, () => asAria.CreatePurchaseAsync(Buy(bram.Subject, weapon), cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => asAria.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = bram.Subject }, cancellationToken: Timeout).AsTask(), bram.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => asAria.GetPurchaseAsync(new GetPurchaseRequest { PlayerId = bram.Subject, PurchaseId = bought.Purchase.PurchaseId }, cancellationToken: Timeout).AsTask(), bram.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => asAria.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PlayerId = bram.Subject }, cancellationToken: Timeout).AsTask(), bram.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => asAria.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { Account = $"wallets/{bram.Subject}/soft" }, cancellationToken: Timeout).AsTask(), bram.Subject);
        await FailsAsync(StatusCode.PermissionDenied, () => asAria.ListLedgerEntriesAsync(new ListLedgerEntriesRequest(), cancellationToken: Timeout).AsTask(), "whole ledger");
        Assert.Equal((100L, 0L), Balances(await WalletAsync(payment.Client, bram.Subject)));

        // An admin reads any player; so does a support reader, who may not buy for them.
        var reader = payment.ClientAs(await payment.Identity.OperatorAsync("payment.read", Timeout));
        Assert.Equal((40L, 0L), Balances(await WalletAsync(payment.Client, aria.Subject)));
        Assert.Equal((40L, 0L), Balances(await WalletAsync(reader, aria.Subject)));
        Assert.Single((await reader.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = aria.Subject }, cancellationToken: Timeout)).Purchases);
        await FailsAsync(StatusCode.PermissionDenied, () => reader.CreatePurchaseAsync(Buy(aria.Subject, weapon), cancellationToken: Timeout).AsTask(), "'payment.admin'");
    }

    [Fact(Timeout = 60_000)]
    public async Task TheInternalMethods_WithAPlayersToken_ArePermissionDenied_NamingTheScope()
    {
        await using var payment = await StartAsync();
        var player = await payment.Identity.PlayerAsync(Timeout);
        var client = payment.ClientAs(player);
        var me = player.Subject;

        await FailsAsync(StatusCode.PermissionDenied, () => client.CreditAsync(new CreditRequest { PlayerId = me, Amount = Soft(1_000_000), Reason = BalanceChangeReason.Reward, IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.DebitAsync(new DebitRequest { PlayerId = me, Amount = Soft(1), Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.PutOfferAsync(new PutOfferRequest { Offer = WeaponOffer() }, cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = me, PurchaseId = "pur-00", Reason = "please", IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.MarkPurchaseFulfilledAsync(new MarkPurchaseFulfilledRequest { PlayerId = me, PurchaseId = "pur-00" }, cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = "txn-00" }, cancellationToken: Timeout).AsTask(), "'payment.admin'");
        await FailsAsync(StatusCode.PermissionDenied, () => client.AuditLedgerAsync(new AuditLedgerRequest(), cancellationToken: Timeout).AsTask(), "'payment.admin'");
        Assert.Equal(0, (await WalletAsync(client, me)).Version);
    }

    [Fact(Timeout = 30_000)]
    public async Task Calls_WithoutAToken_AreUnauthenticated_AndAServerWithoutIdentity_FailsClosed()
    {
        await using var payment = await StartAsync();
        var anonymous = payment.ClientAs(TestCaller.Anonymous);
        await FailsAsync(StatusCode.Unauthenticated, () => WalletAsync(anonymous, NewPlayer()), "authorization: Bearer");
        await FailsAsync(StatusCode.Unauthenticated, () => anonymous.ListOffersAsync(new ListOffersRequest(), cancellationToken: Timeout).AsTask());

        await using var open = await StartAsync(verifyCallers: false);
        var unverified = open.ClientAs(TestCaller.Anonymous);
        await FailsAsync(StatusCode.Unauthenticated, () => WalletAsync(unverified, NewPlayer()), "GetWallet");
        await FailsAsync(StatusCode.Unauthenticated, () => unverified.CreditAsync(new CreditRequest { PlayerId = NewPlayer(), Amount = Soft(5), Reason = BalanceChangeReason.Reward, IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "Credit", "payment.admin");
        await FailsAsync(StatusCode.Unauthenticated, () => unverified.CreatePurchaseAsync(new CreatePurchaseRequest { PlayerId = NewPlayer(), OfferId = "gem-pack", IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "CreatePurchase");
    }
}
