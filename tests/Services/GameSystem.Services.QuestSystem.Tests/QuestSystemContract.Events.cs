using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Payment.V1;
using GameSystem.QuestSystem.V1;
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
        await using var consumer = new EventConsumer(QuestHarness.ServiceName, Assert.Single(service.Subscriptions), harness.EventBus, options: EventConsumerOptions.Default with { FirstReconnectBackoff = TimeSpan.FromMilliseconds(50), MaxReconnectBackoff = TimeSpan.FromMilliseconds(500) });
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
