using Bogus;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.State;
using GameSystem.StateManager.V1;
using GameSystem.Testing;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>The quest-system contract through the generated client over nats-server, with the real payment and state-manager beside it, run once per state store.</summary>
public abstract partial class QuestSystemContract(NatsServerFixture nats)
{
    private static readonly string[] Places = ["Greyhollow", "the Sunken Keep", "Emberfall", "Mistmoor", "the Ashen Vale", "Thornwick", "Saltmarsh"];
    private static readonly string[] Deeds = ["The Wolves of", "Shadows over", "The Lost Relic of", "A Debt in", "The Siege of", "Whispers in"];
    private static readonly (string Creature, string Plural)[] Creatures = [("npc.wolf", "wolves"), ("npc.bandit", "bandits"), ("npc.ghoul", "ghouls"), ("npc.spider", "giant spiders"), ("npc.drake", "drakes")];
    private static readonly (string Item, string Name)[] Herbs = [("item.herb.moonpetal", "moonpetals"), ("item.herb.bloodroot", "bloodroot"), ("item.ore.star-iron", "star-iron ore")];
    private static readonly string[] Npcs = ["npc.elder-maren", "npc.captain-roderic", "npc.witch-ilsa", "npc.smith-borin"];

    /// <summary>Items quest rewards hand out; each has an item definition in state-manager (made per harness).</summary>
    private static readonly (string Item, int MaxStack)[] RewardItems = [("item.potion.minor-healing", 20), ("item.sword.iron", 1), ("item.scroll.recall", 10), ("item.herb.moonpetal", 50)];

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    /// <summary>Seeded per test, so a failure reproduces.</summary>
    private Faker Faker { get; } = new() { Random = new Randomizer(20261206) };

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<QuestHarness> StartAsync(bool withPayment = true)
    {
        var harness = await QuestHarness.StartAsync(nats, await CreateStoreAsync(), await CreateStoreAsync(), withPayment);
        var stateManager = harness.StateManagerAs(harness.Observer);
        foreach (var (item, maxStack) in RewardItems)
        {
            await stateManager.PutItemDefinitionAsync(new PutItemDefinitionRequest { ItemDefinition = new ItemDefinition { ItemId = item, DisplayName = item, MaxStackSize = maxStack } }, cancellationToken: Timeout);
        }

        return harness;
    }

    private string NewPlayerId() => "acc-" + Faker.Random.AlphaNumeric(12).ToLowerInvariant();

    private string NewQuestId(string kind = "side") => $"q.{kind}.{Faker.Random.AlphaNumeric(8).ToLowerInvariant()}";

    private string NewId() => Faker.Random.Guid().ToString();

    /// <summary>A published quest that looks like a game's: "slay 10 wolves", "gather 5 moonpetals", a reward of gold, a potion and experience.</summary>
    private QuestDefinition NewQuest(string? questId = null, Action<QuestDefinition>? adjust = null)
    {
        var (creature, plural) = Faker.PickRandom(Creatures);
        var (herb, herbName) = Faker.PickRandom(Herbs);
        var slay = Faker.Random.Int(3, 12);
        var gather = Faker.Random.Int(2, 6);
        var definition = new QuestDefinition
        {
            QuestId = questId ?? NewQuestId(),
            DisplayName = $"{Faker.PickRandom(Deeds)} {Faker.PickRandom(Places)}",
            Description = Faker.Lorem.Sentence(12),
            WorldId = "hub",
            RegionId = "region." + Faker.PickRandom(Places).ToLowerInvariant().Replace(' ', '-'),
            GiverNpcId = Faker.PickRandom(Npcs),
            Objectives =
            {
                new Objective { ObjectiveId = "slay", Description = $"Slay {slay} {plural}", Kind = ObjectiveKind.Defeat, TargetId = creature, RequiredCount = slay },
                new Objective { ObjectiveId = "gather", Description = $"Gather {gather} {herbName}", Kind = ObjectiveKind.Collect, TargetId = herb, RequiredCount = gather },
            },
            Rewards = new Reward
            {
                Currencies = { new CurrencyAmount { Currency = Currency.Soft, Amount = Faker.Random.Int(50, 500) } },
                Items = { new ItemStack { ItemId = "item.potion.minor-healing", Quantity = Faker.Random.Int(1, 5) } },
                Experience = Faker.Random.Int(100, 900),
            },
            Tags = { "side" },
            State = QuestDefinitionState.Published,
        };
        adjust?.Invoke(definition);
        return definition;
    }

    private static async Task<QuestDefinition> CreateAsync(QuestHarness harness, QuestDefinition definition) =>
        (await harness.QuestsAs(harness.Designer).CreateQuestDefinitionAsync(new CreateQuestDefinitionRequest { QuestDefinition = definition, RequestId = Guid.NewGuid().ToString() }, cancellationToken: Timeout)).QuestDefinition;

    private static async Task<PlayerQuest> AcceptAsync(QuestSystemServiceClient client, string playerId, string questId, string? requestId = null) =>
        (await client.AcceptQuestAsync(new AcceptQuestRequest { PlayerId = playerId, QuestId = questId, RequestId = requestId ?? Guid.NewGuid().ToString() }, cancellationToken: Timeout)).PlayerQuest;

