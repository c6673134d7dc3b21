using System.Text.RegularExpressions;
using Bogus;
using GameSystem.Services.TimeManager.Internal;
using GameSystem.State;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Grpc.Core;
using Timer = GameSystem.TimeManager.V1.Timer;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>
/// What the store design promises, through the generated client: events exactly as the
/// contract defines them, listings from indexes (ordered, paged, filtered, reading only what
/// they return), request ids claimed once under concurrent retries, and every multi-step
/// change completed by another instance when the one making it stops halfway.
/// </summary>
public abstract partial class TimeManagerContract
{
    private static Faker Seeded(int seed) => new() { Random = new Randomizer(seed) };

    private static string WorldIdFrom(Faker faker, int i) => $"{Regex.Replace(faker.Address.City(), "[^A-Za-z0-9]+", "-")}.{i:D3}.{faker.Random.AlphaNumeric(6)}";

    private static async Task<List<T>> AllPagesAsync<T>(Func<string, Task<(IEnumerable<T> Items, string Next)>> page, int maxPages = 1000)
    {
        var items = new List<T>();
        var token = "";
        for (var i = 0; i < maxPages; i++)
        {
            var (got, next) = await page(token);
            items.AddRange(got);
            if (next.Length == 0)
            {
                return items;
            }

            token = next;
        }

        Assert.Fail($"Still paging after {maxPages} pages");
        return items;
    }

    /// <summary>A paused clock (timers fire only by a jump) of a new world.</summary>
    private static async Task<CreateClockRequest> CreatePausedClockAsync(TimeManagerHarness mesh)
    {
        var clock = NewCreate();
        clock.StartPaused = true;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        return clock;
    }

    /// <summary>An instance on a store that can "crash" (go down right after a chosen commit), and the healthy store beneath it.</summary>
    private async Task<(IStateStore Store, ObservedStore Crashing, TimeManagerHarness Instance)> StartCrashableAsync()
    {
        var store = await CreateStoreAsync();
        var crashing = new ObservedStore(store);
        return (store, crashing, await StartAsync(store: crashing));
    }

    private static async Task<string> GenerationOfAsync(IStateStore store, string worldId) =>
        ClockRecord.Parser.ParseFrom((await store.GetAsync(StoreKeys.Clock(worldId), Timeout))!.Value.Span).Generation;

    [Fact(Timeout = 30_000)]
    public async Task TimerFired_AndTheDomainEventCarryingIt_HoldEveryFieldAsTheContractDefines()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        clock.StartGameSeconds = 1000;
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var oneShot = NewTimer(clock.WorldId, fireAfter: 500);
        oneShot.EventType = "quest.deadline.reached";
        oneShot.TimerId = "deadline";
        var recurring = NewTimer(clock.WorldId, fireAfter: 3600);
        recurring.RepeatIntervalGameSeconds = 3600;
        recurring.TimerId = "hourly";
        await mesh.Client.CreateTimerAsync(oneShot, cancellationToken: Timeout);
        await mesh.Client.CreateTimerAsync(recurring, cancellationToken: Timeout);

