using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using GameSystem.Services.Payment.Internal;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Payment.Tests;

/// <summary>The double-entry rules without NATS or a store.</summary>
public sealed class LedgerDraftTests
{
    private static readonly Timestamp Now = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void APurchaseWithAGrant_BalancesPerCurrency_AndNumbersItsEntriesWithTheBalancesTheyLeave()
    {
        var draft = new LedgerDraft("acc-ada", TransactionType.Purchase) { Reference = "pur-01" }
            .OutOfWallet(Currency.Premium, 80, StoreKeys.RevenueAccount(Currency.Premium))
            .IntoWallet(Currency.Soft, 1_000, StoreKeys.IssuanceAccount(Currency.Soft));
        var before = new WalletRecord { Soft = 5, Premium = 100, Version = 3 };

        var (transaction, wallet) = draft.Finish("txn-01", "key-1", firstSequence: 41, before, Now);

        Assert.Equal((1_005L, 20L, 4L), (wallet.Soft, wallet.Premium, wallet.Version));
        Assert.Equal([41L, 42L, 43L, 44L], transaction.Entries.Select(e => e.Sequence));
        Assert.Equal([20L, 0L, 0L, 1_005L], transaction.Entries.Select(e => e.BalanceAfter));
        foreach (var currency in new[] { Currency.Soft, Currency.Premium })
        {
            var mine = transaction.Entries.Where(e => e.Currency == currency).ToList();
            Assert.Equal(mine.Where(e => e.Direction == EntryDirection.Debit).Sum(e => e.Amount), mine.Where(e => e.Direction == EntryDirection.Credit).Sum(e => e.Amount));
        }

        Assert.All(transaction.Entries, e => Assert.Equal(("txn-01", TransactionType.Purchase, "pur-01"), (e.TransactionId, e.TransactionType, e.Reference)));
        Assert.Equal(["acc-ada", "", "", "acc-ada"], transaction.Entries.Select(e => e.PlayerId));
    }

    [Fact]
    public void BalanceAfter_OfAnOverdraft_IsNegative_SoTheWriteCanRefuseIt()
    {
        var draft = new LedgerDraft("acc-ada", TransactionType.Debit).OutOfWallet(Currency.Soft, 11, StoreKeys.RevenueAccount(Currency.Soft));

        Assert.Equal(-1, draft.BalanceAfter(new WalletRecord { Soft = 10 }, Currency.Soft));
        Assert.Equal(7, draft.BalanceAfter(new WalletRecord { Soft = 10, Premium = 7 }, Currency.Premium));
    }

    [Theory]
    [InlineData("acc-7f3a", true)]
    [InlineData("svc-quest-system", true)]
    [InlineData("player@example.com", true)]
    [InlineData("", false)]
    [InlineData("-leading-dash", false)]
    [InlineData("has space", false)]
    [InlineData("brace{x}", false)]
    public void PlayerIds_AreCheckedBeforeTheyBecomeKeys(string playerId, bool valid)
    {
        var error = Record.Exception(() => PaymentRules.PlayerId(playerId));

        Assert.Equal(valid, error is null);
        if (!valid)
        {
            Assert.Equal(StatusCode.InvalidArgument, Assert.IsType<RpcException>(error).StatusCode);
        }
    }

    [Fact]
    public void TheIdsOfAKey_AreTheSameForEveryRepeat_AndDifferPerPlayer()
    {
        Assert.Equal(StoreKeys.TransactionId("acc-1", "k"), StoreKeys.TransactionId("acc-1", "k"));
        Assert.NotEqual(StoreKeys.TransactionId("acc-1", "k"), StoreKeys.TransactionId("acc-2", "k"));
        Assert.Matches("^txn-[0-9a-f]{32}$", StoreKeys.TransactionId("acc-1", "k"));
        Assert.Matches("^pur-[0-9a-f]{32}$", StoreKeys.PurchaseId("acc-1", "k"));
    }
}
