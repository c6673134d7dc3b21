using GameSystem.Common.V1;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Events.Tests;

/// <summary>The host's path: a service built with its outbox, then its relay and consumers run beside it.</summary>
public sealed class ServiceEventsTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task ServiceWithOutboxAndSubscriptions_GetsItsOutbox_AndItsEventsFlowBothWays()
    {
        await using var harness = await BusHarness.StartAsync(nats);
        var services = new ServiceCollection()
            .AddSingleton(harness.Client)
            .AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance)
            .AddSingleton(EventRelayOptions.Default with { SweepInterval = TimeSpan.FromMilliseconds(200) })
            .AddGameSystemStateStore(null);
        await using var provider = services.BuildServiceProvider();

        // What the host does for each implementation it starts.
        Assert.True(ServiceEvents.TakesOutbox(typeof(LedgerService)));
        var outbox = new EventOutbox("ledger");
        var service = ActivatorUtilities.CreateInstance<LedgerService>(provider, outbox);
        await using var events = ServiceEvents.Create(provider, "ledger", service, outbox);
        Assert.NotNull(events);
        Assert.Equal("ledger", events.Relay?.Outbox);
        Assert.Equal("ledger.quest-rewards", Assert.Single(events.Consumers).Name);
        await events.StartAsync(Timeout);
        await Eventually.HoldsAsync(() => harness.Bus.IsActive("ledger.quest-rewards"), "the consumer subscribed");

        var completed = new DomainEvent { EventId = "quest-completed/q-17/aria", Type = "quest.completed", Subject = "quests/q-17" };
        completed.Attributes.Add("player", new TypedValue { StringValue = "aria" });
        harness.Bus.Append(completed);

        // The handler's transaction enqueued the credit; the relay delivered it.
        var credited = await Eventually.HoldsAsync(
            () => harness.Bus.Stored().FirstOrDefault(e => e.Event.Type == "ledger.credited")?.Event,
            e => e is not null,
            "the credit event published");
        Assert.Equal(("credit/quest-completed/q-17/aria", "players/aria", "ledger"), (credited!.EventId, credited.Subject, credited.Source));
        await events.StopAsync(Timeout);
    }

    [Fact]
    public void ServiceWithNeitherOutboxNorSubscriptions_GetsNothingToRun()
    {
        using var provider = new ServiceCollection().BuildServiceProvider();
        Assert.False(ServiceEvents.TakesOutbox(typeof(PlainService)));
        Assert.Null(ServiceEvents.Create(provider, "plain", new PlainService(), null));
    }

    private sealed class PlainService;

    /// <summary>Credits a player once per completed quest, and says so with an event of its own.</summary>
    private sealed class LedgerService(IStateStore store, EventOutbox outbox) : IEventSubscriber
    {
        public IReadOnlyList<EventSubscription> Subscriptions => [new("quest-rewards", ["quest.completed"], OnQuestCompletedAsync)];

        private async ValueTask OnQuestCompletedAsync(ReceivedEvent received, CancellationToken cancellationToken)
        {
            var player = received.Event.Attributes["player"].StringValue;

            // Idempotent: a redelivered event finds its credit already there.
            var transaction = new StateTransaction().Set($"ledger/{{{player}}}/credits/{received.Event.EventId}", "100"u8.ToArray(), expectedVersion: 0);
            outbox.Publish(transaction, new DomainEvent { EventId = $"credit/{received.Event.EventId}", Type = "ledger.credited", Subject = $"players/{player}" });
            await store.ExecuteAsync(transaction, cancellationToken);
        }
    }
}
