namespace GameSystem.Gateway.Tests;

/// <summary>The routes come from the contracts' google.api.http rules, checked at start-up.</summary>
public sealed class GatewayRouteTableTests
{
    [Fact]
    public void EveryContractsRules_BuildOneTable()
    {
        var table = GatewayRouteTable.Build(GatewayApplication.Contracts);

        Assert.Contains(table.Routes, r => r.Declaration == "GET /v1/worlds/{world_id}/clock (gamesystem.time_manager.v1.TimeManagerService/GetClock)");
        Assert.Contains(table.Routes, r => r.HttpMethod == "PATCH" && r.Body == BodyBinding.Field && r.BodyField!.Name == "account");
        Assert.Contains(table.Routes, r => r.HttpMethod == "POST" && r.Body == BodyBinding.Whole);
    }

    [Fact]
    public void TwoContractsClaimingOneRoute_FailStartUp_NamingBoth()
    {
        var auth = GatewayApplication.Contracts.Single(c => c.Name == "auth");

        var error = Assert.Throws<InvalidOperationException>(() => GatewayRouteTable.Build([auth, auth]));

        Assert.Contains("Two contracts claim the route POST /v1/accounts:register", error.Message, StringComparison.Ordinal);
        Assert.Contains("(gamesystem.auth.v1.AuthService/Register) and POST /v1/accounts:register (gamesystem.auth.v1.AuthService/Register)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Matching_BindsVariables_AndPrefersTheVerbRoute()
    {
        var table = GatewayRouteTable.Build(GatewayApplication.Contracts);
        var values = new Range[table.MaxVariables];

        var resolve = table.Match("GET", "/v1/worlds/w-1/clock:resolve", values, out _);
        Assert.Equal("ResolveGameTime", resolve!.Method.Name);
        Assert.Equal("w-1", "/v1/worlds/w-1/clock:resolve"[values[0]]);

        Assert.Equal("GetClock", table.Match("GET", "/v1/worlds/w-1/clock", values, out _)!.Method.Name);
        Assert.Null(table.Match("DELETE", "/v1/worlds/w-1/clock", values, out var allowed));
        Assert.Contains("GET", allowed);
    }

    [Theory]
    [InlineData("100m", false, 100)]
    [InlineData("2S", false, 2000)]
    [InlineData("1M", false, 60_000)]
    [InlineData("1.5", true, 1500)]
    public void Timeouts_ParseAsGrpcSays(string text, bool seconds, int milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), GatewayEndpoint.ParseTimeout(text, seconds));
    }

    [Theory]
    [InlineData("1.5", false)]
    [InlineData("0S", false)]
    [InlineData("123456789S", false)]
    [InlineData("5x", true)]
    public void BadTimeouts_AreRefused(string text, bool seconds)
    {
        Assert.Null(GatewayEndpoint.ParseTimeout(text, seconds));
    }
}
