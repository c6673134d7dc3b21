using GameSystem.Common.V1;
using GameSystem.StateManager.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.StateManager.Tests;

/// <summary>Sessions: one ACTIVE per player, replacement, idle expiry on the clock, attributes, listing.</summary>
public abstract partial class StateManagerContract
{
    private StartSessionRequest NewSession(string player, TimeSpan? idle = null) => new()
    {
        PlayerId = player,
        WorldId = "hub",
        RequestId = Guid.NewGuid().ToString(),
        Client = new ClientInfo { ClientVersion = _faker.System.Semver(), Platform = _faker.PickRandom("windows", "android", "web"), DeviceId = _faker.Random.Hash(16), Locale = "en-GB" },
        IdleTimeout = idle is { } span ? Duration.FromTimeSpan(span) : null,
    };

    [Fact(Timeout = 60_000)]
    public async Task StartSession_ReplacesTheActiveOne_AndEndSessionIsIdempotent()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var request = NewSession(player);

        var first = await harness.Client.StartSessionAsync(request, cancellationToken: Timeout);
        Assert.Equal((SessionState.Active, "", 1L), (first.Session.State, first.ReplacedSession, first.Session.Version));
        Assert.Equal(TimeSpan.FromMinutes(30), first.Session.IdleTimeout.ToTimeSpan());
        Assert.Equal(first, await harness.Client.StartSessionAsync(request, cancellationToken: Timeout));

        var second = await harness.Client.StartSessionAsync(NewSession(player), cancellationToken: Timeout);
        Assert.Equal(first.Session.Name, second.ReplacedSession);
        var replaced = (await harness.Client.GetSessionAsync(new GetSessionRequest { Name = first.Session.Name }, cancellationToken: Timeout)).Session;
        Assert.Equal((SessionState.Ended, SessionEndReason.Replaced), (replaced.State, replaced.EndReason));
        Assert.NotNull(replaced.EndTime);

        var ended = (await harness.Client.EndSessionAsync(new EndSessionRequest { Name = second.Session.Name }, cancellationToken: Timeout)).Session;
        Assert.Equal((SessionState.Ended, SessionEndReason.Logout), (ended.State, ended.EndReason));
        Assert.Equal(ended, (await harness.Client.EndSessionAsync(new EndSessionRequest { Name = second.Session.Name, Reason = SessionEndReason.Kicked }, cancellationToken: Timeout)).Session);
        var third = await harness.Client.StartSessionAsync(NewSession(player), cancellationToken: Timeout);
        Assert.Equal("", third.ReplacedSession);

