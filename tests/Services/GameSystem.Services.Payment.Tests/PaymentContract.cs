using Bogus;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Payment.V1;
using GameSystem.State;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>The payment contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class PaymentContract(NatsServerFixture nats)
{
    private static readonly string[] Weapons = ["sword", "axe", "bow", "staff", "dagger", "mace", "spear"];
    private static readonly string[] Materials = ["iron", "steel", "elven", "dwarven", "obsidian", "mithril", "oak"];
    private static readonly string[] Potions = ["minor-healing", "mana", "stamina", "fire-resistance", "invisibility"];

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    /// <summary>Seeded per test, so a failure reproduces from the seed in its message.</summary>
    private Faker Faker { get; } = new() { Random = new Randomizer(20261203) };

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<PaymentHarness> StartAsync(bool withEvents = false, bool verifyCallers = true) =>
        await PaymentHarness.StartAsync(nats, await CreateStoreAsync(), await CreateStoreAsync(), withEvents, verifyCallers);

    private string NewPlayer() => "acc-" + Faker.Random.AlphaNumeric(12).ToLowerInvariant();

    private string NewKey() => Faker.Random.Guid().ToString();

    private static CurrencyAmount Soft(long amount) => new() { Currency = Currency.Soft, Amount = amount };

    private static CurrencyAmount Premium(long amount) => new() { Currency = Currency.Premium, Amount = amount };

    private string NewOfferId(string kind) => $"{kind}-{Faker.Random.AlphaNumeric(8).ToLowerInvariant()}";

    /// <summary>A weapon sold for gold (soft), delivered as an item.</summary>
    private Offer WeaponOffer(long price = 0) => new()
    {
        OfferId = NewOfferId("weapon"),
        DisplayName = $"{Faker.PickRandom(Materials)} {Faker.PickRandom(Weapons)}",
        Description = Faker.Lorem.Sentence(),
        Price = Soft(price > 0 ? price : Faker.Random.Int(50, 900)),
        Items = { new ItemStack { ItemId = $"item.weapon.{Faker.PickRandom(Materials)}-{Faker.PickRandom(Weapons)}", Quantity = 1 } },
        Active = true,
    };

    /// <summary>A bag of gold bought with gems (premium), delivering currency only.</summary>
    private Offer GoldBundleOffer(long gems = 100, long gold = 1_000) => new()
    {
        OfferId = NewOfferId("gold-bundle"),
        DisplayName = $"Sack of {gold:N0} gold",
        Price = Premium(gems),
        CurrencyGrants = { Soft(gold) },
        Active = true,
    };

    /// <summary>A potion pack with bonus gems, for gold.</summary>
    private Offer PotionPackOffer(long price = 120) => new()
    {
        OfferId = NewOfferId("potion-pack"),
        DisplayName = "Adventurer's potion pack",
        Price = Soft(price),
        Items = { new ItemStack { ItemId = $"item.potion.{Faker.PickRandom(Potions)}", Quantity = Faker.Random.Int(2, 5) } },
        CurrencyGrants = { Premium(5) },
        Active = true,
    };

    private static async Task<Offer> PutAsync(PaymentHarness payment, Offer offer, long expectedVersion = 0) =>
        (await payment.Client.PutOfferAsync(new PutOfferRequest { Offer = offer, ExpectedVersion = expectedVersion }, cancellationToken: Timeout)).Offer;

    private async Task<CreditResponse> CreditAsync(PaymentHarness payment, string player, CurrencyAmount amount, string? key = null) =>
        await payment.Client.CreditAsync(new CreditRequest { PlayerId = player, Amount = amount, Reason = BalanceChangeReason.StoreTopUp, Reference = "receipt-" + Faker.Random.AlphaNumeric(10), IdempotencyKey = key ?? NewKey() }, cancellationToken: Timeout);

    private static async Task<Wallet> WalletAsync(PaymentServiceClient client, string player) =>
        (await client.GetWalletAsync(new GetWalletRequest { PlayerId = player }, cancellationToken: Timeout)).Wallet;

    private static (long Soft, long Premium) Balances(Wallet wallet) =>
        (wallet.Balances.Single(b => b.Currency == Currency.Soft).Amount, wallet.Balances.Single(b => b.Currency == Currency.Premium).Amount);

    private static async Task<AuditLedgerResponse> AuditAsync(PaymentHarness payment, string player = "") =>
        await payment.Client.AuditLedgerAsync(new AuditLedgerRequest { PlayerId = player }, cancellationToken: Timeout);

    private static async Task<List<LedgerEntry>> EntriesAsync(PaymentServiceClient client, ListLedgerEntriesRequest request)
    {
        var entries = new List<LedgerEntry>();
        do
        {
            var page = await client.ListLedgerEntriesAsync(request, cancellationToken: Timeout);
            entries.AddRange(page.Entries);
            request = request.Clone();
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        return entries;
    }

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode, $"expected {code}, got {error.StatusCode}: {error.Status.Detail}");
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The one field an INVALID_ARGUMENT's google.rpc.BadRequest names.</summary>
    private static string Field(RpcException error) =>
        Assert.Single(Assert.Single(error.GetRpcStatus().Details).Unpack<Google.Rpc.BadRequest>().FieldViolations).Field;

    // ---- Wallets ----

    [Fact(Timeout = 30_000)]
    public async Task GetWallet_ForAPlayerWhoNeverReceivedCurrency_IsZeroAtVersionZero()
    {
        await using var payment = await StartAsync();

        var wallet = await WalletAsync(payment.Client, NewPlayer());

        Assert.Equal((0L, 0L), Balances(wallet));
        Assert.Equal([Currency.Soft, Currency.Premium], wallet.Balances.Select(b => b.Currency));
        Assert.Equal(0, wallet.Version);
    }

    [Fact(Timeout = 30_000)]
    public async Task Credit_AddsToTheWallet_AndRecordsABalancedTransactionAgainstIssuance()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var gems = Faker.Random.Long(100, 5_000);

        var credited = await CreditAsync(payment, player, Premium(gems));

        Assert.False(credited.Replayed);
        Assert.Equal((0L, gems), Balances(credited.Wallet));
        Assert.Equal(1, credited.Wallet.Version);
        Assert.Equal(credited.Wallet, await WalletAsync(payment.Client, player));
        var transaction = (await payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = credited.TransactionId }, cancellationToken: Timeout)).Transaction;
        Assert.Equal((TransactionType.Credit, BalanceChangeReason.StoreTopUp), (transaction.Type, transaction.Reason));
        Assert.Equal(
            [("system/issuance/premium", EntryDirection.Debit, gems, 0L), ($"wallets/{player}/premium", EntryDirection.Credit, gems, gems)],
            transaction.Entries.Select(e => (e.Account, e.Direction, e.Amount, e.BalanceAfter)));
        Assert.True(transaction.Entries[1].Sequence > transaction.Entries[0].Sequence);
    }

    [Fact(Timeout = 30_000)]
    public async Task Credit_RepeatedWithTheSameKey_CreditsOnce_AndSaysReplayed()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var key = NewKey();

        var request = new CreditRequest { PlayerId = player, Amount = Soft(250), Reason = BalanceChangeReason.StoreTopUp, Reference = "receipt-" + Faker.Random.AlphaNumeric(10), IdempotencyKey = key };

        var first = await payment.Client.CreditAsync(request, cancellationToken: Timeout);
        var repeats = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => payment.Client.CreditAsync(request, cancellationToken: Timeout).AsTask()));

        Assert.False(first.Replayed);
        Assert.All(repeats, r => Assert.Equal((true, first.TransactionId, first.Wallet), (r.Replayed, r.TransactionId, r.Wallet)));
        Assert.Equal((250L, 0L), Balances(await WalletAsync(payment.Client, player)));
    }

    [Fact(Timeout = 30_000)]
    public async Task Credit_WithTheQuestRewardKey_CreditsEveryCurrencyOfTheRewardOnce_UnderRacingRetries()
    {
        await using var payment = await StartAsync();
        var quests = await payment.Identity.ServiceAsync("quest-system", Timeout);
        var client = payment.ClientAs(quests);
        var player = NewPlayer();
        var request = new CreditRequest
        {
            PlayerId = player,
            Amounts = { Soft(Faker.Random.Long(10, 500)), Premium(Faker.Random.Long(1, 20)) },
            Reason = BalanceChangeReason.Reward,
            Reference = $"quests/q-dragon-{Faker.Random.Int(1, 99)}/players/{player}",
            IdempotencyKey = $"quest:{player}:q-dragon:1",
        };

        var answers = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => client.CreditAsync(request, cancellationToken: Timeout).AsTask()));

        Assert.Single(answers, a => !a.Replayed);
        Assert.Single(answers.Select(a => a.TransactionId).Distinct());
        Assert.All(answers, a => Assert.Equal((request.Amounts[0].Amount, request.Amounts[1].Amount), Balances(a.Wallet)));
        Assert.Equal((request.Amounts[0].Amount, request.Amounts[1].Amount), Balances(await WalletAsync(payment.Client, player)));
        var entries = await EntriesAsync(payment.Client, new ListLedgerEntriesRequest { PlayerId = player });
        Assert.Equal(2, entries.Count);
        Assert.True((await AuditAsync(payment, player)).Consistent);
    }

    [Fact(Timeout = 30_000)]
    public async Task Credit_TheSameKeyWithOtherParameters_FailsAlreadyExists_AndCreditsNothing()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var key = NewKey();
        await CreditAsync(payment, player, Soft(100), key);

        await FailsAsync(StatusCode.AlreadyExists, () => CreditAsync(payment, player, Soft(1_000), key), key, "other parameters");

        Assert.Equal((100L, 0L), Balances(await WalletAsync(payment.Client, player)));
    }

    [Fact(Timeout = 30_000)]
    public async Task Keys_AreUniquePerPlayer_AcrossRpcs_ButFreeForAnotherPlayer()
    {
        await using var payment = await StartAsync();
        var (player, other) = (NewPlayer(), NewPlayer());
        var key = NewKey();
        await CreditAsync(payment, player, Soft(500), key);

        await FailsAsync(StatusCode.AlreadyExists, () => payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = Soft(10), Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = key }, cancellationToken: Timeout).AsTask(), "already used for a Credit");
        var elsewhere = await CreditAsync(payment, other, Soft(500), key);

        Assert.False(elsewhere.Replayed);
        Assert.Equal((500L, 0L), Balances(await WalletAsync(payment.Client, player)));
        Assert.Equal((500L, 0L), Balances(elsewhere.Wallet));
    }

    [Fact(Timeout = 30_000)]
    public async Task Debit_RemovesFromTheWallet_AgainstRevenue_AndARepeatDebitsOnce()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        await CreditAsync(payment, player, Soft(1_000));
        var request = new DebitRequest { PlayerId = player, Amount = Soft(275), Reason = BalanceChangeReason.ServiceFee, Reference = "repair:item.weapon.steel-sword", IdempotencyKey = NewKey() };

        var debited = await payment.Client.DebitAsync(request, cancellationToken: Timeout);
        var repeat = await payment.Client.DebitAsync(request, cancellationToken: Timeout);

        Assert.Equal((725L, 0L), Balances(debited.Wallet));
        Assert.True(repeat.Replayed);
        Assert.Equal(debited.TransactionId, repeat.TransactionId);
        Assert.Equal((725L, 0L), Balances(await WalletAsync(payment.Client, player)));
        var transaction = (await payment.Client.GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = debited.TransactionId }, cancellationToken: Timeout)).Transaction;
        Assert.Equal(
            [($"wallets/{player}/soft", EntryDirection.Debit, 275L, 725L), ("system/revenue/soft", EntryDirection.Credit, 275L, 0L)],
            transaction.Entries.Select(e => (e.Account, e.Direction, e.Amount, e.BalanceAfter)));
    }

    [Fact(Timeout = 30_000)]
    public async Task Debit_BeyondTheBalance_FailsPrecondition_AndDebitsNothing()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        await CreditAsync(payment, player, Soft(40));
        var key = NewKey();

        await FailsAsync(StatusCode.FailedPrecondition, () => payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = Soft(41), Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = key }, cancellationToken: Timeout).AsTask(), "has 40 soft", "nothing was debited");

        var wallet = await WalletAsync(payment.Client, player);
        Assert.Equal(((40L, 0L), 1L), (Balances(wallet), wallet.Version));

        // The failed call took no key: the same key works once the player can pay.
        await CreditAsync(payment, player, Soft(10));
        var later = await payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = Soft(41), Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = key }, cancellationToken: Timeout);
        Assert.Equal((9L, 0L), Balances(later.Wallet));
    }

    public static TheoryData<string, string> BadMoneyRequests => new()
    {
        { "negative-amount", "amount.amount" },
        { "zero-amount", "amount.amount" },
        { "too-large-amount", "amount.amount" },
        { "unknown-currency", "amount.currency" },
        { "no-currency", "amount.currency" },
        { "no-amount", "amount" },
        { "empty-player", "player_id" },
        { "too-long-player", "player_id" },
        { "bad-player", "player_id" },
        { "empty-key", "idempotency_key" },
        { "too-long-key", "idempotency_key" },
        { "no-reason", "reason" },
        { "too-long-reference", "reference" },
        { "amount-and-amounts", "amounts" },
        { "twice-the-same-currency", "amounts[1].currency" },
        { "negative-in-amounts", "amounts[0].amount" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(BadMoneyRequests))]
    public async Task Credit_WithBadInput_FailsInvalidArgument_NamingTheField_AndWritesNothing(string @case, string field)
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        var request = new CreditRequest { PlayerId = player, Amount = Soft(100), Reason = BalanceChangeReason.Reward, IdempotencyKey = NewKey() };
        switch (@case)
        {
            case "negative-amount": request.Amount.Amount = -100; break;
            case "zero-amount": request.Amount.Amount = 0; break;
            case "too-large-amount": request.Amount.Amount = 1_000_000_001; break;
            case "unknown-currency": request.Amount.Currency = (Currency)7; break;
            case "no-currency": request.Amount.Currency = Currency.Unspecified; break;
            case "no-amount": request.Amount = null; break;
            case "empty-player": request.PlayerId = ""; break;
            case "too-long-player": request.PlayerId = "acc-" + new string('x', 125); break;
            case "bad-player": request.PlayerId = "acc 17/../x"; break;
            case "empty-key": request.IdempotencyKey = ""; break;
            case "too-long-key": request.IdempotencyKey = new string('k', 257); break;
            case "no-reason": request.Reason = BalanceChangeReason.Unspecified; break;
            case "too-long-reference": request.Reference = new string('r', 257); break;
            case "amount-and-amounts": request.Amounts.Add(Premium(5)); break;
            case "twice-the-same-currency": request.Amount = null; request.Amounts.Add(Soft(1)); request.Amounts.Add(Soft(2)); break;
            case "negative-in-amounts": request.Amount = null; request.Amounts.Add(Soft(-5)); break;
        }

        var error = await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.CreditAsync(request, cancellationToken: Timeout).AsTask());

        Assert.Equal(field, Field(error));
        Assert.Contains(field.Split('.', '[')[0], error.Status.Detail, StringComparison.Ordinal);
        var wallet = await WalletAsync(payment.Client, player);
        Assert.Equal(((0L, 0L), 0L), (Balances(wallet), wallet.Version));
        Assert.Equal(0, (await AuditAsync(payment)).TransactionCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task Debit_WithANegativeAmountOrAnUnknownCurrency_FailsInvalidArgument()
    {
        await using var payment = await StartAsync();
        var player = NewPlayer();
        await CreditAsync(payment, player, Soft(100));

        var negative = await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = Soft(-50), Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "never negative");
        var unknown = await FailsAsync(StatusCode.InvalidArgument, () => payment.Client.DebitAsync(new DebitRequest { PlayerId = player, Amount = new CurrencyAmount { Currency = (Currency)3, Amount = 5 }, Reason = BalanceChangeReason.ServiceFee, IdempotencyKey = NewKey() }, cancellationToken: Timeout).AsTask(), "not a currency");

        Assert.Equal(("amount.amount", "amount.currency"), (Field(negative), Field(unknown)));
        Assert.Equal(((100L, 0L), 1L), (Balances(await WalletAsync(payment.Client, player)), (await WalletAsync(payment.Client, player)).Version));
    }
}
