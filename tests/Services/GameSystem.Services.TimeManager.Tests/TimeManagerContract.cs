using Bogus;
using GameSystem.Common.V1;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace GameSystem.Services.TimeManager.Tests;

/// <summary>The time-manager contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class TimeManagerContract(NatsServerFixture nats)
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261129) };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<TimeManagerHarness> StartAsync(TimeProvider? time = null, IStateStore? store = null) =>
        await TimeManagerHarness.StartAsync(nats, store ?? await CreateStoreAsync(), time ?? _time);

    // City names may hold apostrophes and spaces ("O'Connerside"), which a world id may not.
    private static string NewWorldId() => $"{System.Text.RegularExpressions.Regex.Replace(Faker.Address.City(), "[^A-Za-z0-9]+", "-")}.{Faker.Random.AlphaNumeric(8)}";

    private static CreateClockRequest NewCreate(string? worldId = null, double scale = 60) => new()
    {
        WorldId = worldId ?? NewWorldId(),
        RequestId = Guid.NewGuid().ToString(),
        DisplayName = $"{Faker.Address.City()} (main shard)",
        TimeScale = scale,
    };

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, error.StatusCode);
        return error;
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateClock_ThenGetClock_ReturnsTheClockWithDefaultCalendar()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        create.StartGameSeconds = 5 * 3600;

        var created = (await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout)).Clock;
        var read = (await mesh.Client.GetClockAsync(new GetClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.Equal(create.DisplayName, read.DisplayName);
        Assert.Equal(ClockState.Running, read.State);
        Assert.Equal(1, read.Version);
        Assert.Equal(30, read.Calendar.DaysPerSeason);
        Assert.Equal(6, read.Calendar.DayPhaseStarts.Count);
        Assert.Equal(DayPhase.Dawn, read.Now.DayPhase);
        Assert.Equal(created.CreateTime, read.CreateTime);
    }

    [Fact(Timeout = 20_000)]
    public async Task GetClock_WhileRunning_AdvancesByTimeScale_AndStandsStillWhilePaused()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate(scale: 60);
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(600, (await mesh.Client.GetClockAsync(new GetClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock.Now.ElapsedGameSeconds);

        var paused = (await mesh.Client.PauseClockAsync(new PauseClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;
        _time.Advance(TimeSpan.FromMinutes(5));
        var again = (await mesh.Client.PauseClockAsync(new PauseClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.Equal(ClockState.Paused, paused.State);
        Assert.Equal(600, again.Now.ElapsedGameSeconds);
        Assert.Equal(paused.Version, again.Version);

        var resumed = (await mesh.Client.ResumeClockAsync(new ResumeClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;
        _time.Advance(TimeSpan.FromSeconds(1));
        var later = (await mesh.Client.ResumeClockAsync(new ResumeClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.Equal(ClockState.Running, resumed.State);
        Assert.Equal(660, later.Now.ElapsedGameSeconds);
        Assert.Equal(resumed.Version, later.Version);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateClock_RetriedWithTheSameRequestId_ReturnsTheFirstClock()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();

        var first = (await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout)).Clock;
        var retry = (await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout)).Clock;

        Assert.Equal(first.CreateTime, retry.CreateTime);
        Assert.Equal(1, retry.Version);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateClock_ForAWorldThatHasOne_FailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);

        var error = await FailsAsync(StatusCode.AlreadyExists, () => mesh.Client.CreateClockAsync(NewCreate(create.WorldId), cancellationToken: Timeout).AsTask());

        Assert.Contains(create.WorldId, error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("time_scale", 0d, "w-1")]
    [InlineData("time_scale", 100_000d, "w-1")]
    [InlineData("world_id", 1d, "bad world!")]
    public async Task CreateClock_WithInvalidInput_FailsInvalidArgumentNamingTheField(string field, double scale, string worldId)
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.CreateClockAsync(NewCreate(worldId, scale), cancellationToken: Timeout).AsTask());

        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task CreateClock_WithABadCalendar_FailsInvalidArgumentNamingTheCalendarField()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        create.Calendar = new Calendar { DaysPerSeason = 5000 };

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.CreateClockAsync(create, cancellationToken: Timeout).AsTask());

        Assert.Contains("calendar.days_per_season", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task ClockCalls_ForAWorldWithoutAClock_FailNotFound()
    {
        await using var mesh = await StartAsync();
        var worldId = NewWorldId();

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetClockAsync(new GetClockRequest { WorldId = worldId }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.PauseClockAsync(new PauseClockRequest { WorldId = worldId }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.ResumeClockAsync(new ResumeClockRequest { WorldId = worldId }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = worldId }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = worldId, ElapsedGameSeconds = 1 }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task PauseClock_WithAStaleExpectedVersion_FailsPrecondition()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
        await mesh.Client.PauseClockAsync(new PauseClockRequest { WorldId = create.WorldId, ExpectedVersion = 1 }, cancellationToken: Timeout);

        var error = await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.ResumeClockAsync(new ResumeClockRequest { WorldId = create.WorldId, ExpectedVersion = 1 }, cancellationToken: Timeout).AsTask());

        Assert.Contains("version 2", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task UpdateClock_TimeScale_ReanchorsSoGameTimeDoesNotJump()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate(scale: 10);
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
        _time.Advance(TimeSpan.FromSeconds(10));
        var name = Faker.Company.CompanyName();

        var updated = (await mesh.Client.UpdateClockAsync(new UpdateClockRequest
        {
            Clock = new Clock { WorldId = create.WorldId, TimeScale = 1000, DisplayName = name },
            UpdateMask = FieldMask.FromString("time_scale,display_name"),
            ExpectedVersion = 1,
        }, cancellationToken: Timeout)).Clock;
        _time.Advance(TimeSpan.FromSeconds(1));
        var read = (await mesh.Client.GetClockAsync(new GetClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.Equal((100L, 2L, name), (updated.AnchorGameSeconds, updated.Version, updated.DisplayName));
        Assert.Equal(1100, read.Now.ElapsedGameSeconds);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("state")]
    [InlineData("version")]
    public async Task UpdateClock_WithAPathThatCannotChange_FailsInvalidArgument(string path)
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateClockAsync(
            new UpdateClockRequest { Clock = new Clock { WorldId = create.WorldId }, UpdateMask = FieldMask.FromString(path) }, cancellationToken: Timeout).AsTask());

        Assert.Contains(path, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task ConcurrentUpdates_NeverLoseAnUpdate()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
        const int writers = 20;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(i => mesh.Client.UpdateClockAsync(new UpdateClockRequest
        {
            Clock = new Clock { WorldId = create.WorldId, DisplayName = $"writer {i}" },
            UpdateMask = FieldMask.FromString("display_name"),
        }, cancellationToken: Timeout).AsTask()));

        var read = (await mesh.Client.GetClockAsync(new GetClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;
        Assert.Equal(1 + writers, read.Version);
    }

    [Fact(Timeout = 20_000)]
    public async Task DeleteClock_RemovesIt_AndAllowMissingMakesRetriesSucceed()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);

        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = create.WorldId, ExpectedVersion = 7 }, cancellationToken: Timeout).AsTask());
        await mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = create.WorldId, ExpectedVersion = 1 }, cancellationToken: Timeout);
        await mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = create.WorldId, AllowMissing = true }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetClockAsync(new GetClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task ListClocks_PagesInWorldIdOrder_AndFiltersByState()
    {
        await using var mesh = await StartAsync();
        var worlds = Enumerable.Range(0, 7).Select(_ => NewWorldId()).ToList();
        foreach (var (world, i) in worlds.Select((w, i) => (w, i)))
        {
            var create = NewCreate(world);
            create.StartPaused = i % 2 == 0;
            await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
        }

        var listed = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListClocksAsync(new ListClocksRequest { PageSize = 3, PageToken = token }, cancellationToken: Timeout);
            Assert.True(page.Clocks.Count <= 3);
            listed.AddRange(page.Clocks.Select(c => c.WorldId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        var paused = await mesh.Client.ListClocksAsync(new ListClocksRequest { State = ClockState.Paused }, cancellationToken: Timeout);

        Assert.Equal(worlds.Order(StringComparer.Ordinal), listed);
        Assert.Equal(worlds.Where((_, i) => i % 2 == 0).Order(StringComparer.Ordinal), paused.Clocks.Select(c => c.WorldId));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListClocksAsync(new ListClocksRequest { PageSize = 501 }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task SetClockTime_Backward_RequiresAllowRewind_AndPausedClockStaysPaused()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        create.StartPaused = true;
        create.StartGameSeconds = 10_000;
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);

        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = create.WorldId, ElapsedGameSeconds = 5 }, cancellationToken: Timeout).AsTask());
        var rewound = await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = create.WorldId, ElapsedGameSeconds = 5, AllowRewind = true }, cancellationToken: Timeout);
        var toDate = await mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = create.WorldId, Date = new CalendarDate { Year = 2, DayOfYear = 31, Hour = 12 } }, cancellationToken: Timeout);

        Assert.Equal((5L, ClockState.Paused), (rewound.Clock.Now.ElapsedGameSeconds, rewound.Clock.State));
        Assert.Equal((2, Season.Summer, DayPhase.Midday), (toDate.Clock.Now.Year, toDate.Clock.Now.Season, toDate.Clock.Now.DayPhase));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = create.WorldId }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.SetClockTimeAsync(new SetClockTimeRequest { WorldId = create.WorldId, Date = new CalendarDate { Year = 1, DayOfYear = 500 } }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task SetClockTime_RetriedWithTheSameRequestId_DoesNotJumpAgain()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate();
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
        var jump = new SetClockTimeRequest { WorldId = create.WorldId, ElapsedGameSeconds = 50_000, RequestId = Guid.NewGuid().ToString() };

        var first = await mesh.Client.SetClockTimeAsync(jump, cancellationToken: Timeout);
        _time.Advance(TimeSpan.FromSeconds(10));
        var retry = await mesh.Client.SetClockTimeAsync(jump, cancellationToken: Timeout);
        var read = (await mesh.Client.GetClockAsync(new GetClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout)).Clock;

        Assert.Equal(first.Clock.Version, retry.Clock.Version);
        Assert.Equal(50_600, read.Now.ElapsedGameSeconds);
    }

    [Fact(Timeout = 20_000)]
    public async Task ResolveGameTime_ResolvesPhasesSeasonsDatesAndWhenTheClockGetsThere()
    {
        await using var mesh = await StartAsync();
        var create = NewCreate(scale: 60);
        create.StartGameSeconds = 12 * 3600; // day 1, midday
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);

        var evening = await mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = create.WorldId, NextDayPhase = DayPhase.Evening }, cancellationToken: Timeout);
        var dawn = await mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = create.WorldId, NextDayPhase = DayPhase.Dawn }, cancellationToken: Timeout);
        var winter = await mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = create.WorldId, NextSeason = Season.Winter }, cancellationToken: Timeout);
        var past = await mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = create.WorldId, Date = new CalendarDate { Year = 1, DayOfYear = 1, Hour = 1 } }, cancellationToken: Timeout);

        Assert.Equal((18 * 3600L, 6 * 3600L), (evening.GameTime.ElapsedGameSeconds, evening.GameSecondsFromNow));
        Assert.Equal(_time.GetUtcNow().AddSeconds(6 * 60), evening.EstimatedRealTime.ToDateTimeOffset());
        Assert.Equal((2, 5), (dawn.GameTime.DayOfYear, dawn.GameTime.Hour));
        Assert.Equal((91, Season.Winter), (winter.GameTime.DayOfYear, winter.GameTime.Season));
        Assert.Equal(-11 * 3600L, past.GameSecondsFromNow);
        Assert.Null(past.EstimatedRealTime);
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ResolveGameTimeAsync(new ResolveGameTimeRequest { WorldId = create.WorldId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchClock_StreamsSnapshotTicksChangesAndEndsWhenDeleted()
    {
        await using var mesh = await StartAsync(TimeProvider.System);
        var create = NewCreate(scale: 600);
        create.StartGameSeconds = 5 * 3600 - 600; // ten game minutes (1 s) before dawn, so the snapshot is still at night
        await mesh.Client.CreateClockAsync(create, cancellationToken: Timeout);
        var received = new List<WatchClockResponse>();

        await foreach (var update in mesh.Client.WatchClockAsync(new WatchClockRequest { WorldId = create.WorldId, TickInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) }, cancellationToken: Timeout))
        {
            received.Add(update);
            if (received.Count(r => r.UpdateCase == WatchClockResponse.UpdateOneofCase.Tick) >= 2
                && received.Any(r => r.UpdateCase == WatchClockResponse.UpdateOneofCase.DayPhaseChanged)
                && !received.Any(r => r.ClockChanged?.Kind == ClockChangeKind.Paused))
            {
                await mesh.Client.PauseClockAsync(new PauseClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout);
            }

            if (update.ClockChanged?.Kind == ClockChangeKind.Paused)
            {
                await mesh.Client.DeleteClockAsync(new DeleteClockRequest { WorldId = create.WorldId }, cancellationToken: Timeout);
            }
        }

        Assert.Equal(ClockChangeKind.Snapshot, received[0].ClockChanged.Kind);
        Assert.Equal(ClockChangeKind.Deleted, received[^1].ClockChanged.Kind);
        var ticks = received.Where(r => r.UpdateCase == WatchClockResponse.UpdateOneofCase.Tick).Select(r => r.Tick.GameTime.ElapsedGameSeconds).ToList();
        Assert.True(ticks.Count >= 2);
        Assert.True(ticks[1] > ticks[0], "game time advances between ticks of a running clock");
        var dawn = Assert.Single(received, r => r.UpdateCase == WatchClockResponse.UpdateOneofCase.DayPhaseChanged).DayPhaseChanged;
        Assert.Equal((DayPhase.Night, DayPhase.Dawn, 5 * 3600L), (dawn.PreviousPhase, dawn.CurrentPhase, dawn.GameTime.ElapsedGameSeconds));
        var paused = Assert.Single(received, r => r.ClockChanged?.Kind == ClockChangeKind.Paused).ClockChanged.Clock;
        Assert.Equal(ClockState.Paused, paused.State);
    }
}
