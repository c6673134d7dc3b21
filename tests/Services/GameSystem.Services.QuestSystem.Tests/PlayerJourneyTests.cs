using Bogus;
using GameSystem.Common.V1;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.State;
using GameSystem.StateManager.V1;
using GameSystem.Testing;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>
/// One player through the services a first evening of play touches, each served for real over
/// nats-server and called with real tokens: register with auth, start a session with
/// state-manager, receive gold from payment, buy a sword (payment, delivered by state-manager),
/// accept and finish a quest, and be rewarded once, checked in the wallet, the ledger and its
/// audit, the inventory, the experience and the quest log.
/// </summary>
public sealed class PlayerJourneyTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private readonly Faker _faker = new() { Random = new Randomizer(20261207) };

    [Fact(Timeout = 90_000)]
    public async Task APlayersFirstEvening_FromRegistrationToAQuestReward_IsRewardedExactlyOnce()
    {
        await using var harness = await QuestHarness.StartAsync(nats, new InMemoryStateStore(), new InMemoryStateStore());
        var ops = harness.Observer;
        var stateAdmin = harness.StateManagerAs(ops);
        foreach (var (item, stack) in new[] { ("item.sword.iron", 1), ("item.potion.minor-healing", 20) })
        {
            await stateAdmin.PutItemDefinitionAsync(new PutItemDefinitionRequest { ItemDefinition = new ItemDefinition { ItemId = item, DisplayName = item, MaxStackSize = stack } }, cancellationToken: Timeout);
        }

        await harness.PaymentAs(ops).PutOfferAsync(new PutOfferRequest { Offer = new Offer { OfferId = "iron-sword", DisplayName = "Iron Sword", Price = new CurrencyAmount { Currency = Currency.Soft, Amount = 200 }, Items = { new ItemStack { ItemId = "item.sword.iron", Quantity = 1 } }, Active = true } }, cancellationToken: Timeout);
        var wolves = (await harness.QuestsAs(harness.Designer).CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest
        {
            RequestId = _faker.Random.Guid().ToString(),
            QuestDefinition = new QuestDefinition
            {
                QuestId = "q.main.wolves-of-greyhollow",
                DisplayName = "The Wolves of Greyhollow",
                Description = "The farmers of Greyhollow lose sheep every night. Thin the pack.",
                GiverNpcId = "npc.elder-maren",
                Objectives =
                {
                    new Objective { ObjectiveId = "slay-wolves", Description = "Slay 10 wolves", Kind = ObjectiveKind.Defeat, TargetId = "npc.wolf", RequiredCount = 10 },
                    new Objective { ObjectiveId = "report-back", Description = "Report back to Elder Maren", Kind = ObjectiveKind.Talk, TargetId = "npc.elder-maren", RequiredCount = 1 },
                },
                OrderedObjectives = true,
                Rewards = new Reward { Currencies = { new CurrencyAmount { Currency = Currency.Soft, Amount = 150 } }, Items = { new ItemStack { ItemId = "item.potion.minor-healing", Quantity = 3 } }, Experience = 400 },
                State = QuestDefinitionState.Published,
            },
        }, cancellationToken: Timeout)).QuestDefinition;

        // Register and log in (auth), then play as that account.
        var player = await harness.Identity.PlayerAsync(Timeout);
        var id = player.Subject;
        var session = (await harness.StateManagerAs(player).StartSessionAsync(new StartSessionRequest { PlayerId = id, WorldId = "hub", RequestId = _faker.Random.Guid().ToString(), Client = new ClientInfo { ClientVersion = "1.4.2", Platform = "windows", Locale = "en-GB" } }, cancellationToken: Timeout)).Session;
        Assert.Equal(SessionState.Active, session.State);

        // A welcome gift of gold, then the sword, delivered to the inventory as the delivery workflow does.
        await harness.PaymentAs(ops).CreditAsync(new CreditRequest { PlayerId = id, Amount = new CurrencyAmount { Currency = Currency.Soft, Amount = 500 }, Reason = BalanceChangeReason.AdminAdjustment, Reference = "welcome-gift", IdempotencyKey = "welcome:" + id }, cancellationToken: Timeout);
        var purchase = (await harness.PaymentAs(player).CreatePurchaseAsync(new CreatePurchaseRequest { PlayerId = id, OfferId = "iron-sword", ExpectedPrice = new CurrencyAmount { Currency = Currency.Soft, Amount = 200 }, IdempotencyKey = _faker.Random.Guid().ToString() }, cancellationToken: Timeout)).Purchase;
        await stateAdmin.AddItemsAsync(new AddItemsRequest { PlayerId = id, Items = { purchase.Items }, RequestId = purchase.PurchaseId, Reason = "purchase:" + purchase.PurchaseId }, cancellationToken: Timeout);
        await harness.PaymentAs(ops).MarkPurchaseFulfilledAsync(new MarkPurchaseFulfilledRequest { PlayerId = id, PurchaseId = purchase.PurchaseId, FulfillmentReference = "inventory" }, cancellationToken: Timeout);

        // The quest: offered, accepted, ten wolves (one kill reported twice), back to the elder, completed.
        var quests = harness.QuestsAs(player);
        Assert.Contains((await quests.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = id, GiverNpcId = "npc.elder-maren" }, cancellationToken: Timeout)).Quests, q => q.QuestDefinition.QuestId == wolves.QuestId);
        await quests.AcceptQuestAsync(new AcceptQuestRequest { PlayerId = id, QuestId = wolves.QuestId, RequestId = _faker.Random.Guid().ToString() }, cancellationToken: Timeout);
        var game = harness.QuestsAs(ops);
        for (var kill = 1; kill <= 10; kill++)
        {
            var report = new ReportObjectiveProgressRequest { PlayerId = id, ReportId = $"combat-{id}-{kill}", Action = new GameAction { Kind = ObjectiveKind.Defeat, TargetId = "npc.wolf" }, Increment = 1 };
            await game.ReportObjectiveProgressAsync(report, cancellationToken: Timeout);
            if (kill == 5)
            {
                Assert.True((await game.ReportObjectiveProgressAsync(report, cancellationToken: Timeout)).Duplicate);
            }
        }

        await game.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = id, ReportId = $"dialogue-{id}-1", Action = new GameAction { Kind = ObjectiveKind.Talk, TargetId = "npc.elder-maren" }, Increment = 1 }, cancellationToken: Timeout);
        var completed = (await quests.CompleteQuestAsync(new CompleteQuestRequest { PlayerId = id, QuestId = wolves.QuestId, RequestId = _faker.Random.Guid().ToString() }, cancellationToken: Timeout)).PlayerQuest;
        await quests.CompleteQuestAsync(new CompleteQuestRequest { PlayerId = id, QuestId = wolves.QuestId, RequestId = _faker.Random.Guid().ToString() }, cancellationToken: Timeout);
        Assert.Equal(PlayerQuestState.Completed, completed.State);
        var log = await AwaitGrantedAsync(quests, id, wolves.QuestId);

        // The wallet: 500 − 200 + 150; the ledger: the gift, the sword and the reward, each once, balanced.
        var payment = harness.PaymentAs(player);
        var wallet = (await payment.GetWalletAsync(new GetWalletRequest { PlayerId = id }, cancellationToken: Timeout)).Wallet;
        Assert.Equal(450, wallet.Balances.Single(b => b.Currency == Currency.Soft).Amount);
        var entries = (await payment.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PlayerId = id, PageSize = 100 }, cancellationToken: Timeout)).Entries;
        Assert.Equal(3, entries.Select(e => e.TransactionId).Distinct().Count());
        var rewardEntry = Assert.Single(entries, e => e.Reference == $"quests/{wolves.QuestId}/players/{id}/attempts/1");
        Assert.Equal((150, 450), (rewardEntry.Amount, rewardEntry.BalanceAfter));
        var rewardTransaction = (await harness.PaymentAs(ops).GetLedgerTransactionAsync(new GetLedgerTransactionRequest { TransactionId = rewardEntry.TransactionId }, cancellationToken: Timeout)).Transaction;
        Assert.Equal(log.RewardGrantKey, rewardTransaction.IdempotencyKey);
        Assert.Equal(BalanceChangeReason.Reward, rewardTransaction.Reason);
        var audit = await harness.PaymentAs(ops).AuditLedgerAsync(new AuditLedgerRequest { PlayerId = id }, cancellationToken: Timeout);
        Assert.True(audit.Consistent, string.Join("; ", audit.Discrepancies));

        // The inventory: the sword bought and the three potions of the reward; the experience of the quest, level 3.
        var state = (await harness.StateManagerAs(player).GetPlayerStateAsync(new GetPlayerStateRequest { PlayerId = id }, cancellationToken: Timeout)).State;
        Assert.Equal(
            new Dictionary<string, int> { ["item.potion.minor-healing"] = 3, ["item.sword.iron"] = 1 },
            state.Inventory.Slots.GroupBy(s => s.Stack.ItemId).ToDictionary(g => g.Key, g => g.Sum(s => s.Stack.Quantity)));
        Assert.Equal((400, 3), (state.Experience, state.Level));

        // The quest log: one entry, completed, granted under the key the contract names.
        var entriesInLog = (await quests.ListPlayerQuestsAsync(new ListPlayerQuestsRequest { PlayerId = id }, cancellationToken: Timeout)).PlayerQuests;
        var entry = Assert.Single(entriesInLog);
        Assert.Equal((PlayerQuestState.Completed, RewardStatus.Granted, $"quest:{id}:{wolves.QuestId}:1"), (entry.State, entry.RewardStatus, entry.RewardGrantKey));
        Assert.All(entry.Objectives, o => Assert.True(o.Completed));
        Assert.Equal(SessionState.Active, (await harness.StateManagerAs(player).GetSessionAsync(new GetSessionRequest { Name = session.Name }, cancellationToken: Timeout)).Session.State);
    }

    private static async Task<PlayerQuest> AwaitGrantedAsync(QuestSystemServiceClient client, string playerId, string questId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var quest = (await client.GetPlayerQuestAsync(new GetPlayerQuestRequest { PlayerId = playerId, QuestId = questId }, cancellationToken: Timeout)).PlayerQuest;
            if (quest.RewardStatus == RewardStatus.Granted)
            {
                return quest;
            }

            Assert.True(quest.RewardStatus == RewardStatus.Pending && DateTime.UtcNow < deadline, $"the grant is {quest.RewardStatus}: {quest.RewardError}");
            await Task.Delay(100, Timeout);
        }
    }
}
