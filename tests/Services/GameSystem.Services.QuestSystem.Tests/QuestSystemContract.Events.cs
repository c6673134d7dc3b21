using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem.Tests;

/// <summary>quest-system reacts to other services' events through the runtime's event consumer.</summary>
public abstract partial class QuestSystemContract
{
    [Fact(Timeout = 90_000)]
    public async Task PurchaseCompleted_UnlocksAQuestThatRequiresTheOffer_AndARefundLocksItAgain()
    {
        await using var harness = await StartAsync();
        await using var relay = await harness.StartEventsAsync();
        var service = harness.Quests[0];
        await using var consumer = new EventConsumer(QuestHarness.ServiceName, service.Subscriptions.Single(s => s.Name == "purchases"), harness.EventBus, options: EventConsumerOptions.Default with { FirstReconnectBackoff = TimeSpan.FromMilliseconds(50), MaxReconnectBackoff = TimeSpan.FromMilliseconds(500) });
        await consumer.StartAsync(Timeout);
        await AwaitConsumerAsync(harness.EventBus, consumer.Name);

        var admin = harness.PaymentAs(harness.Observer);
        var offerId = "expansion-pass-" + Faker.Random.AlphaNumeric(6).ToLowerInvariant();
        await admin.PutOfferAsync(new PutOfferRequest { Offer = new Offer { OfferId = offerId, DisplayName = "The Frozen North expansion pass", Price = new CurrencyAmount { Currency = Currency.Premium, Amount = 500 }, Items = { new ItemStack { ItemId = "item.scroll.recall", Quantity = 1 } }, Active = true } }, cancellationToken: Timeout);
        var quest = await CreateAsync(harness, NewQuest("q.dlc.frozen-north", q => q.Prerequisites = new Prerequisites { PurchasedOfferIds = { offerId } }));
        var player = await harness.Identity.PlayerAsync(Timeout);
        var asPlayer = harness.QuestsAs(player);
        await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(asPlayer, player.Subject, quest.QuestId), $"requires a purchase of offer {offerId}");

        await admin.CreditAsync(new CreditRequest { PlayerId = player.Subject, Amount = new CurrencyAmount { Currency = Currency.Premium, Amount = 500 }, Reason = BalanceChangeReason.StoreTopUp, Reference = "receipt-" + NewId(), IdempotencyKey = NewId() }, cancellationToken: Timeout);
        var purchase = (await harness.PaymentAs(player).CreatePurchaseAsync(new CreatePurchaseRequest { PlayerId = player.Subject, OfferId = offerId, IdempotencyKey = NewId() }, cancellationToken: Timeout)).Purchase;

