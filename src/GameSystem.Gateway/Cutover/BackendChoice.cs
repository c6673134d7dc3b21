using System.Security.Cryptography;
using GameSystem.Mesh;
using GameSystem.Router.V1;
using GameSystem.Routing;
using Route = GameSystem.Router.V1.Route;

namespace GameSystem.Gateway.Cutover;

/// <summary>
/// Where one request goes: router's matching route (by HTTP method and path, else by rpc) and
/// its backend, chosen as Resolve chooses (<see cref="BackendPicker"/>): sticky by the
/// authenticated account, or for an anonymous caller by its session (the <c>gs-session</c>
/// cookie or <c>X-Session-Id</c> header; a sticky route gives a new anonymous caller a cookie).
/// </summary>
internal static class BackendChoice
{
    /// <summary>The cookie that keeps an anonymous caller on one side of a sticky split.</summary>
    public const string SessionCookie = "gs-session";

    /// <summary>The header a non-browser anonymous caller can send instead of the cookie.</summary>
    public const string SessionHeader = "X-Session-Id";

    /// <summary>The route and backend for the request; null when router has no route for it (the mesh, over NATS).</summary>
    public static (Route Route, Backend Backend)? Choose(RouteTable? table, HttpContext http, string path, GatewayRoute route, MeshPrincipal? caller)
    {
        if (table is null || table.Routes.IsEmpty)
        {
            return null;
        }

        var matched = table.Match(new RequestTarget(http.Request.Method, path, ""))
            ?? table.Match(new RequestTarget("", "", route.Method.Path.TrimStart('/')));
        if (matched is null)
        {
            return null;
        }

        var splitKey = matched.Sticky ? SplitKey(http, caller) : "";
        var backend = splitKey.Length > 0 ? BackendPicker.Sticky(matched.Backends, splitKey) : BackendPicker.Random(matched.Backends, Random.Shared);
        return backend is null ? null : (matched, backend);
    }

    private static string SplitKey(HttpContext http, MeshPrincipal? caller)
    {
        if (caller is not null)
        {
            return caller.Subject;
        }

        if (http.Request.Cookies.TryGetValue(SessionCookie, out var cookie) && IsSessionId(cookie))
        {
            return cookie;
        }

        if (http.Request.Headers.TryGetValue(SessionHeader, out var header) && header.Count == 1 && IsSessionId(header[0]))
        {
            return header[0]!;
        }

        var session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        http.Response.Cookies.Append(SessionCookie, session, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/", Secure = http.Request.IsHttps });
        return session;
    }

    private static bool IsSessionId(string? value) => value is { Length: >= 8 and <= 128 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