    /// <summary>Reports every objective of <paramref name="definition"/> done, as the game's observers would.</summary>
    private static async Task FinishObjectivesAsync(QuestHarness harness, string playerId, QuestDefinition definition)
    {
        var observer = harness.QuestsAs(harness.Observer);
        foreach (var objective in definition.Objectives)
        {
            await observer.ReportObjectiveProgressAsync(new ReportObjectiveProgressRequest { PlayerId = playerId, ReportId = Guid.NewGuid().ToString(), Objective = new ObjectiveRef { QuestId = definition.QuestId, ObjectiveId = objective.ObjectiveId }, AbsoluteCount = objective.RequiredCount }, cancellationToken: Timeout);
        }
    }

    private static async Task<PlayerQuest> CompleteAsync(QuestSystemServiceClient client, string playerId, string questId, string? requestId = null) =>
        (await client.CompleteQuestAsync(new CompleteQuestRequest { PlayerId = playerId, QuestId = questId, RequestId = requestId ?? Guid.NewGuid().ToString() }, cancellationToken: Timeout)).PlayerQuest;

    private static async Task<PlayerQuest> GetAsync(QuestSystemServiceClient client, string playerId, string questId) =>
        (await client.GetPlayerQuestAsync(new GetPlayerQuestRequest { PlayerId = playerId, QuestId = questId }, cancellationToken: Timeout)).PlayerQuest;

    /// <summary>Polls the log until the attempt's grant is no longer PENDING (the worker's retries), or fails after <paramref name="within"/>.</summary>
    private static async Task<PlayerQuest> AwaitGrantAsync(QuestHarness harness, string playerId, string questId, TimeSpan? within = null)
    {
        var client = harness.QuestsAs(harness.Observer);
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var quest = await GetAsync(client, playerId, questId);
            if (quest.RewardStatus != RewardStatus.Pending)
            {
                return quest;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the grant {quest.RewardGrantKey} is still PENDING after {within ?? TimeSpan.FromSeconds(30)}");
            await Task.Delay(100, Timeout);
        }
    }

    /// <summary>What payment and state-manager hold for the player: wallet, ledger transactions, inventory, experience.</summary>
    private static async Task<Holdings> HoldingsAsync(QuestHarness harness, string playerId)
    {
        var payment = harness.PaymentAs(harness.Observer);
        var wallet = (await payment.GetWalletAsync(new GetWalletRequest { PlayerId = playerId }, cancellationToken: Timeout)).Wallet;
        var entries = new List<LedgerEntry>();
        var request = new ListLedgerEntriesRequest { PlayerId = playerId, PageSize = 500 };
        do
        {
            var page = await payment.ListLedgerEntriesAsync(request, cancellationToken: Timeout);
            entries.AddRange(page.Entries);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        var audit = await payment.AuditLedgerAsync(new AuditLedgerRequest { PlayerId = playerId }, cancellationToken: Timeout);
        var stateManager = harness.StateManagerAs(harness.Observer);
        var inventory = (await stateManager.GetInventoryAsync(new GetInventoryRequest { PlayerId = playerId }, cancellationToken: Timeout)).Inventory;
        long experience = 0;
        try
        {
            experience = (await stateManager.GetPlayerStateAsync(new GetPlayerStateRequest { PlayerId = playerId }, cancellationToken: Timeout)).State.Experience;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            // Never granted anything.
        }

        return new Holdings(
            wallet.Balances.Single(b => b.Currency == Currency.Soft).Amount,
            wallet.Balances.Single(b => b.Currency == Currency.Premium).Amount,
            entries.Select(e => e.TransactionId).Distinct().Count(),
            audit.Consistent,
            inventory.Slots.GroupBy(s => s.Stack.ItemId).ToDictionary(g => g.Key, g => g.Sum(s => s.Stack.Quantity)),
            experience);
    }

    /// <summary>Asserts the player holds exactly <paramref name="times"/> × the reward of <paramref name="definition"/> (and nothing else from quests).</summary>
    private static void AssertRewardedTimes(Holdings holdings, QuestDefinition definition, int times)
    {
        var reward = definition.Rewards;
        Assert.Equal(reward.Currencies.Where(c => c.Currency == Currency.Soft).Sum(c => c.Amount) * times, holdings.Soft);
        Assert.Equal(reward.Currencies.Where(c => c.Currency == Currency.Premium).Sum(c => c.Amount) * times, holdings.Premium);
        Assert.Equal(reward.Currencies.Count > 0 ? times : 0, holdings.LedgerTransactions);
        Assert.True(holdings.AuditConsistent, "payment's AuditLedger finds the ledger consistent");
        foreach (var item in reward.Items)
        {
            Assert.Equal(item.Quantity * times, holdings.Items.GetValueOrDefault(item.ItemId));
        }

        Assert.Equal(reward.Experience * times, holdings.Experience);
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

    /// <summary>The fields an error's google.rpc.BadRequest names.</summary>
    private static List<string> Fields(RpcException error) =>
        [.. error.GetRpcStatus().Details.Where(d => d.Is(Google.Rpc.BadRequest.Descriptor)).SelectMany(d => d.Unpack<Google.Rpc.BadRequest>().FieldViolations).Select(v => v.Field)];

    private sealed record Holdings(long Soft, long Premium, int LedgerTransactions, bool AuditConsistent, Dictionary<string, int> Items, long Experience);

    private static Duration Seconds(double seconds) => Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds));
}
