using GameSystem.Router.V1;

namespace GameSystem.Routing.Tests;

public sealed class RouteTableTests
{
    private static Route Http(string id, string template, string method = "", int priority = 0, bool disabled = false) => new()
    {
        RouteId = id,
        Priority = priority,
        Disabled = disabled,
        Match = new RouteMatch { HttpMethod = method, PathTemplate = template },
        Backends = { new Backend { BackendId = "nats", Kind = BackendKind.Nats, Target = "quest-system", Weight = 1 } },
    };

    private static Route Rpc(string id, string method, int priority = 0) => new()
    {
        RouteId = id,
        Priority = priority,
        Match = new RouteMatch { RpcMethod = method },
        Backends = { new Backend { BackendId = "nats", Kind = BackendKind.Nats, Target = "quest-system", Weight = 1 } },
    };

    private static string? Match(RouteTable table, string method, string path) => table.Match(new RequestTarget(method, path, ""))?.RouteId;

    [Fact]
    public void Match_PrefersThePriority_ThenTheLongerLiteralPrefix_ThenTheRouteId()
    {
        var table = RouteTable.Of(1, [
            Http("catch-all", "/**"),
            Http("players", "/v1/players/**"),
            Http("quests", "/v1/players/*/quests"),
            Http("b-quests", "/v1/players/{id}/quests", method: "GET"),
            Http("a-quests", "/v1/players/*/quests", method: "GET"),
            Http("boosted", "/v1/**", priority: 10, method: "DELETE"),
        ]);

        // Same prefix (v1/players): more literal segments, then a set method, then the id.
        Assert.Equal("a-quests", Match(table, "GET", "/v1/players/p-1/quests"));
        Assert.Equal("quests", Match(table, "POST", "/v1/players/p-1/quests"));
        Assert.Equal("players", Match(table, "POST", "/v1/players/p-1"));
        Assert.Equal("boosted", Match(table, "DELETE", "/v1/players/p-1/quests"));
        Assert.Equal("catch-all", Match(table, "GET", "/v2/other"));
    }

    [Fact]
    public void Match_BreaksPrefixTiesByRouteId_AndSkipsDisabledRoutes()
    {
        var table = RouteTable.Of(1, [
            Http("b-quests", "/v1/players/*/quests"),
            Http("a-quests", "/v1/players/*/quests", method: "GET"),
            Http("a-off", "/v1/players/p-1/quests", disabled: true),
        ]);

        Assert.Equal("a-quests", Match(table, "GET", "/v1/players/p-1/quests"));
        Assert.Equal("b-quests", Match(table, "POST", "/v1/players/p-1/quests"));
        Assert.Null(Match(table, "GET", "/v1/players"));
    }

    [Fact]
    public void Match_OfRpcMethods_PrefersTheExactMethodToItsServiceWildcard()
    {
        var table = RouteTable.Of(1, [
            Rpc("quest-service", "gamesystem.quest_system.v1.QuestSystemService/*"),
            Rpc("quest-accept", "gamesystem.quest_system.v1.QuestSystemService/AcceptQuest"),
            Http("http-all", "/**"),
        ]);

        Assert.Equal("quest-accept", table.Match(new RequestTarget("", "", "gamesystem.quest_system.v1.QuestSystemService/AcceptQuest"))?.RouteId);
        Assert.Equal("quest-service", table.Match(new RequestTarget("", "", "gamesystem.quest_system.v1.QuestSystemService/ListQuests"))?.RouteId);
        Assert.Null(table.Match(new RequestTarget("", "", "gamesystem.quest_system.v1.QuestSystemServiceX/ListQuests")));
    }

    [Fact]
    public void Conflicting_FindsTheRouteWithTheSameMatchAndPriority_WhateverTheVariableNames()
    {
        var table = RouteTable.Of(1, [Http("quests", "/v1/players/{player_id}/quests", method: "GET")]);

        Assert.Equal("quests", table.Conflicting("other", new RouteMatch { HttpMethod = "GET", PathTemplate = "/v1/players/*/quests" }, 0)?.RouteId);
        Assert.Null(table.Conflicting("other", new RouteMatch { HttpMethod = "GET", PathTemplate = "/v1/players/*/quests" }, 1));
        Assert.Null(table.Conflicting("other", new RouteMatch { HttpMethod = "POST", PathTemplate = "/v1/players/*/quests" }, 0));
        Assert.Null(table.Conflicting("quests", new RouteMatch { HttpMethod = "GET", PathTemplate = "/v1/players/*/quests" }, 0));
    }
}