        var events = (await harness.EventsAsync(player, Timeout)).Select(e => e.Type).ToList();
        Assert.Equal(["state.session.started", "state.session.ended", "state.session.started", "state.session.ended", "state.session.started"], events);
    }

    [Fact(Timeout = 60_000)]
    public async Task Session_IdlePastItsTimeout_ReadsExpired_AndRefusesUpdates_UntilANewOneStarts()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var started = (await harness.Client.StartSessionAsync(NewSession(player, TimeSpan.FromMinutes(5)), cancellationToken: Timeout)).Session;
        var updated = (await harness.Client.UpdateSessionAsync(new UpdateSessionRequest { Name = started.Name, SetAttributes = { ["scene"] = new TypedValue { StringValue = "tavern" }, ["party"] = new TypedValue { StringValue = "p-42" } } }, cancellationToken: Timeout)).Session;
        Assert.Equal((2L, "tavern"), (updated.Version, updated.Attributes["scene"].StringValue));
        var again = (await harness.Client.UpdateSessionAsync(new UpdateSessionRequest { Name = started.Name, RemoveAttributes = { "party" }, ExpectedVersion = 2 }, cancellationToken: Timeout)).Session;
        Assert.Equal(["scene"], again.Attributes.Keys);
        await FailsAsync(StatusCode.FailedPrecondition, () => harness.Client.UpdateSessionAsync(new UpdateSessionRequest { Name = started.Name, RemoveAttributes = { "scene" }, ExpectedVersion = 2 }, cancellationToken: Timeout).AsTask(), "version 3", "expected_version 2");

        harness.Time.Advance(TimeSpan.FromMinutes(6));

        var expired = (await harness.Client.GetSessionAsync(new GetSessionRequest { Name = started.Name }, cancellationToken: Timeout)).Session;
        Assert.Equal((SessionState.Expired, SessionEndReason.IdleTimeout), (expired.State, expired.EndReason));
        Assert.Equal(again.LastActivityTime.ToDateTimeOffset() + TimeSpan.FromMinutes(5), expired.EndTime.ToDateTimeOffset());
        await FailsAsync(StatusCode.FailedPrecondition, () => harness.Client.UpdateSessionAsync(new UpdateSessionRequest { Name = started.Name, SetAttributes = { ["scene"] = new TypedValue { StringValue = "crypt" } } }, cancellationToken: Timeout).AsTask(), "EXPIRED", "StartSession");
        var next = await harness.Client.StartSessionAsync(NewSession(player), cancellationToken: Timeout);
        Assert.Equal("", next.ReplacedSession);
        var ended = PlayerSessionEvents(await harness.EventsAsync(player, Timeout)).Last(s => s.Name == started.Name);
        Assert.Equal(SessionState.Expired, ended.State);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListSessions_IsNewestFirst_FiltersByState_AndPages()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var names = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            names.Add((await harness.Client.StartSessionAsync(NewSession(player), cancellationToken: Timeout)).Session.Name);
        }

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await harness.Client.ListSessionsAsync(new ListSessionsRequest { PlayerId = player, PageSize = 2, PageToken = token }, cancellationToken: Timeout);
            seen.AddRange(page.Sessions.Select(s => s.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(Enumerable.Reverse(names), seen);

        var active = await harness.Client.ListSessionsAsync(new ListSessionsRequest { PlayerId = player, State = SessionState.Active }, cancellationToken: Timeout);
        Assert.Equal([names[^1]], active.Sessions.Select(s => s.Name));
        var ended = await harness.Client.ListSessionsAsync(new ListSessionsRequest { PlayerId = player, State = SessionState.Ended, PageSize = 3 }, cancellationToken: Timeout);
        Assert.Equal([names[3], names[2], names[1]], ended.Sessions.Select(s => s.Name));
        var last = await harness.Client.ListSessionsAsync(new ListSessionsRequest { PlayerId = player, State = SessionState.Ended, PageSize = 3, PageToken = ended.NextPageToken }, cancellationToken: Timeout);
        Assert.Equal([names[0]], last.Sessions.Select(s => s.Name));
        Assert.Equal("", last.NextPageToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task Sessions_WithBadInput_AreInvalidArgument_NamingTheField()
    {
        await using var harness = await StartAsync();
        var player = NewPlayer();
        var session = NewSession(player, TimeSpan.FromSeconds(10));
        Assert.Equal(["idle_timeout"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.StartSessionAsync(session, cancellationToken: Timeout).AsTask(), "1 minute to 24 hours")));
        var noWorld = NewSession(player);
        noWorld.WorldId = "";
        Assert.Equal(["world_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.StartSessionAsync(noWorld, cancellationToken: Timeout).AsTask(), "is required")));
        var noId = NewSession(player);
        noId.RequestId = "";
        Assert.Equal(["request_id"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.StartSessionAsync(noId, cancellationToken: Timeout).AsTask(), "is required")));
        Assert.Equal(["name"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.GetSessionAsync(new GetSessionRequest { Name = "sessions/1" }, cancellationToken: Timeout).AsTask(), "players/{player_id}/sessions/{id}")));
        var started = (await harness.Client.StartSessionAsync(NewSession(player), cancellationToken: Timeout)).Session;
        Assert.Equal(["set_attributes[bad key]"], Violations(await FailsAsync(StatusCode.InvalidArgument, () => harness.Client.UpdateSessionAsync(new UpdateSessionRequest { Name = started.Name, SetAttributes = { ["bad key"] = new TypedValue { BoolValue = true } } }, cancellationToken: Timeout).AsTask(), "not an attribute key")));
        await FailsAsync(StatusCode.NotFound, () => harness.Client.GetSessionAsync(new GetSessionRequest { Name = $"players/{player}/sessions/0192f6e4-0000-7000-8000-000000000000" }, cancellationToken: Timeout).AsTask(), "ListSessions");
    }

    private static IEnumerable<Session> PlayerSessionEvents(IEnumerable<DomainEvent> events) =>
        events.Where(e => e.Type == "state.session.ended").Select(e => SessionChanged.Parser.ParseFrom(e.Payload).Session);
}
