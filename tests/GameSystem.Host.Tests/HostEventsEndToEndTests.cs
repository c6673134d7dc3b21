using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// Domain events through the running host, from a service's transaction to a subscriber: a
/// timer fires in time-manager, the host's relay delivers the event from time-manager's outbox
/// to event-bus, and an event-bus Subscribe stream receives it.
/// </summary>
public sealed class HostEventsEndToEndTests(NatsServerFixture nats)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task FiredTimer_ReachesAnEventBusSubscriber_AsTimerFired_WithEveryFieldAsTheContractSays()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = HostProcess.Start(["--services", "time-manager,event-bus", "--nats", nats.Url, "--GameSystem:Mesh:SubjectPrefix", prefix]);
        await host.WaitForOutputAsync(line => line.Contains($"{prefix}.gamesystem.event_bus.v1.EventBusService.*", StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var deadline = DateTime.UtcNow.AddSeconds(60);

        await WaitForStreamAsync(caller, deadline);
        await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "e2e-world", RequestId = "clock-1", TimeScale = 60 }, deadline: deadline, cancellationToken: Cancellation);
        var attributes = new Dictionary<string, TypedValue> { ["npc"] = new() { StringValue = "smith" }, ["hour"] = new() { IntValue = 6 } };
        var create = new CreateTimerRequest
        {
            WorldId = "e2e-world",
            RequestId = "timer-1",
            TimerId = "wake-smith",
            FireAfterGameSeconds = 60,
            EventType = "npc.schedule.wake",
            Subject = "npcs/smith",
            Owner = "npc-behavior",
        };
        create.Attributes.Add(attributes);
        var timer = (await caller.TimeManager.CreateTimerAsync(create, deadline: deadline, cancellationToken: Cancellation)).Timer;

        StoredEvent? stored = null;
        // From the start of the stream: whenever the relay delivered it, the event is there.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        await foreach (var item in caller.EventBus.SubscribeAsync(new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.All }, deadline: deadline, cancellationToken: stop.Token))
        {
            if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event && item.Event.Event.Type == "npc.schedule.wake")
            {
                stored = item.Event;
                break;
            }
        }

        Assert.NotNull(stored);
        var domainEvent = stored.Event;
        var fired = TimerFired.Parser.ParseFrom(domainEvent.Payload);
        var clock = (await caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "e2e-world" }, deadline: deadline, cancellationToken: Cancellation)).Clock;

        // The envelope.
        Assert.Equal("events", stored.Stream);
        Assert.True(stored.Sequence >= 1);
        Assert.NotNull(stored.PublishTime);
        Assert.Equal("e2e-world/wake-smith/1", domainEvent.EventId);
        Assert.Equal("npc.schedule.wake", domainEvent.Type);
        Assert.Equal("time-manager", domainEvent.Source);
        Assert.Equal("npcs/smith", domainEvent.Subject);
        Assert.Equal(TimerFired.Descriptor.FullName, domainEvent.PayloadType);
        Assert.Equal(attributes, domainEvent.Attributes);
        Assert.Equal(fired.FireTime, domainEvent.OccurredAt);

        // The payload, field by field.
        Assert.Equal("e2e-world/wake-smith/1", fired.EventId);
        Assert.Equal("e2e-world", fired.WorldId);
        Assert.Equal("wake-smith", fired.TimerId);
        Assert.Equal("npc.schedule.wake", fired.EventType);
        Assert.Equal("npcs/smith", fired.Subject);
        Assert.Equal(attributes, fired.Attributes);
        Assert.Equal("npc-behavior", fired.Owner);
        Assert.Equal(1, fired.Occurrence);
        Assert.Equal(timer.FireAtGameSeconds, fired.ScheduledGameSeconds);
        Assert.InRange(fired.FiredAt.ElapsedGameSeconds, fired.ScheduledGameSeconds, clock.Now.ElapsedGameSeconds);
        Assert.Equal(1, fired.FiredAt.Year);
        Assert.True(fired.FiredAt.DayOfYear >= 1);
        Assert.NotEqual(Season.Unspecified, fired.FiredAt.Season);
        Assert.NotEqual(DayPhase.Unspecified, fired.FiredAt.DayPhase);
        Assert.InRange(fired.FireTime.ToDateTime(), stored.PublishTime.ToDateTime().AddMinutes(-1), stored.PublishTime.ToDateTime());
        Assert.Equal(0, fired.MissedOccurrences);
        Assert.True(fired.Final, "A one-shot timer's only fire is its last: final must be true.");
    }

    /// <summary>event-bus declares its streams once it is served; wait for the default one.</summary>
    private static async Task WaitForStreamAsync(MeshCaller caller, DateTime deadline)
    {
        while (true)
        {
            try
            {
                await caller.EventBus.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = "events" }, deadline: deadline, cancellationToken: Cancellation);
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Cancellation);
            }
        }
    }
}