        // 1500 (deadline), 4600, 8200 and 11800 (hourly) are passed; the hourly timer folds two.
        var target = 1000 + (3 * 3600) + 10;
        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = target }, cancellationToken: Timeout);
        var firedAt = (await mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = target }, cancellationToken: Timeout)).GameTime;
        var fires = await mesh.FiresAsync();

        Assert.Equal(["deadline", "hourly"], fires.Select(f => f.Fire.TimerId));
        var expected = new[]
        {
            (Request: oneShot, Type: "quest.deadline.reached", Scheduled: 1500L, Missed: 0L, Final: true),
            (Request: recurring, Type: "time.timer.fired", Scheduled: 4600L, Missed: 2L, Final: false),
        };
        foreach (var ((domainEvent, fire), want) in fires.Zip(expected))
        {
            // TimerFired, field by field.
            Assert.Equal($"{clock.WorldId}/{want.Request.TimerId}/1", fire.EventId);
            Assert.Equal(clock.WorldId, fire.WorldId);
            Assert.Equal(want.Request.TimerId, fire.TimerId);
            Assert.Equal(want.Type, fire.EventType);
            Assert.Equal(want.Request.Subject, fire.Subject);
            Assert.Equal(want.Request.Attributes, fire.Attributes);
            Assert.Equal(want.Request.Owner, fire.Owner);
            Assert.Equal(1, fire.Occurrence);
            Assert.Equal(want.Scheduled, fire.ScheduledGameSeconds);
            Assert.Equal(firedAt, fire.FiredAt);
            Assert.Equal(_time.GetUtcNow(), fire.FireTime.ToDateTimeOffset());
            Assert.Equal(want.Missed, fire.MissedOccurrences);
            Assert.Equal(want.Final, fire.Final);

            // The DomainEvent that carries it.
            Assert.Equal(fire.EventId, domainEvent.EventId);
            Assert.Equal(want.Type, domainEvent.Type);
            Assert.Equal("time-manager", domainEvent.Source);
            Assert.Equal(want.Request.Subject, domainEvent.Subject);
            Assert.Equal(fire.FireTime, domainEvent.OccurredAt);
            Assert.Equal(want.Request.Attributes, domainEvent.Attributes);
            Assert.Equal(fire, TimerFired.Parser.ParseFrom(domainEvent.Payload));
            Assert.Equal("gamesystem.time_manager.v1.TimerFired", domainEvent.PayloadType);
        }

        // The recurring timer's next fire is its second occurrence, never final either.
        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 1000 + (4 * 3600) }, cancellationToken: Timeout);
        var second = (await mesh.FiresAsync())[^1].Fire;
        Assert.Equal(($"{clock.WorldId}/hourly/2", 2L, 1000L + (4 * 3600), 0L, false), (second.EventId, second.Occurrence, second.ScheduledGameSeconds, second.MissedOccurrences, second.Final));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListClocks_OverManySeededClocks_PagesInWorldIdOrder_ForEveryStateFilter()
    {
        await using var mesh = await StartAsync();
        var faker = Seeded(4101);
        var states = new Dictionary<string, ClockState>(StringComparer.Ordinal);
        for (var i = 0; i < 45; i++)
        {
            var create = NewCreate(WorldIdFrom(faker, i));
            create.StartPaused = faker.Random.Bool();
            await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
            states[create.WorldId] = create.StartPaused ? ClockState.Paused : ClockState.Running;
        }

        // Change some after creation, and delete some, so the directory has moved.
        foreach (var world in faker.PickRandom(states.Keys.ToList(), 15).ToList())
        {
            switch (faker.Random.Number(2))
            {
                case 0:
                    await mesh.Client.PauseClockAsync(new PauseClockRequest { WorldId = world }, cancellationToken: Timeout);
                    states[world] = ClockState.Paused;
                    break;
                case 1:
                    await mesh.Client.ResumeClockAsync(new ResumeClockRequest { WorldId = world }, cancellationToken: Timeout);
                    states[world] = ClockState.Running;
                    break;
                default:
                    await mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = world }, cancellationToken: Timeout);
                    states.Remove(world);
                    break;
            }
        }

        foreach (var filter in (ClockState[])[ClockState.Unspecified, ClockState.Running, ClockState.Paused])
        {
            var pageSize = faker.Random.Number(1, 17);
            var listed = await AllPagesAsync<Clock>(async token =>
            {
                var page = await mesh.Client.ListClocksAsync(new ListClocksRequest { PageSize = pageSize, PageToken = token, State = filter }, cancellationToken: Timeout);
                Assert.True(page.Clocks.Count <= pageSize);
                Assert.True(page.NextPageToken.Length == 0 || page.Clocks.Count == pageSize, "only the last page is short");
                return (page.Clocks, page.NextPageToken);
            });

            var expected = states.Where(s => filter == ClockState.Unspecified || s.Value == filter).Select(s => s.Key).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expected, listed.Select(c => c.WorldId));
            Assert.All(listed, c => Assert.Equal(states[c.WorldId], c.State));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ListTimers_OverManySeededTimers_PagesByFireTime_ForEveryFilterCombination()
    {
        await using var mesh = await StartAsync();
        var faker = Seeded(4102);
        var clock = await CreatePausedClockAsync(mesh);
        string[] owners = ["quest-system", "npc-behavior", "story-teller"];
        var subjects = Enumerable.Range(0, 4).Select(_ => $"players/{faker.Random.AlphaNumeric(6)}/quests/{faker.Random.Number(1, 99)}").ToArray();
        var created = new List<Timer>();
        for (var i = 0; i < 60; i++)
        {
            // Many ties (ordered by timer id); the first is a recurring timer and the second a
            // one-shot that the jump below fires, whatever the seed draws for the rest.
            var request = NewTimer(clock.WorldId, fireAfter: i switch { 0 => 600, 1 => 1200, _ => faker.Random.Number(1, 40) * 600 });
            request.Owner = faker.PickRandom(owners);
            request.Subject = faker.PickRandom(subjects);
            request.RepeatIntervalGameSeconds = i == 0 || (i > 1 && faker.Random.Bool(0.2f)) ? 3600 : 0;
            created.Add((await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer);
        }

        foreach (var timer in faker.PickRandom(created.Skip(2), 12))
        {
            await mesh.Client.CancelTimerAsync(new CancelTimerRequest { WorldId = clock.WorldId, TimerId = timer.TimerId }, cancellationToken: Timeout);
        }

        await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 9000 }, cancellationToken: Timeout);

        var everything = await AllPagesAsync<Timer>(async token =>
        {
            var page = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, PageSize = 7, PageToken = token }, cancellationToken: Timeout);
            return (page.Timers, page.NextPageToken);
        });
        Assert.Equal(created.Select(t => t.TimerId).Order(StringComparer.Ordinal), everything.Select(t => t.TimerId).Order(StringComparer.Ordinal));
        Assert.Equal(everything.OrderBy(t => t.FireAtGameSeconds).ThenBy(t => t.TimerId, StringComparer.Ordinal).Select(t => t.TimerId), everything.Select(t => t.TimerId));
        Assert.Contains(everything, t => t.State == TimerState.Fired);
        Assert.Contains(everything, t => t.State == TimerState.Cancelled);
        Assert.Contains(everything, t => t.State == TimerState.Scheduled && t.FireCount > 0); // a recurring timer the jump fired
        foreach (var timer in faker.PickRandom(everything, 5))
        {
            Assert.Equal(timer, await GetTimerAsync(mesh, clock.WorldId, timer.TimerId));
        }

        foreach (var state in (TimerState[])[TimerState.Unspecified, TimerState.Scheduled, TimerState.Fired, TimerState.Cancelled])
        {
            foreach (var owner in (string[])["", owners[1]])
            {
                foreach (var subject in (string[])["", subjects[2]])
                {
                    var pageSize = faker.Random.Number(1, 9);
                    var listed = await AllPagesAsync<Timer>(async token =>
                    {
                        var page = await mesh.Client.ListTimersAsync(
                            new ListTimersRequest { WorldId = clock.WorldId, PageSize = pageSize, PageToken = token, State = state, Owner = owner, Subject = subject }, cancellationToken: Timeout);
                        Assert.True(page.Timers.Count <= pageSize);
                        return (page.Timers, page.NextPageToken);
                    });

                    var expected = everything.Where(t => (state == TimerState.Unspecified || t.State == state) && (owner.Length == 0 || t.Owner == owner) && (subject.Length == 0 || t.Subject == subject));
                    Assert.Equal(expected.Select(t => t.TimerId), listed.Select(t => t.TimerId));
                }
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ListTimers_ReadsThePageAsked_NotEveryTimerOfTheWorld()
    {
        var store = new ObservedStore(await CreateStoreAsync());
        await using var mesh = await StartAsync(store: store);
        var clock = await CreatePausedClockAsync(mesh);
        for (var i = 0; i < 150; i++)
        {
            var request = NewTimer(clock.WorldId, fireAfter: 600 + i);
            request.Owner = i % 50 == 0 ? "weather-manager" : "npc-behavior";
            await mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout);
        }

        store.ResetCounts();
        var first = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, PageSize = 5 }, cancellationToken: Timeout);
        var timersReadForPage = store.KeysRead.Count(k => k.Contains("/timers/", StringComparison.Ordinal));
        store.ResetCounts();
        var rare = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId, Owner = "weather-manager" }, cancellationToken: Timeout);
        var timersReadForOwner = store.KeysRead.Count(k => k.Contains("/timers/", StringComparison.Ordinal));

        Assert.Equal(5, first.Timers.Count);
        Assert.NotEmpty(first.NextPageToken);
        Assert.Equal(6, timersReadForPage); // the page and one more, to know whether another page follows
        Assert.Equal(3, rare.Timers.Count);
        Assert.Empty(rare.NextPageToken);
        Assert.Equal(3, timersReadForOwner); // through the owner index: only that owner's timers
    }

    [Fact(Timeout = 60_000)]
    public async Task Scheduler_FiresTheDueTimers_ReadingOnlyWhatIsDue()
    {
        var store = new ObservedStore(await CreateStoreAsync());
        await using var mesh = await StartAsync(store: store);
        var clock = NewCreate(scale: 60);
        await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        for (var i = 0; i < 120; i++)
        {
            await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 1_000_000 + i), cancellationToken: Timeout);
        }

        var due = new List<string>();
        foreach (var fireAfter in (long[])[60, 120, 180]) // 1, 2 and 3 real seconds away
        {
            due.Add((await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter), cancellationToken: Timeout)).Timer.TimerId);
        }

        store.ResetCounts();
        await AdvanceUntilAsync(async () => (await mesh.OutboxAsync()).Count >= 3, "the three due timers fire");

        var timersRead = store.KeysRead.Where(k => k.Contains("/timers/", StringComparison.Ordinal)).ToList();
        var scheduledMembersRead = store.IndexReads.Where(r => r.Index.EndsWith("/index/scheduled", StringComparison.Ordinal)).Sum(r => r.Members);
        Assert.Equal(due.Order(StringComparer.Ordinal), timersRead.Distinct().Select(k => k[(k.LastIndexOf('/') + 1)..]).Order(StringComparer.Ordinal));
        Assert.True(timersRead.Count <= 6, $"read {timersRead.Count} timer records to fire 3");
        Assert.True(scheduledMembersRead <= 12, $"read {scheduledMembersRead} scheduled-index members to fire 3 of 123");
        Assert.Equal(due, (await mesh.FiresAsync()).Select(f => f.Fire.TimerId));
    }

    [Fact(Timeout = 60_000)]
    public async Task Scheduler_FiresTheDueTimersOfManyWorlds_EachOccurrenceOnce()
    {
        await using var mesh = await StartAsync();
        var faker = Seeded(4103);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 24; i++)
        {
            var create = NewCreate(WorldIdFrom(faker, i), scale: faker.PickRandom(30, 60, 120));
            await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
            for (var t = 0; t < 2; t++)
            {
                var timer = (await mesh.Client.CreateTimerAsync(NewTimer(create.WorldId, fireAfter: faker.Random.Number(30, 240)), cancellationToken: Timeout)).Timer;
                expected.Add($"{create.WorldId}/{timer.TimerId}/1");
            }
        }

        await AdvanceUntilAsync(async () => (await mesh.OutboxAsync()).Count >= expected.Count, "every world's timers fire");
        for (var i = 0; i < 8; i++)
        {
            _time.Advance(SchedulerStep);
            await Task.Delay(20, Timeout);
        }

        var events = await mesh.OutboxAsync();
        Assert.Equal(expected.Order(StringComparer.Ordinal), events.Select(e => e.Event.EventId).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.Equal("world:" + TimerFired.Parser.ParseFrom(e.Event.Payload).WorldId, e.Partition));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateClock_RetriedConcurrently_CreatesOneClock_AndEveryRetryGetsIt()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();

        var clocks = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => mesh.Client.CreateClockAsync(create, cancellationToken: Timeout).AsTask()));
        var listed = await mesh.Client.ListClocksAsync(new ListClocksRequest(), cancellationToken: Timeout);

        Assert.All(clocks, c => Assert.Equal((clocks[0].Clock.CreateTime, clocks[0].Clock.Version), (c.Clock.CreateTime, c.Clock.Version)));
        Assert.Equal(create.WorldId, Assert.Single(listed.Clocks).WorldId);
        Assert.Equal(clocks[0].Clock.CreateTime, listed.Clocks[0].CreateTime);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateTimer_RetriedConcurrently_WithAGeneratedId_CreatesOneTimer_AndEveryRetryGetsIt()
    {
        await using var mesh = await StartAsync();
        var clock = await CreatePausedClockAsync(mesh);
        var request = NewTimer(clock.WorldId, fireAfter: 600);

        var timers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => mesh.Client.CreateTimerAsync(request, cancellationToken: Timeout).AsTask()));
        var listed = await mesh.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId }, cancellationToken: Timeout);

        Assert.Single(timers.Select(t => t.Timer.TimerId).Distinct());
        Assert.Equal(timers[0].Timer, Assert.Single(listed.Timers));
    }

    [Fact(Timeout = 30_000)]
    public async Task SetClockTime_RetriedConcurrently_JumpsOnce_AndFiresEachPassedTimerOnce()
    {
        await using var mesh = await StartAsync();
        var clock = NewCreate();
        clock.StartPaused = true;
        var created = (await mesh.Client.CreateClockAsync(clock, cancellationToken: Timeout)).Clock;
        await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 600), cancellationToken: Timeout);
        await mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 900), cancellationToken: Timeout);
        var jump = new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 5000, RequestId = Guid.NewGuid().ToString() };

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => mesh.Client.SetClockTimeAsync(jump, cancellationToken: Timeout).AsTask()));
        var read = (await mesh.Client.GetClockAsync(new GetClockRequest { WorldId = clock.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        Assert.Equal((2, created.Version + 1), (answers[0].FiredTimerCount, answers[0].Clock.Version));
        Assert.Equal(created.Version + 1, read.Version);
        Assert.Equal(2, (await mesh.OutboxAsync()).Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateClock_StoppedRightAfterItsCommit_IsListedOnceAnotherInstanceCatchesUp_AndItsRetryGetsTheClock()
    {
        var (store, crashing, instance) = await StartCrashableAsync();
        await using var first = instance;
        var create = NewCreate();
        crashing.CrashAfterNextCommitIn(StoreKeys.WorldPartition(create.WorldId));

        await FailsAsync(StatusCode.Unavailable, () => first.Client.CreateClockAsync(create, cancellationToken: Timeout).AsTask());
        Assert.NotNull(await store.GetAsync(StoreKeys.Clock(create.WorldId), Timeout));
        Assert.Null(await store.GetAsync(StoreKeys.DirectoryEntry(create.WorldId), Timeout)); // the directory update is still pending

        await using var second = await StartAsync(store: store);
        await AdvanceUntilAsync(
            async () => (await second.Client.ListClocksAsync(new ListClocksRequest { State = ClockState.Running }, cancellationToken: Timeout)).Clocks.Count > 0,
            "another instance's scheduler applies the pending directory update");
        var retry = (await second.Client.CreateClockAsync(create, cancellationToken: Timeout)).Clock;
        var listed = (await second.Client.ListClocksAsync(new ListClocksRequest(), cancellationToken: Timeout)).Clocks;

        Assert.Equal(create.WorldId, Assert.Single(listed).WorldId);
        Assert.Equal((listed[0].CreateTime, 1L), (retry.CreateTime, retry.Version));
    }

    [Fact(Timeout = 60_000)]
    public async Task DeleteClock_StoppedBeforeItsSweep_NeverShowsTheOldTimersAgain_AndTheSweepCompletesLater()
    {
        var (store, crashing, instance) = await StartCrashableAsync();
        await using var first = instance;
        var clock = await CreatePausedClockAsync(first);
        for (var i = 0; i < 5; i++)
        {
            await first.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 600 * (i + 1)), cancellationToken: Timeout);
        }

        await first.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 700 }, cancellationToken: Timeout);
        var generation = await GenerationOfAsync(store, clock.WorldId);
        var oldKeys = $"time-manager/{{world:{clock.WorldId}}}/g/{generation}/";
        crashing.CrashAfterNextCommitIn(StoreKeys.WorldPartition(clock.WorldId));

        await FailsAsync(StatusCode.Unavailable, () => first.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = clock.WorldId }, cancellationToken: Timeout).AsTask());
        Assert.NotEmpty((await store.ListAsync(oldKeys, cancellationToken: Timeout)).Items); // not swept yet

        await using var second = await StartAsync(store: store);
        await FailsAsync(StatusCode.NotFound, () => second.Client.GetClockAsync(new GetClockRequest { WorldId = clock.WorldId }, cancellationToken: Timeout).AsTask());
        await second.Client.CreateClockAsync(NewCreate(clock.WorldId), cancellationToken: Timeout);
        Assert.Empty((await second.Client.ListTimersAsync(new ListTimersRequest { WorldId = clock.WorldId }, cancellationToken: Timeout)).Timers);
        await AdvanceUntilAsync(async () => (await store.ListAsync(oldKeys, cancellationToken: Timeout)).Items.Count == 0, "the sweep of the deleted generation runs");

        Assert.Equal(0, await store.CountIndexAsync(StoreKeys.TimersIndex(clock.WorldId, generation), cancellationToken: Timeout));
        Assert.Equal(0, await store.CountIndexAsync(StoreKeys.TimersInState(clock.WorldId, generation, TimerState.Scheduled), cancellationToken: Timeout));
        Assert.Equal(clock.WorldId, Assert.Single((await second.Client.ListClocksAsync(new ListClocksRequest(), cancellationToken: Timeout)).Clocks).WorldId);
    }

    [Fact(Timeout = 60_000)]
    public async Task SetClockTime_StoppedBeforeFiring_StillFiresThePassedTimersOfThePausedClock_AndItsRetryAnswersAsTheFirstTime()
    {
        var (store, crashing, instance) = await StartCrashableAsync();
        await using var first = instance;
        var clock = await CreatePausedClockAsync(first);
        var early = NewTimer(clock.WorldId, fireAfter: 600);
        early.TimerId = "early";
        var late = NewTimer(clock.WorldId, fireAfter: 7200);
        late.TimerId = "late";
        await first.Client.CreateTimerAsync(late, cancellationToken: Timeout);
        await first.Client.CreateTimerAsync(early, cancellationToken: Timeout);
        var jump = new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 8000, RequestId = Guid.NewGuid().ToString() };
        crashing.CrashAfterNextCommitIn(StoreKeys.WorldPartition(clock.WorldId));

        await FailsAsync(StatusCode.Unavailable, () => first.Client.SetClockTimeAsync(jump, cancellationToken: Timeout).AsTask());
        var generation = await GenerationOfAsync(store, clock.WorldId);
        var stored = TimerRecord.Parser.ParseFrom((await store.GetAsync(StoreKeys.Timer(clock.WorldId, generation, "early"), Timeout))!.Value.Span);
        Assert.Equal(TimerState.Scheduled, stored.Timer.State); // the jump applied, its fires did not

        await using var second = await StartAsync(store: store);
        await AdvanceUntilAsync(async () => (await second.OutboxAsync()).Count >= 2, "another instance fires what the jump passed");
        var retry = await second.Client.SetClockTimeAsync(jump, cancellationToken: Timeout);
        var read = (await second.Client.GetClockAsync(new GetClockRequest { WorldId = clock.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.Equal(["early", "late"], (await second.FiresAsync()).Select(f => f.Fire.TimerId));
        Assert.Equal((2, read.Version, 8000L), (retry.FiredTimerCount, retry.Clock.Version, retry.Clock.Now.ElapsedGameSeconds));
        Assert.Equal((ClockState.Paused, 8000L), (read.State, read.Now.ElapsedGameSeconds));
        Assert.Equal(TimerState.Fired, (await GetTimerAsync(second, clock.WorldId, "late")).State);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateTimer_DueAtOnce_StoppedBeforeFiring_FiresOnAnotherInstancesNextPass_AndItsRetryGetsTheTimer()
    {
        var (store, crashing, instance) = await StartCrashableAsync();
        await using var first = instance;
        var clock = NewCreate();
        clock.StartGameSeconds = 10_000;
        await first.Client.CreateClockAsync(clock, cancellationToken: Timeout);
        var request = NewTimer(clock.WorldId);
        request.FireAtGameSeconds = 500;
        request.TimerId = "overdue";
        crashing.CrashAfterNextCommitIn(StoreKeys.WorldPartition(clock.WorldId));

        await FailsAsync(StatusCode.Unavailable, () => first.Client.CreateTimerAsync(request, cancellationToken: Timeout).AsTask());

        await using var second = await StartAsync(store: store);
        await AdvanceUntilAsync(async () => (await second.OutboxAsync()).Count > 0, "the overdue timer fires on the next pass");
        var retry = (await second.Client.CreateTimerAsync(request, cancellationToken: Timeout)).Timer;

        Assert.Equal(("overdue", TimerState.Fired, 1L), (retry.TimerId, retry.State, retry.FireCount));
        Assert.Equal($"{clock.WorldId}/overdue/1", Assert.Single(await second.OutboxAsync()).Event.EventId);
    }

    [Fact(Timeout = 90_000)]
    public async Task DeleteClock_OfAWorldWithMoreTimersThanOneTransactionHolds_CancelsAndSweepsThemAll()
    {
        var store = await CreateStoreAsync();
        await using var mesh = await StartAsync(store: store);
        var clock = await CreatePausedClockAsync(mesh);
        const int Count = 450;
        for (var batch = 0; batch < Count / 10; batch++)
        {
            // Ten at a time: they contend for the world's schedule and retry, as real callers would.
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i => mesh.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 60 + (batch * 10) + i), cancellationToken: Timeout).AsTask()));
        }

        var generation = await GenerationOfAsync(store, clock.WorldId);
        Assert.Equal(Count, await store.CountIndexAsync(StoreKeys.TimersInState(clock.WorldId, generation, TimerState.Scheduled), cancellationToken: Timeout));

        var deleted = await mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = clock.WorldId }, cancellationToken: Timeout);

        Assert.Equal(Count, deleted.CancelledTimerCount);
        Assert.Empty((await store.ListAsync($"time-manager/{{world:{clock.WorldId}}}/g/{generation}/", cancellationToken: Timeout)).Items);
        Assert.Equal(0, await store.CountIndexAsync(StoreKeys.TimersIndex(clock.WorldId, generation), cancellationToken: Timeout));
        Assert.Empty((await mesh.Client.ListClocksAsync(new ListClocksRequest(), cancellationToken: Timeout)).Clocks);
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchClock_WithTimerEvents_StreamsFiresMadeByAnotherInstance()
    {
        var store = await CreateStoreAsync();
        await using var watcher = await StartAsync(store: store);
        await using var other = await StartAsync(store: store);
        var clock = await CreatePausedClockAsync(other);
        var timer = (await other.Client.CreateTimerAsync(NewTimer(clock.WorldId, fireAfter: 600), cancellationToken: Timeout)).Timer;
        var received = new List<WatchClockResponse>();
        var reader = WatchUntilATimerFiresAsync(watcher, new WatchClockRequest { WorldId = clock.WorldId, IncludeTimerEvents = true }, received);
        await AdvanceUntilAsync(() => Task.FromResult(received.Count > 0), "the snapshot");

        await other.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = clock.WorldId, ElapsedGameSeconds = 1000 }, cancellationToken: Timeout);
        await AdvanceUntilAsync(() => Task.FromResult(reader.IsCompleted), "the fire on the watcher's stream");
        await reader;

        var fired = received[^1].TimerFired;
        Assert.Equal(((await other.FiresAsync()).Single().Fire), fired);
        Assert.Equal((timer.TimerId, 1L, true), (fired.TimerId, fired.Occurrence, fired.Final));
    }

    [Fact(Timeout = 30_000)]
    public async Task Scheduler_KeepsFiringOtherWorlds_WhileOneWorldsPendingWorkCannotBeApplied()
    {
        var store = await CreateStoreAsync();
        await using var mesh = await StartAsync(store: store);
        var poisoned = NewCreate();
        await mesh.Client.CreateClockAsync(poisoned, cancellationToken: Timeout);

        // A sweep request whose generation holds a record no version can read (a truncated message).
        var transaction = new StateTransaction()
            .Set(StoreKeys.Timer(poisoned.WorldId, "broken", "t"), new byte[] { 0x0A, 0xFF })
            .IndexAdd(StoreKeys.TimersIndex(poisoned.WorldId, "broken"), StoreKeys.TimerMember(1, "t"))
            .Enqueue(StoreKeys.SweepOutbox, new SweepRequest { WorldId = poisoned.WorldId, Generation = "broken" }.ToByteArray());
        Assert.True((await store.ExecuteAsync(transaction, Timeout)).Succeeded);
        var healthy = NewCreate(scale: 60);
        await mesh.Client.CreateClockAsync(healthy, cancellationToken: Timeout);
        var timer = (await mesh.Client.CreateTimerAsync(NewTimer(healthy.WorldId, fireAfter: 60), cancellationToken: Timeout)).Timer;

        await AdvanceUntilAsync(async () => (await GetTimerAsync(mesh, healthy.WorldId, timer.TimerId)).State == TimerState.Fired, "the healthy world's timer fires");

        Assert.Equal($"{healthy.WorldId}/{timer.TimerId}/1", Assert.Single(await mesh.OutboxAsync()).Event.EventId);
    }

    [Fact(Timeout = 20_000)]
    public async Task ProjectionUpdates_AppliedAgainOrAfterANewerOne_LeaveTheNewestInPlace()
    {
        // What a drainer that stopped between applying and completing (or outlived its claim) does.
        var store = await CreateStoreAsync();
        var projections = new Projections(store, (IStateOutboxStore)store, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var world = NewWorldId();
        var partition = StoreKeys.WorldPartition(world);
        var wake = _time.GetUtcNow().AddMinutes(5);
        static StateOutboxMessage Message(long sequence, IMessage update) => new(sequence, DateTimeOffset.UnixEpoch, update.ToByteArray());

        await projections.ApplyDirectoryAsync(partition, [Message(10, new DirectoryUpdate { WorldId = world, State = ClockState.Running })], Timeout);
        await projections.ApplyDirectoryAsync(partition, [Message(5, new DirectoryUpdate { WorldId = world, State = ClockState.Unspecified })], Timeout);
        await projections.ApplyDirectoryAsync(partition, [Message(10, new DirectoryUpdate { WorldId = world, State = ClockState.Running })], Timeout);
        await projections.ApplyWakeAsync(partition, [Message(7, new WakeUpdate { WorldId = world, WakeTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(wake) })], Timeout);
        await projections.ApplyWakeAsync(partition, [Message(3, new WakeUpdate { WorldId = world })], Timeout);
        await projections.ApplyWakeAsync(partition, [Message(7, new WakeUpdate { WorldId = world, WakeTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(wake) })], Timeout);

        Assert.Equal([world], (await projections.ListWorldsAsync(ClockState.Running, "", 10, null, Timeout)).Members);
        Assert.Equal([world], (await projections.ListWorldsAsync(ClockState.Unspecified, "", 10, null, Timeout)).Members);
        Assert.Empty((await projections.ListWorldsAsync(ClockState.Paused, "", 10, null, Timeout)).Members);
        Assert.Equal([world], await projections.DueWorldsAsync(wake, Timeout));
        Assert.Empty(await projections.DueWorldsAsync(wake.AddTicks(-1), Timeout));

        // A newer update does apply: the clock paused, then deleted, and nothing left due.
        await projections.ApplyDirectoryAsync(partition, [Message(11, new DirectoryUpdate { WorldId = world, State = ClockState.Paused })], Timeout);
        Assert.Equal([world], (await projections.ListWorldsAsync(ClockState.Paused, "", 10, null, Timeout)).Members);
        await projections.ApplyDirectoryAsync(partition, [Message(12, new DirectoryUpdate { WorldId = world, State = ClockState.Unspecified })], Timeout);
        await projections.ApplyWakeAsync(partition, [Message(8, new WakeUpdate { WorldId = world })], Timeout);
        Assert.Empty((await projections.ListWorldsAsync(ClockState.Unspecified, "", 10, null, Timeout)).Members);
        Assert.Empty(await projections.DueWorldsAsync(wake.AddYears(1), Timeout));
    }
}
