using GameSystem.EventBus.V1;
using GameSystem.Mesh.Nats;
using GameSystem.TimeManager.V1;
using NATS.Client.Core;

namespace GameSystem.Host.Tests;

/// <summary>The generated NATS permissions of a few services, checked subject by subject.</summary>
public sealed class NatsPermissionsTests
{
    private static readonly ServiceCatalog Catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);

    [Fact]
    public void Host_SubscribesOnlyToItsServicesTheirDiscoveryHealthAndItsOwnInbox()
    {
        var user = NatsPermissions.ForHost("lang", Catalog.Select(["language-system"]), Catalog.Contracts, "gs");

        Assert.Equal(
            [
                "$SRV.*.health", "$SRV.*.health.*", "$SRV.*.language-system", "$SRV.*.language-system.*", "$SRV.INFO", "$SRV.PING", "$SRV.STATS",
                "_INBOX.lang.>", "gs.gamesystem.language_system.v1.LanguageSystemService.>", "gs.grpc.health.v1.Health.>",
            ],
            user.Subscribe);
        Assert.Equal("_INBOX.lang", user.InboxPrefix);
    }

    [Fact]
    public void Host_PublishesToWhatTheRuntimeCallsForItsServiceAndReplies_AndNothingItDidNotDeclare()
    {
        var user = NatsPermissions.ForHost("lang", Catalog.Select(["language-system"]), Catalog.Contracts, "gs");

        // language-system takes no generated client: only what the host calls on its behalf.
        Assert.Equal(
            [
                "_INBOX.>",
                "gs.gamesystem.auth.v1.AuthService.IssueServiceToken", "gs.gamesystem.auth.v1.AuthService.ListSigningKeys", "gs.gamesystem.auth.v1.AuthService._mesh.cancel",
                "gs.gamesystem.capability_registry.v1.CapabilityRegistryService.Deregister", "gs.gamesystem.capability_registry.v1.CapabilityRegistryService.Heartbeat",
                "gs.gamesystem.capability_registry.v1.CapabilityRegistryService.Register", "gs.gamesystem.capability_registry.v1.CapabilityRegistryService._mesh.cancel",
                "gs.gamesystem.event_bus.v1.EventBusService.Publish", "gs.gamesystem.event_bus.v1.EventBusService._mesh.cancel",
            ],
            user.Publish);
    }

    [Fact]
    public void DeclaredDependencies_AreTheGeneratedClientsTheConstructorTakes()
    {
        Assert.Equal(["gamesystem.event_bus.v1.EventBusService"], NatsPermissions.DeclaredDependencies(Catalog.Implementations["gamesystem.router.v1.RouterService"], Catalog.Contracts).Select(s => s.FullName));
        Assert.Equal(["gamesystem.event_bus.v1.EventBusService", "gamesystem.time_manager.v1.TimeManagerService"], NatsPermissions.DeclaredDependencies(typeof(CallsClocks), Catalog.Contracts).Select(s => s.FullName));
        Assert.Empty(NatsPermissions.DeclaredDependencies(Catalog.Implementations["gamesystem.language_system.v1.LanguageSystemService"], Catalog.Contracts));
    }

    [Fact]
    public void Host_ForADeclaredDependency_MayPublishToTheWholeServiceUnderItsPrefix()
    {
        var info = Catalog.Contracts.Single(c => c.Name == "quest-system");
        var user = NatsPermissions.ForHost("quests", [new SelectedService(info, typeof(CallsClocks))], Catalog.Contracts, "prod");

        Assert.Contains("prod.gamesystem.time_manager.v1.TimeManagerService.>", user.Publish);
        Assert.Contains("prod.gamesystem.event_bus.v1.EventBusService.>", user.Publish);

        // The whole-service allow covers the runtime's single event-bus methods: they are not listed twice.
        Assert.DoesNotContain("prod.gamesystem.event_bus.v1.EventBusService.Publish", user.Publish);
        Assert.DoesNotContain(user.Publish, s => s.StartsWith("gs.", StringComparison.Ordinal));
        Assert.Contains("prod.gamesystem.quest_system.v1.QuestSystemService.>", user.Subscribe);
    }

    [Fact]
    public void EventBus_GetsTheNatsSubjectsItDeclares_WithTheMeshPrefix()
    {
        var user = NatsPermissions.ForHost("bus", Catalog.Select(["event-bus"]), Catalog.Contracts, "prod");

        Assert.Contains("$JS.API.>", user.Publish);
        Assert.Contains("$KV.prod-eventbus-subscriptions.>", user.Publish);
        Assert.Contains("prod.events.>", user.Publish);
        Assert.Contains("prod.eventbus.deliver.>", user.Subscribe);
        Assert.DoesNotContain(user.Publish.Concat(user.Subscribe), s => s.Contains(NatsSubjectsAttribute.Prefix, StringComparison.Ordinal));
    }

    [Fact]
    public void Service_TakingTheNatsConnectionWithoutDeclaringSubjects_GetsNoPermissions()
    {
        var info = Catalog.Contracts.Single(c => c.Name == "quest-system");

        var error = Assert.Throws<InvalidOperationException>(() => NatsPermissions.ForHost("raw", [new SelectedService(info, typeof(UsesNatsQuietly))], Catalog.Contracts, "gs"));

        Assert.Contains(nameof(UsesNatsQuietly), error.Message, StringComparison.Ordinal);
        Assert.Contains("[NatsSubjects(", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gateway_MayPublishToEveryMethodWithAnHttpBinding_AndToNoOtherOfTheContracts()
    {
        var user = NatsPermissions.ForGateway("gateway", Catalog.Contracts, "gs");
        var ownCalls = new[] { "/gamesystem.auth.v1.AuthService/ListSigningKeys", "/gamesystem.auth.v1.AuthService/IssueServiceToken", "/gamesystem.router.v1.RouterService/WatchRoutes" };

        foreach (var method in Catalog.Contracts.SelectMany(s => s.Methods))
        {
            var allowed = user.Publish.Contains(MeshSubjects.For("gs", method));
            Assert.True(allowed == (method.Http is not null || ownCalls.Contains(method.Path)), $"{method.Path}: HTTP binding {method.Http is not null}, allowed {allowed}");
        }

        Assert.DoesNotContain(user.Publish, s => s.EndsWith(".>", StringComparison.Ordinal) && s != NatsPermissions.Inboxes);
        Assert.Equal(["_INBOX.gateway.>"], user.Subscribe);
    }

    [Fact]
    public void ServerConfig_NamesEachUsersPasswordVariable_AndHoldsNoSecret()
    {
        var users = new[] { NatsPermissions.ForHost("game-host", Catalog.Select(["time-manager"]), Catalog.Contracts, "gs"), NatsPermissions.ForOperator("ops", "gs") };

        var config = NatsPermissions.ToServerConfig(users, "test");

        Assert.Contains("password: $GS_NATS_PASSWORD_GAME_HOST", config, StringComparison.Ordinal);
        Assert.Contains("password: $GS_NATS_PASSWORD_OPS", config, StringComparison.Ordinal);
        Assert.Contains("subscribe: { allow: [\"_INBOX.ops.>\"] }", config, StringComparison.Ordinal);
        Assert.DoesNotContain("password: \"", config, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--host", "a=no-such-service" }, "no-such-service")]
    [InlineData(new[] { "--host", "a" }, "<user>=<services>")]
    [InlineData(new[] { "--host", "a=auth", "--gateway", "a" }, "given twice")]
    [InlineData(new[] { "--gateway", "gate.way" }, "letters, digits")]
    [InlineData(new[] { "--prefix", "a.b" }, "--prefix")]
    [InlineData(new[] { "--out" }, "needs a value")]
    public void Command_WithBadArguments_IsAUsageErrorSayingWhy(string[] args, string expected)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = PermissionsCommand.Run(args, AppContext.BaseDirectory, output, error);

        Assert.Equal(2, code);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.ToString());
    }

    [Fact]
    public void Command_WritesTheFileAndSaysWhichVariablesHoldThePasswords()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("gs-permissions-").FullName, "permissions.conf");
        var error = new StringWriter();

        var code = PermissionsCommand.Run(["--host", "game=time-manager,language-system", "--gateway", "edge", "--out", file], AppContext.BaseDirectory, TextWriter.Null, error);

        Assert.Equal(0, code);
        Assert.Contains("user: \"game\"", File.ReadAllText(file), StringComparison.Ordinal);
        Assert.Contains("$GS_NATS_PASSWORD_EDGE", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("GameSystem:Nats:InboxPrefix=_INBOX.game", error.ToString(), StringComparison.Ordinal);
    }

    private sealed class CallsClocks(TimeManagerServiceClient clocks, EventBusServiceClient events)
    {
        public override string ToString() => $"{clocks}{events}";
    }

    private sealed class UsesNatsQuietly(INatsConnection connection)
    {
        public override string ToString() => connection.ToString() ?? "";
    }
}
