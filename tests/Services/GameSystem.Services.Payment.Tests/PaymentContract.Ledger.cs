using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>The ledger: listing, one transaction, the audit, and the events of purchases.</summary>
public abstract partial class PaymentContract
{
    [Fact(Timeout = 60_000)]
    public async Task ListLedgerEntries_ListsAPlayersWalletEntriesInSequenceOrder_WithFiltersAndPages()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var bundle = await PutAsync(payment, GoldBundleOffer(gems: 30, gold: 300));
        await CreditAsync(payment, player, Premium(100));
        await CreditAsync(payment, player, Soft(75));
        var bought = await payment.Client.CreatePurchaseAsync(Buy(player, bundle), cancellationToken: Timeout);
        await payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = Soft(25), Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = NewKey() }, cancellationToken: Timeout);
        await CreditAsync(payment, NewPlayer(), Soft(999)); // another player's entries stay out

        var entries = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PlayerId = player, PageSize = 2 });

        Assert.Equal(
            [
                ("premium", EntryDirection.Credit, 100L, 100L),
                ("soft", EntryDirection.Credit, 75L, 75L),
                ("premium", EntryDirection.Debit, 30L, 70L),
                ("soft", EntryDirection.Credit, 300L, 375L),
                ("soft", EntryDirection.Debit, 25L, 350L),
            ],
            entries.Select(e => (e.Account.Split('/')[^1], e.Direction, e.Amount, e.BalanceAfter)));
        Assert.All(entries, e => Assert.Equal(player, e.PlayerId));
        Assert.Equal(entries.Select(e => e.Sequence).Order(), entries.Select(e => e.Sequence));
        Assert.Equal(entries.Count, entries.Select(e => e.Sequence).Distinct().Count());

        var soft = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PlayerId = player, Currency = Currency.Soft });
        Assert.Equal([75L, 300L, 25L], soft.Select(e => e.Amount));
        var ofPurchase = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { TransactionId = bought.Purchase.TransactionId });
        Assert.Equal(4, ofPurchase.Count);
        var resumed = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PlayerId = player, AfterSequence = entries[2].Sequence });
        Assert.Equal(entries.Skip(3), resumed);
        var byAccount = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { Account = $"wallets/{player}/premium" });
        Assert.Equal(entries.Where(e => e.Currency == Currency.Premium), byAccount);

        Assert.Equal("account", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PlayerId = player, Account = "wallets/someone-else/soft" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal("account", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { Account = "bank/vault" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal("after_sequence", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PlayerId = player, AfterSequence = -1 }, cancellationToken: Timeout).AsTask())));
        Assert.Equal("page_size", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PlayerId = player, PageSize = 1001 }, cancellationToken: Timeout).AsTask())));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListLedgerEntries_WithoutAPlayer_ReadsTheWholeLedger_InSequenceOrder()
    {
        await using var payment = await StartAsync();
        var players = Enumerable.Range(0, 4).Select(_ => NewPlayer()).ToList();
        for (var round = 0; round < 3; round++)
        {
            foreach (var player in players)
            {
                await CreditAsync(payment, player, Soft(Faker.Random.Long(1, 100)));
            }
        }

        var whole = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PageSize = 5 });
        var issuance = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { Account = "system/issuance/soft" });

        Assert.Equal(24, whole.Count);
        Assert.Equal(whole.Select(e => e.Sequence).Order(), whole.Select(e => e.Sequence));
        Assert.Equal(12, issuance.Count);
        Assert.Equal(whole.Where(e => e.Account == "system/issuance/soft").Sum(e => e.Amount), whole.Where(e => e.PlayerId.Length > 0).Sum(e => e.Amount));
    }

    [Fact(Timeout = 30_000)]
    public async Task GetLedgerTransaction_OfAnUnknownId_IsNotFound_AndOfABadId_InvalidArgument()
    {
        await using var payment = await StartAsync();

        await FailsAsync(StatusCode.NotFound, () => payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = "txn-0badc0ffee" }, cancellationToken: Timeout).AsTask(), "txn-0badc0ffee");
        Assert.Equal("transaction_id", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = "pur-123" }, cancellationToken: Timeout).AsTask())));
        Assert.Equal("transaction_id", Field(await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = "txn-" + new string('a', 80) }, cancellationToken: Timeout).AsTask())));
    }

    [Fact(Timeout = 30_000)]
    public async Task AuditLedger_ReportsAWalletThatDisagreesWithItsEntries_AndATransactionThatDoesNotBalance()
    {
        await using var payment = await StartAsync();
        var (honest, tampered) = (NewPlayer(), NewPlayer());
        await CreditAsync(payment, honest, Soft(100));
        var credit = await CreditAsync(payment, tampered, Soft(100));
        Assert.True((await AuditAsync(payment)).Consistent);

        // Corrupt the store behind the service's back: the audit must notice both.
        var walletKey = StoreKeys.Wallet(tampered);
        var wallet = (await payment.Store.GetAsync(walletKey, Timeout))!;
        var record = WalletRecord.Parser.ParseFrom(wallet.Value.Span);
        record.Soft = 1_000_000;
        await payment.Store.SetAsync(walletKey, record.ToByteArray(), wallet.Version, cancellationToken: Timeout);
        var transactionKey = StoreKeys.Transaction(tampered, credit.TransactionId);
        var stored = (await payment.Store.GetAsync(transactionKey, Timeout))!;
        var transaction = LedgerTransaction.Parser.ParseFrom(stored.Value.Span);
        transaction.Entries[0].Amount = 90;
        await payment.Store.SetAsync(transactionKey, transaction.ToByteArray(), stored.Version, cancellationToken: Timeout);

        var audit = await AuditAsync(payment);

        Assert.False(audit.Consistent);
        Assert.Equal((2L, 4L), (audit.TransactionCount, audit.EntryCount));
        Assert.Contains(audit.Discrepancies, d => d.TransactionId == credit.TransactionId && d.Currency == Currency.Soft && (d.ExpectedAmount, d.ActualAmount) == (90, 100));
        Assert.Contains(audit.Discrepancies, d => d.Account == $"wallets/{tampered}/soft" && (d.ExpectedAmount, d.ActualAmount) == (100, 1_000_000));
        Assert.True((await AuditAsync(payment, honest)).Consistent);
        Assert.Single((await payment.Client.AuditLedgerAsync(new AuditLedgerRequest { MaxDiscrepancies = 1 }, cancellationToken: Timeout)).Discrepancies);
    }

    [Fact(Timeout = 60_000)]
    public async Task PurchasesAndRefunds_ReachEventBus_ThroughTheOutbox()
    {
        await using var payment = await StartAsync(withEvents: true);
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 90));
        await CreditAsync(payment, player, Soft(200));
        var purchase = (await payment.Client.CreatePurchaseAsync(Buy(player, weapon), cancellationToken: Timeout)).Purchase;
        var refunded = (await payment.Client.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player, PurchaseId = purchase.PurchaseId, Reason = "wrong sword", IdempotencyKey = NewKey() }, cancellationToken: Timeout)).Purchase;

        var events = new List<DomainEvent>();
        await foreach (var item in payment.EventBus!.SubscribeAsync(new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.All, TypeFilters = { "payment.>" }, SubjectFilter = $"players/{player}" }, cancellationToken: Timeout))
        {
            if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event)
            {
                events.Add(item.Event.Event);
                if (events.Count == 5)
                {
                    break;
                }
            }
        }

        Assert.Equal(
            ["payment.wallet.changed", "payment.wallet.changed", "payment.purchase.completed", "payment.wallet.changed", "payment.purchase.refunded"],
            events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(("payment", $"players/{player}"), (e.Source, e.Subject)));
        Assert.Equal(purchase, PurchaseCompleted.Parser.ParseFrom(events[2].Payload).Purchase);
        Assert.Equal(refunded, PurchaseRefunded.Parser.ParseFrom(events[4].Payload).Purchase);
        var changed = WalletChanged.Parser.ParseFrom(events[3].Payload);
        Assert.Equal((refunded.RefundTransactionId, TransactionType.Refund, 3L), (changed.TransactionId, changed.TransactionType, changed.WalletVersion));
        Assert.Equal([Soft(200), Premium(0)], changed.Balances);
    }
}
