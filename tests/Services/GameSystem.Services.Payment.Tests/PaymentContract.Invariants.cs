using System.Collections.Concurrent;
using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>The economy's invariants under concurrency: one charge per key, no negative balance, a clean audit.</summary>
public abstract partial class PaymentContract
{
    /// <summary>
    /// A call as a careful client makes it: an instance that sheds load (RESOURCE_EXHAUSTED
    /// beyond its concurrency limit) is asked again after a short pause, with the same request.
    /// </summary>
    private static async Task<T> PersistAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && attempt < 100)
            {
                await Task.Delay(10 + Random.Shared.Next(40), Timeout);
            }
        }
    }

    /// <summary>
    /// The answers of concurrent copies of one write (a client retrying a lost answer). A refusal
    /// (FAILED_PRECONDITION) writes nothing and claims no key, so one copy may be refused on the
    /// wallet as it was while another, served after a credit landed, goes through: what counts is
    /// what succeeded. Only when every copy was refused is the write refused.
    /// </summary>
    private static async Task<T[]> SettleAsync<T>(IEnumerable<Task<T>> copies)
    {
        var tasks = copies.ToList();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
        {
            if (tasks.Any(t => t.IsFaulted && t.Exception!.InnerException is not RpcException { StatusCode: StatusCode.FailedPrecondition }) || !tasks.Any(t => t.IsCompletedSuccessfully))
            {
                throw;
            }
        }

        return [.. tasks.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result)];
    }

    [Fact(Timeout = 180_000)]
    public async Task CreatePurchase_1000ConcurrentCallsWithOneKey_ChargeExactlyOnce_AndAllReturnTheSamePurchase()
    {
        await using var payment = await StartAsync();
        var player = await payment.Identity.PlayerAsync(Timeout);
        var client = payment.ClientAs(player);
        var bundle = await PutAsync(payment, GoldBundleOffer(gems: 250, gold: 4_000));
        await CreditAsync(payment, player.Subject, Premium(10_000));
        var request = Buy(player.Subject, bundle);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, 1_000).Select(async _ =>
        {
            await start.Task;
            return await PersistAsync(() => client.CreatePurchaseAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Timeout).AsTask());
        }).ToList();

        start.SetResult();
        var answers = await Task.WhenAll(calls);

        Assert.Single(answers, a => !a.Replayed);
        var purchase = Assert.Single(answers.Select(a => a.Purchase).Distinct());
        Assert.Single(answers.Select(a => a.Wallet).Distinct());
        var wallet = await WalletAsync(client, player.Subject);
        Assert.Equal(((4_000L, 9_750L), 2L), (Balances(wallet), wallet.Version));
        Assert.Equal([purchase], (await client.ListPurchasesAsync(new ListPurchasesRequest { PlayerId = player.Subject }, cancellationToken: Timeout)).Purchases);
        Assert.Equal(3, (await EntriesAsync(client, new ListLedgerEntriesRequest { PlayerId = player.Subject })).Count);
        var audit = await AuditAsync(payment, player.Subject);
        Assert.True(audit.Consistent);
        Assert.Equal(2, audit.TransactionCount);
    }

    [Fact(Timeout = 120_000)]
    public async Task CreatePurchase_ConcurrentWithDifferentKeys_NeverDrivesTheBalanceNegative()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var weapon = await PutAsync(payment, WeaponOffer(price: 70));
        await CreditAsync(payment, player, Soft(1_000));
        var refused = 0;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            try
            {
                return (await PersistAsync(() => payment.Client.CreatePurchaseAsync(Buy(player, weapon), deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Timeout).AsTask())).Wallet;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                Interlocked.Increment(ref refused);
                return null;
            }
        }));

        var paid = outcomes.Where(w => w is not null).ToList();
        Assert.Equal(1_000 / 70, paid.Count);
        Assert.Equal(40 - paid.Count, refused);
        Assert.All(paid, w => Assert.True(Balances(w!).Soft >= 0));
        Assert.Equal(paid.Count, paid.Select(w => w!.Version).Distinct().Count());
        Assert.Equal((1_000L - (70 * paid.Count), 0L), Balances(await WalletAsync(payment.Client, player)));
        Assert.True((await AuditAsync(payment, player)).Consistent);
    }

    [Fact(Timeout = 300_000)]
    public async Task ASeededRandomWorkload_EndsWithACleanAudit_BalancesMatchingWhatSucceeded_AndNoEntryEverChanged()
    {
        await using var payment = await StartAsync();
        var players = Enumerable.Range(0, 4).Select(_ => NewPlayer()).ToList();
        var offers = new List<Offer>
        {
            await PutAsync(payment, WeaponOffer(price: 180)),
            await PutAsync(payment, GoldBundleOffer(gems: 40, gold: 500)),
            await PutAsync(payment, PotionPackOffer(price: 60)),
        };
        var expected = players.ToDictionary(p => p, _ => new long[3]); // by Currency value
        var purchases = new ConcurrentBag<Purchase>();
        var answered = new ConcurrentBag<(IMessage Request, IMessage Response)>();
        var gate = new object();

        void Apply(string player, IEnumerable<CurrencyAmount> plus, IEnumerable<CurrencyAmount> minus)
        {
            lock (gate)
            {
                foreach (var a in plus)
                {
                    expected[player][(int)a.Currency] += a.Amount;
                }

                foreach (var a in minus)
                {
                    expected[player][(int)a.Currency] -= a.Amount;
                }
            }
        }

        async Task OperateAsync(int seed)
        {
            var faker = new Bogus.Faker { Random = new Bogus.Randomizer(seed) };
            var player = faker.PickRandom(players);
            try
            {
                switch (faker.Random.Int(0, 9))
                {
                    case 0 or 1 or 2:
                    {
                        var request = new CreditRequest { PlayerId = player, Amount = new CurrencyAmount { Currency = faker.PickRandom(Currency.Soft, Currency.Premium), Amount = faker.Random.Long(1, 400) }, Reason = faker.PickRandom(BalanceChangeReason.Reward, BalanceChangeReason.StoreTopUp), IdempotencyKey = faker.Random.Guid().ToString() };
                        var copies = faker.Random.Int(1, 3); // a client retrying a lost answer, concurrently
                        var answers = await SettleAsync(Enumerable.Range(0, copies).Select(_ => PersistAsync(() => payment.Client.CreditAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Timeout).AsTask())));
                        Assert.Single(answers, a => !a.Replayed);
                        Apply(player, [request.Amount], []);
                        answered.Add((request, answers[0]));
                        break;
                    }

                    case 3:
                    {
                        var request = new DebitRequest { PlayerId = player, Amount = new CurrencyAmount { Currency = faker.PickRandom(Currency.Soft, Currency.Premium), Amount = faker.Random.Long(1, 300) }, Reason = BalanceChangeReason.ServiceFee, Reference = "repair", IdempotencyKey = faker.Random.Guid().ToString() };
                        var answer = await PersistAsync(() => payment.Client.DebitAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Timeout).AsTask());
                        Apply(player, [], [request.Amount]);
                        answered.Add((request, answer));
                        break;
                    }

                    case 4 or 5 or 6 or 7:
                    {
                        var request = Buy(player, faker.PickRandom(offers), quantity: faker.Random.Int(1, 3), key: faker.Random.Guid().ToString());
                        var copies = faker.Random.Int(1, 2);
                        var answers = await SettleAsync(Enumerable.Range(0, copies).Select(_ => PersistAsync(() => payment.Client.CreatePurchaseAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Timeout).AsTask())));
                        Assert.Single(answers.Select(a => a.Purchase).Distinct());
                        Apply(player, answers[0].Purchase.CurrencyGrants, [answers[0].Purchase.TotalPrice]);
                        purchases.Add(answers[0].Purchase);
                        answered.Add((request, answers[0]));
                        break;
                    }

                    default:
                    {
                        var mine = purchases.Where(p => p.PlayerId == player).ToList();
                        if (mine.Count == 0)
                        {
                            return;
                        }

                        var request = new RefundPurchaseRequest { PlayerId = player, PurchaseId = faker.PickRandom(mine).PurchaseId, Reason = "support ticket " + faker.Random.Int(1000, 9999), IdempotencyKey = faker.Random.Guid().ToString() };
                        var answer = await PersistAsync(() => payment.Client.RefundPurchaseAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: Timeout).AsTask());
                        Apply(player, [answer.Purchase.TotalPrice], answer.Purchase.CurrencyGrants);
                        answered.Add((request, answer));
                        break;
                    }
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                // Short of funds, refunded already, or the granted currency spent: refused whole.
            }
        }

        // Phase one, then a snapshot of the ledger; phase two must leave every snapshot entry as it was.
        var seed = 4242;
        for (var batch = 0; batch < 6; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => OperateAsync(seed++)));
        }

        var snapshot = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PageSize = 1000 });
        for (var batch = 0; batch < 6; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => OperateAsync(seed++)));
        }

        // Retries long after the fact replay their first answer and move nothing.
        foreach (var (request, response) in answered.Take(20))
        {
            switch (request)
            {
                case CreditRequest credit:
                    var c = await payment.Client.CreditAsync(credit, cancellationToken: Timeout);
                    Assert.Equal((true, ((CreditResponse)response).TransactionId), (c.Replayed, c.TransactionId));
                    break;
                case DebitRequest debit:
                    Assert.True((await payment.Client.DebitAsync(debit, cancellationToken: Timeout)).Replayed);
                    break;
                case CreatePurchaseRequest purchase:
                    Assert.Equal(((CreatePurchaseResponse)response).Purchase, (await payment.Client.CreatePurchaseAsync(purchase, cancellationToken: Timeout)).Purchase);
                    break;
                case RefundPurchaseRequest refund:
                    Assert.True((await payment.Client.RefundPurchaseAsync(refund, cancellationToken: Timeout)).Replayed);
                    break;
            }
        }

        var audit = await payment.Client.AuditLedgerAsync(new AuditLedgerRequest(), cancellationToken: Timeout);
        Assert.True(audit.Consistent, string.Join("; ", audit.Discrepancies));
        Assert.Equal(answered.Count, audit.TransactionCount);
        foreach (var player in players)
        {
            var wallet = await WalletAsync(payment.Client, player);
            Assert.Equal((expected[player][(int)Currency.Soft], expected[player][(int)Currency.Premium]), Balances(wallet));
            Assert.True(Balances(wallet).Soft >= 0 && Balances(wallet).Premium >= 0);
        }

        var after = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PageSize = 1000 });
        var later = after.ToDictionary(e => e.EntryId);
        Assert.All(snapshot, e => Assert.Equal(e, later[e.EntryId]));
        Assert.Equal(audit.EntryCount, after.Count);
        Assert.True(after.Count > snapshot.Count);
    }
}