        var unlocked = await EventuallyAsync(async () => (await asPlayer.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player.Subject }, cancellationToken: Timeout)).Quests.Any(q => q.QuestDefinition.QuestId == quest.QuestId));
        Assert.True(unlocked, "the purchase event unlocked the quest");
        await admin.RefundPurchaseAsync(new RefundPurchaseRequest { PlayerId = player.Subject, PurchaseId = purchase.PurchaseId, Reason = "Bought by mistake", IdempotencyKey = NewId() }, cancellationToken: Timeout);
        var locked = await EventuallyAsync(async () => !(await asPlayer.ListAvailableQuestsAsync(new ListAvailableQuestsRequest { PlayerId = player.Subject }, cancellationToken: Timeout)).Quests.Any(q => q.QuestDefinition.QuestId == quest.QuestId));
        Assert.True(locked, "the refund event locked the quest again");
        await FailsAsync(StatusCode.FailedPrecondition, () => AcceptAsync(asPlayer, player.Subject, quest.QuestId), offerId);
        await consumer.StopAsync(Timeout);
    }

    [Fact(Timeout = 90_000)]
    public async Task WorldEventApplied_ByThePlayer_ProgressesReachAndInteractObjectives_OnceEvenWhenRedelivered()
    {
        await using var harness = await StartAsync();
        await using var relay = await harness.StartEventsAsync();
        var service = harness.Quests[0];
        await using var consumer = new EventConsumer(QuestHarness.ServiceName, service.Subscriptions.Single(s => s.Name == "world-progress"), harness.EventBus, options: EventConsumerOptions.Default with { FirstReconnectBackoff = TimeSpan.FromMilliseconds(50), MaxReconnectBackoff = TimeSpan.FromMilliseconds(500) });
        await consumer.StartAsync(Timeout);
        await AwaitConsumerAsync(harness.EventBus, consumer.Name);
        var quest = await CreateAsync(harness, NewQuest("q.main.sunken-keep", q =>
        {
            q.Objectives.Clear();
            q.Objectives.Add(new Objective { ObjectiveId = "reach-keep", Description = "Reach the Sunken Keep", Kind = ObjectiveKind.Reach, TargetId = "region.sunken-keep", RequiredCount = 1 });
            q.Objectives.Add(new Objective { ObjectiveId = "open-gate", Description = "Open the drowned gate", Kind = ObjectiveKind.Interact, TargetId = "gate.opened", RequiredCount = 2 });
            q.AutoComplete = true;
        }));
        var player = NewPlayerId();
        var client = harness.QuestsAs(harness.Observer);
        await AcceptAsync(client, player, quest.QuestId);

        // As world-state publishes them: the gate opened by the player, the same world event
        // delivered twice under two bus ids, and weather that nobody caused.
        var gate = WorldEvent("gate.opened", "region.sunken-keep", $"players/{player}");
        await PublishAsync(harness, gate, "world:" + gate.EventId);
        await PublishAsync(harness, gate, "world:" + gate.EventId + ":redelivered");
        await PublishAsync(harness, WorldEvent("gate.opened", "region.sunken-keep", "weather/storm-7"), NewId());

        Assert.True(await EventuallyAsync(async () => (await GetAsync(client, player, quest.QuestId)).Objectives[0].Completed), "the world event reached the Sunken Keep objective");
        await Task.Delay(TimeSpan.FromSeconds(1), Timeout);
        var progressed = await GetAsync(client, player, quest.QuestId);
        Assert.Equal(PlayerQuestState.Active, progressed.State);
        Assert.Equal(1, progressed.Objectives[1].CurrentCount);

        // A second gate, opened by the player: the last objective, and the quest completes itself.
        var second = WorldEvent("gate.opened", "region.sunken-keep", $"players/{player}");
        await PublishAsync(harness, second, "world:" + second.EventId);
        Assert.True(await EventuallyAsync(async () => (await GetAsync(client, player, quest.QuestId)).RewardStatus == RewardStatus.Granted), "the quest completed and was granted");
        AssertRewardedTimes(await HoldingsAsync(harness, player), quest, 1);
        await consumer.StopAsync(Timeout);
    }

    private WorldEvent WorldEvent(string type, string regionId, string subject) => new()
    {
        EventId = "we-" + Faker.Random.AlphaNumeric(12).ToLowerInvariant(),
        RegionId = regionId,
        Type = type,
        Source = "world-state",
        Subject = subject,
        OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    };

    private static async Task PublishAsync(QuestHarness harness, WorldEvent worldEvent, string busEventId)
    {
        var payload = new WorldEventApplied { Result = new AppliedWorldEvent { Event = worldEvent } };
        await harness.EventBus.PublishAsync(new PublishRequest
        {
            Event = new DomainEvent { EventId = busEventId, Type = "world.event.applied", Source = "world-state", Subject = "regions/" + worldEvent.RegionId, OccurredAt = worldEvent.OccurTime, Payload = payload.ToByteString(), PayloadType = WorldEventApplied.Descriptor.FullName },
        }, cancellationToken: Timeout);
    }

    /// <summary>A new durable consumer gets only events published after it exists: wait until event-bus has it.</summary>
    private static async Task AwaitConsumerAsync(EventBusServiceClient bus, string name)
    {
        Assert.True(await EventuallyAsync(async () =>
        {
            try
            {
                await bus.GetConsumerAsync(new GetConsumerRequest { Stream = "events", ConsumerName = name }, cancellationToken: Timeout);
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
            {
                return false;
            }
        }), $"event-bus never showed the consumer {name}");
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100, Timeout);
        }

        return false;
    }
}
