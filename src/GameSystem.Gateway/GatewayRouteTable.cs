using System.Collections.Frozen;
using System.Collections.Immutable;
using GameSystem.Mesh;

namespace GameSystem.Gateway;

/// <summary>
/// Every HTTP route of every contract, built once at start-up from the <c>google.api.http</c>
/// rules: adding a contract with rules adds its routes, with no gateway change. A request is
/// matched against the routes of its HTTP method in precedence order (more leading literal
/// segments first, then more literals, then more segments, then templates without <c>**</c>),
/// the order router uses.
/// </summary>
internal sealed class GatewayRouteTable
{
    private readonly FrozenDictionary<string, ImmutableArray<GatewayRoute>> _byMethod;
    private readonly ImmutableArray<GatewayRoute> _all;

    private GatewayRouteTable(ImmutableArray<GatewayRoute> routes)
    {
        _all = routes;
        MaxVariables = routes.IsEmpty ? 0 : routes.Max(r => r.Template.Variables.Length);
        _byMethod = routes
            .GroupBy(r => r.HttpMethod, StringComparer.Ordinal)
            .ToFrozenDictionary(
                g => g.Key,
                g => g.OrderByDescending(r => r.Template.LiteralPrefix)
                    .ThenByDescending(r => r.Template.Segments.Count(s => s is not null))
                    .ThenByDescending(r => r.Template.Segments.Length)
                    .ThenBy(r => r.Template.EndsWithRest)
                    .ThenBy(r => r.Template.Verb.Length == 0)
                    .ThenBy(r => r.Template.Text, StringComparer.Ordinal)
                    .ToImmutableArray(),
                StringComparer.Ordinal);
    }

    /// <summary>Every route, in contract order.</summary>
    public ImmutableArray<GatewayRoute> Routes => _all;

    /// <summary>The routes of every rpc of <paramref name="services"/> that has a <c>google.api.http</c> rule.</summary>
    /// <exception cref="InvalidOperationException">A rule does not fit its messages, or two rules claim the same route: the message names both.</exception>
    public static GatewayRouteTable Build(IEnumerable<MeshServiceInfo> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var routes = ImmutableArray.CreateBuilder<GatewayRoute>();
        var claimed = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
        foreach (var method in services.SelectMany(s => s.Methods))
        {
            foreach (var route in GatewayRoute.FromRule(method))
            {
                // Two templates with one pattern match the same requests: nothing could tell them apart.
                var key = route.HttpMethod + " " + route.Template.Pattern;
                if (claimed.TryGetValue(key, out var first))
                {
                    throw new InvalidOperationException(
                        $"Two contracts claim the route {route.HttpMethod} {route.Template.Pattern}: {first.Declaration} and {route.Declaration}. Change one rule's path.");
                }

                claimed.Add(key, route);
                routes.Add(route);
            }
        }

        return new GatewayRouteTable(routes.ToImmutable());
    }

    /// <summary>
    /// The route for <paramref name="httpMethod"/> <paramref name="path"/> (as received, without
    /// query string), with where each variable lies in the path; null when none matches, and then
    /// <paramref name="allowed"/> lists the methods the path would match with (for a 405).
    /// </summary>
    public GatewayRoute? Match(string httpMethod, string path, Span<Range> values, out IReadOnlyList<string> allowed)
    {
        allowed = [];
        if (_byMethod.TryGetValue(httpMethod, out var candidates))
        {
            foreach (var route in candidates)
            {
                if (route.Template.TryMatch(path, values))
                {
                    return route;
                }
            }
        }

        List<string>? others = null;
        foreach (var (method, routes) in _byMethod)
        {
            if (method != httpMethod && routes.Any(r => r.Template.Matches(path)))
            {
                (others ??= []).Add(method);
            }
        }

        if (others is not null)
        {
            others.Sort(StringComparer.Ordinal);
            allowed = others;
        }

        return null;
    }

    /// <summary>The most variables any route's template has: how many ranges <see cref="Match"/> needs.</summary>
    public int MaxVariables { get; }
}
