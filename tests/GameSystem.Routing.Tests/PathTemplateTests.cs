namespace GameSystem.Routing.Tests;

public sealed class PathTemplateTests
{
    [Theory]
    [InlineData("/v1/players/*/quests", "/v1/players/p-1/quests", true)]
    [InlineData("/v1/players/*/quests", "/v1/players/p-1/quests/q-1", false)]
    [InlineData("/v1/players/*/quests", "/v1/players//quests", false)]
    [InlineData("/v1/players/*/quests", "/v1/players/quests", false)]
    [InlineData("/v1/players/{player_id}/quests", "/v1/players/p-1/quests", true)]
    [InlineData("/v1/players/*/quests:accept", "/v1/players/p-1/quests:accept", true)]
    [InlineData("/v1/players/*/quests:accept", "/v1/players/p-1/quests", false)]
    [InlineData("/v1/players/*/quests:accept", "/v1/players/p-1/quests:abandon", false)]
    [InlineData("/v1/players/*/quests", "/v1/players/p-1/quests:accept", false)]
    [InlineData("/v1/**", "/v1", true)]
    [InlineData("/v1/**", "/v1/a/b/c", true)]
    [InlineData("/v1/**", "/v2/a", false)]
    [InlineData("/v1/{name=players/*}", "/v1/players/p-1", true)]
    [InlineData("/v1/{name=players/*}", "/v1/players/p-1/x", false)]
    [InlineData("/v1/{name=players/**}", "/v1/players/p-1/x/y", true)]
    [InlineData("/v1/{name=**}:get", "/v1/a/b:get", true)]
    [InlineData("/v1/{name=**}:get", "/v1/a/b", false)]
    [InlineData("/**", "/", true)]
    [InlineData("/**", "/anything/at/all", true)]
    [InlineData("/v1/things", "/v1/things", true)]
    [InlineData("/v1/things", "/v1/Things", false)]
    [InlineData("/v1/things", "v1/things", false)]
    [InlineData("/v1/**", "/v1/a//b", false)]
    [InlineData("/v1/**", "/v1/a/", false)]
    public void Matches_FollowsTheSegments(string template, string path, bool matches)
    {
        var parsed = PathTemplate.Parse(template, out var problem);

        Assert.True(parsed is not null, problem);
        Assert.Equal(matches, parsed!.Matches(path));
    }

    [Theory]
    [InlineData("", "1-")]
    [InlineData("v1/things", "start with '/'")]
    [InlineData("/v1//things", "empty segment")]
    [InlineData("/v1/things/", "empty segment")]
    [InlineData("/v1/**/things", "'**'")]
    [InlineData("/v1/{id", "unclosed")]
    [InlineData("/v1/{1d}", "field path")]
    [InlineData("/v1/{id}/{id}", "twice")]
    [InlineData("/v1/{id=}", "pattern")]
    [InlineData("/v1/{a={b}}", "pattern")]
    [InlineData("/v1/th ings", "neither")]
    [InlineData("/v1/things:", "verb")]
    public void Parse_RefusesMalformedTemplates_SayingWhy(string template, string mention)
    {
        Assert.Null(PathTemplate.Parse(template, out var problem));
        Assert.Contains(mention, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/players/{player_id}/quests", "/v1/players/*/quests")]
    [InlineData("/v1/{name=players/*}/x", "/v1/players/*/x")]
    [InlineData("/v1/{rest=**}", "/v1/**")]
    [InlineData("/{all=**}:run", "/**:run")]
    public void Pattern_IsTheSameForTemplatesThatMatchTheSamePaths(string template, string pattern)
    {
        Assert.Equal(pattern, PathTemplate.Parse(template, out _)!.Pattern);
    }

    [Theory]
    [InlineData("/v1/players/*/quests", 2)]
    [InlineData("/v1/players/p/quests", 4)]
    [InlineData("/**", 0)]
    [InlineData("/v1/{id}/x", 1)]
    public void LiteralPrefix_CountsTheLeadingLiteralSegments(string template, int prefix)
    {
        Assert.Equal(prefix, PathTemplate.Parse(template, out _)!.LiteralPrefix);
    }

    [Theory]
    [InlineData("/v1/players/{player_id}/quests", "/v1/players/p-1/quests", "player_id=p-1")]
    [InlineData("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b%2F2", "name=shelves/s1/books/b%2F2")]
    [InlineData("/v1/{a}/{b.c}:run", "/v1/x/y:run", "a=x|b.c=y")]
    [InlineData("/v1/files/{path=**}", "/v1/files/a/b/c.txt", "path=a/b/c.txt")]
    [InlineData("/v1/files/{path=**}", "/v1/files", "path=")]
    [InlineData("/v1/{name=players/**}:get", "/v1/players/p/x:get", "name=players/p/x")]
    [InlineData("/v1/{name=players/**}", "/v1/players", "name=players")]
    [InlineData("/v1/worlds/{world_id}/clock:watch", "/v1/worlds/w:1/clock:watch", "world_id=w:1")]
    public void TryMatch_SaysWhereEachVariableLies(string template, string path, string expected)
    {
        var parsed = PathTemplate.Parse(template, out var problem);
        Assert.True(parsed is not null, problem);
        var values = new Range[parsed!.Variables.Length];

        Assert.True(parsed.TryMatch(path, values));

        Assert.Equal(expected, string.Join('|', parsed.Variables.Select((v, i) => v.FieldPath + "=" + path[values[i]])));
    }

    [Theory]
    [InlineData("/v1/{id}", "/v1/a/b")]
    [InlineData("/v1/{id}:run", "/v1/a")]
    [InlineData("/v1/{name=shelves/*}", "/v1/books/b")]
    public void TryMatch_RefusesPathsThatDoNotMatch(string template, string path)
    {
        var parsed = PathTemplate.Parse(template, out _)!;
        Assert.False(parsed.TryMatch(path, new Range[parsed.Variables.Length]));
    }

    [Fact]
    public void Variables_SayWhichSegmentsEachOneTakes()
    {
        var parsed = PathTemplate.Parse("/v1/{name=shelves/*/books/*}/{rest=**}", out _)!;

        Assert.Equal(
            [new PathVariable("name", 1, 4, false), new PathVariable("rest", 5, 0, true)],
            parsed.Variables);
        Assert.True(parsed.Variables[0] is { IsSingleSegment: false });
        Assert.True(PathTemplate.Parse("/v1/{id}", out _)!.Variables[0].IsSingleSegment);
    }
}
