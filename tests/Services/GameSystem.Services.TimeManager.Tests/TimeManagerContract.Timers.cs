using GameSystem.Common.V1;
using GameSystem.TimeManager.V1;
using Grpc.Core;
using Timer = GameSystem.TimeManager.V1.Timer;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>Timers through the generated client: scheduling, firing on the clock and on jumps, their events in the outbox.</summary>
public abstract partial class TimeManagerContract
{
    private static readonly TimeSpan SchedulerStep = TimeSpan.FromMilliseconds(250);

    private static CreateTimerRequest NewTimer(string worldId, long fireAfter = 3600) => new()
    {
        WorldId = worldId,
        RequestId = Guid.NewGuid().ToString(),
        FireAfterGameSeconds = fireAfter,
        Subject = $"players/{Faker.Random.AlphaNumeric(6)}/quests/{Faker.Random.Number(1, 99)}",
        Owner = Faker.PickRandom("quest-system", "npc-behavior", "story-teller"),
        Attributes = { ["npc"] = new TypedValue { StringValue = Faker.Name.FirstName() }, ["gold"] = new TypedValue { IntValue = Faker.Random.Number(1, 500) } },
    };

    /// <summary>
    /// Moves the fake clock one scheduler interval at a time (the scheduler sleeps on it) until
    /// <paramref name="condition"/> holds; bounded so a timer that never fires fails the test.
    /// </summary>
    private async Task AdvanceUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var step = 0; step < 200; step++)
        {
            if (await condition())
            {
                return;
            }

            _time.Advance(SchedulerStep);
            await Task.Delay(20, Timeout);
        }

        Assert.Fail($"Gave up waiting: {what}");
    }

    /// <summary>Reads a WatchClock stream into <paramref name="received"/> (locked) until its first TimerFired.</summary>
    private static Task WatchUntilATimerFiresAsync(TimeManagerHarness mesh, WatchClockRequest request, List<WatchClockResponse> received) => Task.Run(async () =>
    {
        await foreach (var update in mesh.Client.WatchClockAsync(request, cancellationToken: Timeout))
        {
            lock (received)
            {
                received.Add(update);
            }

            if (update.UpdateCase == WatchClockResponse.UpdateOneofCase.TimerFired)
            {
                return;
            }
        }
    }, Timeout);

    private static async Task<Timer> GetTimerAsync(TimeManagerHarness mesh, string worldId, string timerId) =>
        (await mesh.Client.GetTimerAsync(new GetTimerRequest { WorldId = worldId, TimerId = timerId }, cancellationToken: Timeout)).Timer;

    [Fact(Timeout = 20_000)]
    public async Task CreateTimer_ThenGetTimer_ReturnsTheScheduledTimerWithItsCalendarTime()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate(scale: 60);
        clock.StartGameSeconds = 6 * 3600;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId, fireAfter: 2 * 3600);

        var created = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;
        var read = await GetTimerAsync(mesh, clock.WorldId, created.TimerId);

        Assert.StartsWith("tmr-", created.TimerId, StringComparison.Ordinal);
        Assert.Equal(created, read);
        Assert.Equal((TimerState.Scheduled, 8 * 3600L, 8, 0L), (read.State, read.FireAtGameSeconds, read.FireAt.Hour, read.FireCount));
        Assert.Equal("time.timer.fired", read.EventType);
        Assert.Equal((request.Subject, request.Owner), (read.Subject, read.Owner));
        Assert.Equal(request.Attributes, read.Attributes);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateTimer_RetriedWithTheSameRequestId_ReturnsTheFirstTimer_AndATakenIdFailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId);

        var first = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;
        var retry = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;
        var named = NewTimer(clock.WorldId);
        named.TimerId = "harvest.festival";
        await mesh.Client.CreateTimerAsync(named, cancellationToken: Timeout);
        var clash = NewTimer(clock.WorldId);
        clash.TimerId = named.TimerId;

        Assert.Equal(first, retry);
        var error = await FailsAsync(StatusCode.AlreadyExists, () => mesh.Client.CreateTimerAsync(clash, cancellationToken: Timeout).AsTask());
        Assert.Contains("harvest.festival", error.Status.Detail, StringComparison.Ordinal);
        var timers = (await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId }, cancellationToken: Timeout)).Timers;
        Assert.Equal(2, timers.Count);
    }

    public static TheoryData<string, CreateTimerRequest> InvalidTimers => new()
    {
        { "when", new CreateTimerRequest { RequestId = "r" } },
        { "request_id", new CreateTimerRequest { FireAfterGameSeconds = 60 } },
        { "fire_after_game_seconds", new CreateTimerRequest { RequestId = "r", FireAfterGameSeconds = 0 } },
        { "fire_at_game_seconds", new CreateTimerRequest { RequestId = "r", FireAtGameSeconds = -5 } },
        { "repeat_interval_game_seconds", new CreateTimerRequest { RequestId = "r", FireAfterGameSeconds = 60, RepeatIntervalGameSeconds = 30 } },
        { "event_type", new CreateTimerRequest { RequestId = "r", FireAfterGameSeconds = 60, EventType = "Quest Completed!" } },
        { "timer_id", new CreateTimerRequest { RequestId = "r", FireAfterGameSeconds = 60, TimerId = "no spaces/allowed" } },
        { "fire_at_date.day_of_year", new CreateTimerRequest { RequestId = "r", FireAtDate = new CalendarDate { Year = 1, DayOfYear = 999 } } },
    };

    [Theory(Timeout = 20_000)]
    [MemberData(nameof(InvalidTimers))]
    public async Task CreateTimer_WithInvalidInput_FailsInvalidArgumentNamingTheField(string field, CreateTimerRequest request)
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        request.WorldId = clock.WorldId;

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout).AsTask());

        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task TimerCalls_ForAMissingWorldOrTimer_FailNotFound()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var missingWorld = NewWorldId();

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.CreateTimerAsync(NewTimer(missingWorld), cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = missingWorld }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetTimerAsync(new GetTimerRequest { WorldId = clock.WorldId, TimerId = "no-such-timer" }, cancellationToken: Timeout).AsTask());
        var error = await FailsAsync(StatusCode.NotFound, () => mesh.Client.CancelTimerAsync(new CancelTimerRequest { WorldId = clock.WorldId, TimerId = "no-such-timer" }, cancellationToken: Timeout).AsTask());
        Assert.Contains("no-such-timer", error.Status.Detail, StringComparison.Ordinal);
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.GetTimerAsync(new GetTimerRequest { WorldId = clock.WorldId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Timer_WhenTheRunningClockReachesItsTime_FiresOnce_AndRecordsItsEventInTheWorldsOutbox()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate(scale: 60);
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId, fireAfter: 6000); // 100 real seconds at 60x
        request.EventType = "npc.schedule.wake";
        var timer = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;

        _time.Advance(TimeSpan.FromSeconds(50));
        await Task.Delay(100, Timeout);
        Assert.Equal(TimerState.Scheduled, (await GetTimerAsync(mesh, clock.WorldId, timer.TimerId)).State);
        Assert.Empty(await mesh.OutboxAsync());

        _time.Advance(TimeSpan.FromSeconds(50));
        await AdvanceUntilAsync(async () => (await mesh.OutboxAsync()).Count > 0, "the fired event reaches the outbox");
        var fired = await GetTimerAsync(mesh, clock.WorldId, timer.TimerId);

        Assert.Equal((TimerState.Fired, 1L), (fired.State, fired.FireCount));
        Assert.NotNull(fired.LastFireTime);
        var (partition, published) = Assert.Single(await mesh.OutboxAsync());
        Assert.Equal($"world:{clock.WorldId}", partition);
        Assert.Equal($"{clock.WorldId}/{timer.TimerId}/1", published.EventId);
        Assert.Equal(("npc.schedule.wake", request.Subject, "time-manager"), (published.Type, published.Subject, published.Source));
        Assert.Equal(request.Attributes, published.Attributes);
        var payload = TimerFired.Parser.ParseFrom(published.Payload);
        Assert.Equal(TimerFired.Descriptor.FullName, published.PayloadType);
        Assert.Equal((1L, 6000L, request.Owner, 0L, true), (payload.Occurrence, payload.ScheduledGameSeconds, payload.Owner, payload.MissedOccurrences, payload.Final));
        Assert.True(payload.FiredAt.ElapsedGameSeconds >= 6000);

        // Later passes neither fire it again nor record it again.
        for (var i = 0; i < 8; i++)
        {
            _time.Advance(SchedulerStep);
            await Task.Delay(20, Timeout);
        }

        Assert.Single(await mesh.OutboxAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateTimer_WithAFireTimeAlreadyPassed_FiresAtOnce()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartGameSeconds = 10_000;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId);
        request.FireAtGameSeconds = 500;

        var timer = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;

        Assert.Equal((TimerState.Fired, 1L), (timer.State, timer.FireCount));
    }

    [Fact(Timeout = 30_000)]
    public async Task RecurringTimer_PassedByAJump_FiresOnceReportingTheOccurrencesItMissed()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate(scale: 60);
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId, fireAfter: 3600);
        request.RepeatIntervalGameSeconds = 3600;
        var timer = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;

        var jump = await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = timer.FireAtGameSeconds + (3 * 3600) + 100 }, cancellationToken: Timeout);
        var after = await GetTimerAsync(mesh, clock.WorldId, timer.TimerId);

        Assert.Equal(1, jump.FiredTimerCount);
        Assert.Equal((TimerState.Scheduled, 1L), (after.State, after.FireCount));
        Assert.Equal(timer.FireAtGameSeconds + (4 * 3600), after.FireAtGameSeconds);
        var (_, payload) = Assert.Single(await mesh.FiresAsync());
        Assert.Equal((1L, 3L, timer.FireAtGameSeconds, false), (payload.Occurrence, payload.MissedOccurrences, payload.ScheduledGameSeconds, payload.Final));
        Assert.Equal(timer.FireAtGameSeconds + (3 * 3600) + 100, payload.FiredAt.ElapsedGameSeconds);
    }

    [Fact(Timeout = 30_000)]
    public async Task PausedClock_DoesNotFireTimers_ButAJumpPastThemFiresThemInOrder()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate(scale: 60);
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var late = NewTimer(clock.WorldId, fireAfter: 7200);
        late.TimerId = "late";
        var early = NewTimer(clock.WorldId, fireAfter: 600);
        early.TimerId = "early";
        var beyond = NewTimer(clock.WorldId, fireAfter: 90_000);
        await mesh.Client.CreateTimerAsync(late, cancellationToken: Timeout);
        await mesh.Client.CreateTimerAsync(early, cancellationToken: Timeout);
        await mesh.Client.CreateTimerAsync(beyond, cancellationToken: Timeout);

        _time.Advance(TimeSpan.FromHours(2));
        await Task.Delay(200, Timeout);
        Assert.Equal(TimerState.Scheduled, (await GetTimerAsync(mesh, clock.WorldId, "early")).State);

        var jump = await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 8000 }, cancellationToken: Timeout);

        Assert.Equal((2, ClockState.Paused), (jump.FiredTimerCount, jump.Clock.State));
        Assert.Equal(["early", "late"], (await mesh.FiresAsync()).Select(e => e.Fire.TimerId));
        var timers = (await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, State = TimerState.Scheduled }, cancellationToken: Timeout)).Timers;
        Assert.Equal(90_000, Assert.Single(timers).FireAtGameSeconds);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetClockTime_Rewound_DoesNotFireFiredTimersAgain()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var timer = (await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 600), cancellationToken: Timeout)).Timer;
        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 1000 }, cancellationToken: Timeout);

        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 0, AllowRewind = true }, cancellationToken: Timeout);
        var again = await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 2000 }, cancellationToken: Timeout);

        Assert.Equal(0, again.FiredTimerCount);
        Assert.Equal((TimerState.Fired, 1L), ((await GetTimerAsync(mesh, clock.WorldId, timer.TimerId)).State, (await GetTimerAsync(mesh, clock.WorldId, timer.TimerId)).FireCount));
    }

    [Fact(Timeout = 30_000)]
    public async Task CancelTimer_StopsItFiring_IsIdempotent_AndFailsForAFiredOneShot()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var doomed = (await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 600), cancellationToken: Timeout)).Timer;
        var done = (await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 300), cancellationToken: Timeout)).Timer;
        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 400 }, cancellationToken: Timeout);

        var cancelled = (await mesh.Client.CancelTimerAsync(new CancelTimerRequest { WorldId = clock.WorldId, TimerId = doomed.TimerId }, cancellationToken: Timeout)).Timer;
        var again = (await mesh.Client.CancelTimerAsync(new CancelTimerRequest { WorldId = clock.WorldId, TimerId = doomed.TimerId }, cancellationToken: Timeout)).Timer;
        var jump = await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 5000 }, cancellationToken: Timeout);

        Assert.Equal(TimerState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.CancelTime);
        Assert.Equal(cancelled, again);
        Assert.Equal(0, jump.FiredTimerCount);
        Assert.Equal(0, (await GetTimerAsync(mesh, clock.WorldId, doomed.TimerId)).FireCount);
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.CancelTimerAsync(new CancelTimerRequest { WorldId = clock.WorldId, TimerId = done.TimerId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task ListTimers_PagesSoonestFirst_AndFiltersByStateOwnerAndSubject()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var requests = Enumerable.Range(0, 7).Select(i =>
        {
            var request = NewTimer(clock.WorldId, fireAfter: Faker.Random.Number(60, 50_000));
            request.Owner = i % 2 == 0 ? "quest-system" : "npc-behavior";
            return request;
        }).ToList();
        requests[3].FireAfterGameSeconds = requests[4].FireAfterGameSeconds; // a tie, ordered by timer id
        foreach (var request in requests)
        {
            await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout);
        }

        var listed = new List<Timer>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, PageSize = 3, PageToken = token }, cancellationToken: Timeout);
            Assert.True(page.Timers.Count <= 3);
            listed.AddRange(page.Timers);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(7, listed.Count);
        Assert.Equal(listed.OrderBy(t => t.FireAtGameSeconds).ThenBy(t => t.TimerId, StringComparer.Ordinal).Select(t => t.TimerId), listed.Select(t => t.TimerId));
        var quests = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, Owner = "quest-system" }, cancellationToken: Timeout);
        Assert.Equal(4, quests.Timers.Count);
        var bySubject = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, Subject = requests[5].Subject }, cancellationToken: Timeout);
        Assert.Contains(bySubject.Timers, t => t.Subject == requests[5].Subject);
        Assert.Empty((await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, State = TimerState.Fired }, cancellationToken: Timeout)).Timers);
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, PageToken = "not-a-token" }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, PageSize = 501 }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task DeleteClock_CancelsItsTimers_AndReportsHowMany()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 600), cancellationToken: Timeout);
        await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 900), cancellationToken: Timeout);
        var cancelled = (await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 1200), cancellationToken: Timeout)).Timer;
        await mesh.Client.CancelTimerAsync(new CancelTimerRequest { WorldId = clock.WorldId, TimerId = cancelled.TimerId }, cancellationToken: Timeout);

        var deleted = await mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = clock.WorldId }, cancellationToken: Timeout);
        await mesh.Client.CreateClockAsync(NewCreate(clock.WorldId), cancellationToken: Timeout);

        Assert.Equal(2, deleted.CancelledTimerCount);
        Assert.Empty((await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId }, cancellationToken: Timeout)).Timers);
    }

    [Fact(Timeout = 30_000)]
    public async Task FiredEvents_OfARecurringTimer_AreRecordedInFireOrder_WithDeterministicIds_AndNeverTwice()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId, fireAfter: 600);
        request.RepeatIntervalGameSeconds = 600;
        var timer = (await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;
        for (var i = 1; i <= 3; i++)
        {
            await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = i * 600 }, cancellationToken: Timeout);
        }

        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(200, Timeout);

        Assert.Equal(3, (await GetTimerAsync(mesh, clock.WorldId, timer.TimerId)).FireCount);
        Assert.Equal(
            [$"{clock.WorldId}/{timer.TimerId}/1", $"{clock.WorldId}/{timer.TimerId}/2", $"{clock.WorldId}/{timer.TimerId}/3"],
            (await mesh.OutboxAsync()).Select(e => e.Event.EventId));
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchClock_WithTimerEvents_StreamsTheFiresOfTheOwnerAskedFor()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var mine = NewTimer(clock.WorldId, fireAfter: 600);
        mine.Owner = "story-teller";
        var theirs = NewTimer(clock.WorldId, fireAfter: 300);
        theirs.Owner = "weather-manager";
        var mineTimer = (await mesh.Client.CreateTimerAsync(mine, cancellationToken: Timeout)).Timer;
        await mesh.Client.CreateTimerAsync(theirs, cancellationToken: Timeout);
        var received = new List<WatchClockResponse>();
        var reader = WatchUntilATimerFiresAsync(mesh, new WatchClockRequest { WorldId = clock.WorldId, IncludeTimerEvents = true, TimerOwner = "story-teller" }, received);
        await AdvanceUntilAsync(() => Task.FromResult(received.Count > 0), "the snapshot");
        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 1000 }, cancellationToken: Timeout);
        await AdvanceUntilAsync(() => Task.FromResult(reader.IsCompleted), "the timer event on the stream");
        await reader;

        var fired = Assert.Single(received, r => r.UpdateCase == WatchClockResponse.UpdateOneofCase.TimerFired).TimerFired;
        Assert.Equal((mineTimer.TimerId, "story-teller", 1L), (fired.TimerId, fired.Owner, fired.Occurrence));
    }
}
