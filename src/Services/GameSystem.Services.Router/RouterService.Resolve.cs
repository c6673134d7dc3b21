using System.Runtime.CompilerServices;
using GameSystem.Mesh;
using GameSystem.Router.V1;
using GameSystem.Services.Router.Internal;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.Router;

/// <summary>Resolve and WatchRoutes: answered from this instance's copy of the table, never a store read per request.</summary>
public sealed partial class RouterService
{
    /// <inheritdoc/>
    /// <remarks>
    /// The gateway calls this on every request it cannot answer from its cache, so it reads no
    /// store: it matches against the in-memory table (the routes in precedence order, first
    /// match wins) and hashes the split key (<see cref="BackendPicker"/>). The copy follows every
    /// change through events; <see cref="RouterOptions.RevisionCheckInterval"/> bounds how stale
    /// it can get if they stop arriving.
    /// </remarks>
    public async ValueTask<ResolveResponse> ResolveAsync(ResolveRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "Resolve");
        var target = Target(request);
        Errors.Require(request.SplitKey.Length <= MaxSplitKeyLength, "split_key", $"is at most {MaxSplitKeyLength} characters; it has {request.SplitKey.Length}");
        var table = _cache.Current ?? await _cache.GetAsync(context.CancellationToken).ConfigureAwait(false);
        _cache.CheckIfDue();
        var route = table.Match(target) ?? throw Errors.NotFound(target.RpcMethod.Length > 0
            ? $"No enabled route matches the rpc method '{target.RpcMethod}'; create one with CreateRoute (rpc_method '{target.RpcMethod}' or its service's '/*')."
            : $"No enabled route matches {target.HttpMethod} {target.Path}; create one with CreateRoute whose path_template matches it.");
        var sticky = route.Sticky && request.SplitKey.Length > 0;
        var backend = (sticky ? BackendPicker.Sticky(route.Backends, request.SplitKey) : BackendPicker.Random(route.Backends, System.Random.Shared))
            ?? throw Errors.FailedPrecondition($"Route '{route.RouteId}' has no backend that takes traffic.");
        var response = new ResolveResponse
        {
            RouteId = route.RouteId,
            RouteVersion = route.Version,
            Backend = backend,

            // A random draw must not be reused: cached, it would pin all of that traffic to one backend.
            CacheTtl = Duration.FromTimeSpan(sticky ? _options.ResolveCacheTtl : TimeSpan.Zero),
        };
        response.Alternates.AddRange(route.Backends
            .Where(b => b != backend && BackendPicker.IsEligible(b))
            .OrderByDescending(b => b.Weight)
            .ThenBy(b => b.BackendId, StringComparer.Ordinal));
        return response;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<WatchRoutesResponse> WatchRoutesAsync(WatchRoutesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "WatchRoutes");
        await foreach (var change in WatchAsync(request.SendInitial, context.CancellationToken).ConfigureAwait(false))
        {
            yield return change;
        }
    }

    private async IAsyncEnumerable<WatchRoutesResponse> WatchAsync(bool sendInitial, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _cache.GetAsync(cancellationToken).ConfigureAwait(false);
        var changes = _cache.Watch(sendInitial);
        try
        {
            await foreach (var change in changes.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }
        }
        finally
        {
            _cache.Unwatch(changes);
        }
    }

    private static RequestTarget Target(ResolveRequest request)
    {
        if (request.RpcMethod.Length > 0)
        {
            Errors.Require(request.Path.Length == 0 && request.HttpMethod.Length == 0, "rpc_method", "cannot be combined with http_method or path: resolve an HTTP request or an rpc call, not both");
            Errors.Require(RouteRules.IsExactRpcMethod(request.RpcMethod), "rpc_method", $"'{request.RpcMethod}' is not a full rpc method name such as 'gamesystem.quest_system.v1.QuestSystemService/AcceptQuest'");
            return new RequestTarget("", "", request.RpcMethod);
        }

        Errors.Require(request.Path.Length > 0, "path", "is required (with http_method), or set rpc_method: the request path without query string, e.g. '/v1/players/p-123/quests:accept'");
        Errors.Require(request.Path[0] == '/' && request.Path.Length <= 4096 && !request.Path.Contains('?', StringComparison.Ordinal) && !request.Path.Contains('#', StringComparison.Ordinal),
            "path", $"'{request.Path}' must start with '/' and carry no query string or fragment (at most 4096 characters)");
        Errors.Require(RouteRules.IsHttpMethod(request.HttpMethod), "http_method", request.HttpMethod.Length == 0 ? "is required with path: the request's method, upper case, e.g. 'GET'" : $"'{request.HttpMethod}' is not an upper-case HTTP method such as GET or POST");
        return new RequestTarget(request.HttpMethod, request.Path, "");
    }
}
