using System.Collections.Immutable;
using GameSystem.Router.V1;

namespace GameSystem.Routing;

/// <summary>
/// One revision of the routing table, compiled for Resolve: the routes in precedence order
/// (highest <c>priority</c>, then the longer literal prefix, then the more specific template,
/// then a set HTTP method, then <c>route_id</c>: the contract's Route.priority), so the first
/// enabled route that matches a request is the one that applies. Immutable: a change builds a
/// new table and swaps it in.
/// </summary>
public sealed class RouteTable
{
    private readonly ImmutableArray<CompiledRoute> _byPrecedence;

    private RouteTable(long revision, ImmutableSortedDictionary<string, Route> routes, ImmutableArray<CompiledRoute> byPrecedence)
    {
        Revision = revision;
        Routes = routes;
        _byPrecedence = byPrecedence;
    }

    /// <summary>The table before any route was created.</summary>
    public static RouteTable Empty { get; } = new(0, ImmutableSortedDictionary.Create<string, Route>(StringComparer.Ordinal), []);

    /// <summary>The table revision this is; every change moves it by one.</summary>
    public long Revision { get; }

    /// <summary>Every route by id.</summary>
    public ImmutableSortedDictionary<string, Route> Routes { get; }

    /// <summary>A table of <paramref name="routes"/> (each valid) at <paramref name="revision"/>.</summary>
    public static RouteTable Of(long revision, IEnumerable<Route> routes)
    {
        var byId = routes.ToImmutableSortedDictionary(r => r.RouteId, r => r, StringComparer.Ordinal);
        return new RouteTable(revision, byId, Compile(byId.Values));
    }

    /// <summary>This table with <paramref name="route"/> created or replaced (null <paramref name="route"/>: <paramref name="routeId"/> deleted), at <paramref name="revision"/>.</summary>
    public RouteTable With(long revision, string routeId, Route? route)
    {
        var routes = route is null ? Routes.Remove(routeId) : Routes.SetItem(routeId, route);
        return new RouteTable(revision, routes, Compile(routes.Values));
    }

    /// <summary>The enabled route of highest precedence that matches the request; null when none does.</summary>
    public Route? Match(RequestTarget target)
    {
        foreach (var compiled in _byPrecedence)
        {
            if (compiled.Matches(target))
            {
                return compiled.Route;
            }
        }

        return null;
    }

    /// <summary>
    /// The route other than <paramref name="routeId"/> that has the same match as
    /// <paramref name="match"/> at the same priority (two routes nothing could tell apart but
    /// their ids); null when there is none.
    /// </summary>
    public Route? Conflicting(string routeId, RouteMatch match, int priority)
    {
        var key = RouteMatcher.Compile(match).Identity;
        return Routes.Values.FirstOrDefault(r => r.RouteId != routeId && r.Priority == priority && RouteMatcher.Compile(r.Match).Identity == key);
    }

    private static ImmutableArray<CompiledRoute> Compile(IEnumerable<Route> routes) =>
    [
        .. routes
            .Where(r => !r.Disabled)
            .Select(r => new CompiledRoute(r, RouteMatcher.Compile(r.Match)))
            .OrderByDescending(c => c.Route.Priority)
            .ThenByDescending(c => c.Matcher.LiteralPrefix)
            .ThenByDescending(c => c.Matcher.LiteralSegments)
            .ThenByDescending(c => c.Matcher.Segments)
            .ThenBy(c => c.Matcher.EndsWithRest)
            .ThenBy(c => c.Matcher.AnyMethod)
            .ThenBy(c => c.Route.RouteId, StringComparer.Ordinal),
    ];

    private sealed record CompiledRoute(Route Route, RouteMatcher Matcher)
    {
        public bool Matches(RequestTarget target) => Matcher.Matches(target);
    }
}

/// <summary>What a Resolve asks about: an HTTP request (method and path) or an rpc method.</summary>
public readonly record struct RequestTarget(string HttpMethod, string Path, string RpcMethod);

/// <summary>A route's match, parsed once: HTTP method and path template, or an rpc method (exact or <c>Service/*</c>).</summary>
public sealed class RouteMatcher
{
    private readonly string _httpMethod;
    private readonly PathTemplate? _template;
    private readonly string _rpcMethod;
    private readonly bool _rpcService;

    private RouteMatcher(string httpMethod, PathTemplate? template, string rpcMethod)
    {
        _httpMethod = httpMethod;
        _template = template;
        _rpcService = rpcMethod.EndsWith("/*", StringComparison.Ordinal);
        _rpcMethod = _rpcService ? rpcMethod[..^1] : rpcMethod;
        AnyMethod = template is not null && httpMethod.Length == 0;
        if (template is not null)
        {
            LiteralPrefix = template.LiteralPrefix;
            LiteralSegments = template.Segments.Count(s => s is not null);
            Segments = template.Segments.Length;
            EndsWithRest = template.EndsWithRest;
            Identity = "http " + httpMethod + " " + template.Pattern;
        }
        else
        {
            // An exact method is more specific than its service's wildcard.
            LiteralPrefix = _rpcService ? 1 : 2;
            Identity = "rpc " + rpcMethod;
        }
    }

    /// <summary>Literal segments before the first wildcard (for an rpc method: 2 exact, 1 for <c>Service/*</c>).</summary>
    public int LiteralPrefix { get; }

    /// <summary>Literal segments anywhere in the template.</summary>
    public int LiteralSegments { get; }

    /// <summary>Fixed segments (literals and <c>*</c>) of the template.</summary>
    public int Segments { get; }

    /// <summary>True when the template ends with <c>**</c>.</summary>
    public bool EndsWithRest { get; }

    /// <summary>True for an HTTP match without a method.</summary>
    public bool AnyMethod { get; }

    /// <summary>Equal for two matches that match exactly the same requests.</summary>
    public string Identity { get; }

    /// <summary>The matcher of a match that passed validation.</summary>
    public static RouteMatcher Compile(RouteMatch match)
    {
        if (match.RpcMethod.Length > 0)
        {
            return new RouteMatcher("", null, match.RpcMethod);
        }

        var template = PathTemplate.Parse(match.PathTemplate, out var problem)
            ?? throw new InvalidOperationException($"A stored route has the invalid path template '{match.PathTemplate}': {problem}.");
        return new RouteMatcher(match.HttpMethod, template, "");
    }

    /// <summary>True when this match applies to <paramref name="target"/>.</summary>
    public bool Matches(RequestTarget target)
    {
        if (_template is not null)
        {
            return target.Path.Length > 0
                && (_httpMethod.Length == 0 || _httpMethod == target.HttpMethod)
                && _template.Matches(target.Path);
        }

        return target.RpcMethod.Length > 0 && (_rpcService ? target.RpcMethod.StartsWith(_rpcMethod, StringComparison.Ordinal) && target.RpcMethod.IndexOf('/', StringComparison.Ordinal) == _rpcMethod.Length - 1 : target.RpcMethod == _rpcMethod);
    }
}
