using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.Router.V1;
using GameSystem.Services.Router.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.Router;

/// <summary>
/// router: the traffic routing table. Every change is one store transaction on the table
/// (<see cref="StoreKeys"/>) with its revision, its request id and its <c>router.route.changed</c>
/// event; Resolve and WatchRoutes answer from this instance's copy of the table, kept current
/// by those events through event-bus (<see cref="RouteFeed"/>), so every instance follows every
/// other instance's changes without polling the store.
/// </summary>
public sealed partial class RouterService : IRouterService, IHostedService, IAsyncDisposable
{
    /// <summary>
    /// The scope a caller needs to change the table. The contract declares it and the handlers
    /// check it again, failing closed (<see cref="MeshAuthorization"/>): a server run without the
    /// identity interceptor leaves the table read-only.
    /// </summary>
    public const string AdminScope = "router.admin";

    private const int MaxRequestIdLength = 200;
    private const int MaxSplitKeyLength = 512;
    private static readonly string[] UpdatablePaths = ["description", "match", "priority", "backends", "sticky", "disabled", "updated_by"];

    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<RouterService> _logger;
    private readonly RouterOptions _options;
    private readonly RouteCache _cache;
    private readonly RouteFeed _feed;

    /// <summary>Creates the service over a state store, publishing its changes through <paramref name="outbox"/> and following them through <paramref name="eventBus"/>.</summary>
    public RouterService(IStateStore store, EventOutbox outbox, EventBusServiceClient eventBus, IOptions<RouterOptions> options, TimeProvider timeProvider, ILogger<RouterService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(eventBus);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value ?? RouterOptions.Default;
        _options.Validate();
        _store = store;
        _outbox = outbox;
        _time = timeProvider;
        _logger = logger;
        _cache = new RouteCache(store, timeProvider, logger, _options.RevisionCheckInterval, _options.WatchBuffer);
        _feed = new RouteFeed(_cache, eventBus, logger, timeProvider, _options.FirstReconnectBackoff, _options.MaxReconnectBackoff, _options.ChangeEventsHeartbeat);
    }

    /// <summary>Completes once the subscription to route change events is live (tests wait for it).</summary>
    internal Task ChangeEventsLive => _feed.Live;

    /// <summary>This instance's copy of the table.</summary>
    internal RouteCache Cache => _cache;

    /// <summary>Starts following the changes of every instance.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _feed.Start();
        return Task.CompletedTask;
    }

    /// <summary>Stops following changes.</summary>
    public async Task StopAsync(CancellationToken cancellationToken) => await _feed.DisposeAsync().ConfigureAwait(false);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _feed.DisposeAsync();

    /// <inheritdoc/>
    public async ValueTask<CreateRouteResponse> CreateRouteAsync(CreateRouteRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var principal = MeshAuthorization.RequireScope(context.GetPrincipal(), AdminScope, "CreateRoute");
        Errors.Require(request.RequestId.Length is > 0 and <= MaxRequestIdLength, "request_id", $"is required: a client-chosen id (a UUID, at most {MaxRequestIdLength} characters) that makes retries safe");
        Errors.Require(request.Route is not null, "route", "is required: the route to create, with route_id, match and backends");
        var problems = RouteRules.Check(request.Route!, "route");
        if (problems.Count > 0)
        {
            throw Errors.InvalidArgument(problems);
        }

        var cancellationToken = context.CancellationToken;
        var claim = new RequestClaim("CreateRoute", request.RequestId, request);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.Routes], cancellationToken).ConfigureAwait(false);
            if (claim.AnswerOf(read[0], CreateRouteResponse.Parser) is { } answer)
            {
                return answer;
            }

            var record = read[1] is { } stored ? RouteTableRecord.Parser.ParseFrom(stored.Value.Span) : new RouteTableRecord();
            var table = RouteTable.Of(record.Revision, record.Routes);
            var routeId = request.Route!.RouteId;
            if (table.Routes.ContainsKey(routeId))
            {
                throw Errors.AlreadyExists($"Route '{routeId}' already exists; read it with GetRoute and change it with UpdateRoute or SetBackendWeights.");
            }

            CheckNoConflict(table, request.Route);
            if (table.Routes.Count >= StoreKeys.MaxRoutes)
            {
                throw Errors.FailedPrecondition($"The routing table already holds {StoreKeys.MaxRoutes} routes, its limit; delete unused routes first.");
            }

            var now = Now();
            var route = request.Route.Clone();
            route.Version = 1;
            route.CreateTime = now;
            route.UpdateTime = now;
            route.UpdatedBy = UpdatedBy(route.UpdatedBy, principal);
            var response = new CreateRouteResponse { Route = route };
            if (request.ValidateOnly)
            {
                return response;
            }

            if (await CommitAsync(record, read[1]?.Version ?? 0, routeId, route, ChangeEvents.Upserted(route, 0, record.Revision + 1), claim, response, cancellationToken).ConfigureAwait(false))
            {
                LogRouteChanged(_logger, routeId, "created", 1, "-", route.UpdatedBy);
                return response;
            }
        }

        throw Errors.Contended();
    }

    /// <inheritdoc/>
    public async ValueTask<GetRouteResponse> GetRouteAsync(GetRouteRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "GetRoute");
        RequireRouteId(request.RouteId, "route_id");
        var (record, _) = await RouteCache.ReadAsync(_store, context.CancellationToken).ConfigureAwait(false);
        return new GetRouteResponse { Route = Find(record, request.RouteId) ?? throw RouteNotFound(request.RouteId) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListRoutesResponse> ListRoutesAsync(ListRoutesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListRoutes");
        Errors.Require(request.PageSize is >= 0 and <= 500, "page_size", $"must be 1-500 (0 selects 100); got {request.PageSize}");
        Errors.Require(System.Enum.IsDefined(request.BackendKind), "backend_kind", $"{(int)request.BackendKind} is not a BackendKind");
        var pageSize = request.PageSize == 0 ? 100 : request.PageSize;
        var after = PageToken.Decode(request.PageToken);
        var (record, _) = await RouteCache.ReadAsync(_store, context.CancellationToken).ConfigureAwait(false);
        var matching = record.Routes
            .Where(r => after is null || string.CompareOrdinal(r.RouteId, after) > 0)
            .Where(r => request.BackendKind == BackendKind.Unspecified || r.Backends.Any(b => b.Kind == request.BackendKind))
            .Where(r => request.BackendTarget.Length == 0 || r.Backends.Any(b => b.Target == request.BackendTarget))
            .Where(r => !(request.ExcludeDisabled && r.Disabled))
            .Take(pageSize + 1)
            .ToList();
        var response = new ListRoutesResponse();
        response.Routes.AddRange(matching.Take(pageSize));
        if (matching.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(matching[pageSize - 1].RouteId);
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateRouteResponse> UpdateRouteAsync(UpdateRouteRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var principal = MeshAuthorization.RequireScope(context.GetPrincipal(), AdminScope, "UpdateRoute");
        Errors.Require(request.Route is not null, "route", "is required: route.route_id names the route, and the fields named in update_mask hold the new values");
        var changes = request.Route!;
        RequireRouteId(changes.RouteId, "route.route_id");
        var paths = MaskPaths(request.UpdateMask);
        RequireExpectedVersion(request.ExpectedVersion);
        var updatedBy = UpdatedBy(paths.Contains("updated_by") ? changes.UpdatedBy : "", principal);
        var updated = await ReviseAsync(changes.RouteId, request.ExpectedVersion, updatedBy, (next, record) =>
        {
            foreach (var path in paths)
            {
                switch (path)
                {
                    case "description": next.Description = changes.Description; break;
                    case "match": next.Match = changes.Match?.Clone(); break;
                    case "priority": next.Priority = changes.Priority; break;
                    case "backends": next.Backends.Clear(); next.Backends.AddRange(changes.Backends.Select(b => b.Clone())); break;
                    case "sticky": next.Sticky = changes.Sticky; break;
                    case "disabled": next.Disabled = changes.Disabled; break;
                    case "updated_by": next.UpdatedBy = changes.UpdatedBy; break;
                }
            }

            var problems = RouteRules.Check(next, "route");
            if (problems.Count > 0)
            {
                throw Errors.InvalidArgument(problems);
            }

            if (paths.Contains("match") || paths.Contains("priority"))
            {
                CheckNoConflict(RouteTable.Of(record.Revision, record.Routes), next);
            }
        }, "updated", context.CancellationToken).ConfigureAwait(false);
        return new UpdateRouteResponse { Route = updated };
    }

    /// <inheritdoc/>
    public async ValueTask<SetBackendWeightsResponse> SetBackendWeightsAsync(SetBackendWeightsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var principal = MeshAuthorization.RequireScope(context.GetPrincipal(), AdminScope, "SetBackendWeights");
        RequireRouteId(request.RouteId, "route_id");
        Errors.Require(request.Weights.Count > 0, "weights", "is required: the new weight of at least one backend, e.g. [{\"backend_id\":\"nats\",\"weight\":50}]");
        Errors.Require(request.UpdatedBy.Length <= RouteRules.MaxUpdatedByLength, "updated_by", $"is at most {RouteRules.MaxUpdatedByLength} characters");
        RequireExpectedVersion(request.ExpectedVersion);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Weights.Count; i++)
        {
            var weight = request.Weights[i];
            Errors.Require(RouteRules.IsId(weight.BackendId), $"weights[{i}].backend_id", $"'{weight.BackendId}' is not a backend id (lower_kebab, 1-63 characters)");
            Errors.Require(seen.Add(weight.BackendId), $"weights[{i}].backend_id", $"'{weight.BackendId}' is listed twice; give each backend one weight");
            Errors.Require(weight.Weight <= RouteRules.MaxWeight, $"weights[{i}].weight", $"is {weight.Weight}; a weight is 0-{RouteRules.MaxWeight}");
        }

        var revised = await ReviseAsync(request.RouteId, request.ExpectedVersion, UpdatedBy(request.UpdatedBy, principal), (next, _) =>
        {
            foreach (var weight in request.Weights)
            {
                var backend = next.Backends.FirstOrDefault(b => b.BackendId == weight.BackendId)
                    ?? throw Errors.NotFound($"Route '{next.RouteId}' has no backend '{weight.BackendId}'; its backends are {string.Join(", ", next.Backends.Select(b => b.BackendId))}.");
                backend.Weight = weight.Weight;
            }

            if (!next.Disabled && !next.Backends.Any(BackendPicker.IsEligible))
            {
                throw Errors.FailedPrecondition($"These weights leave route '{next.RouteId}' no backend that takes traffic (not disabled, weight > 0); keep one above 0, or disable the route with UpdateRoute.");
            }
        }, "re-weighted", context.CancellationToken).ConfigureAwait(false);
        return new SetBackendWeightsResponse { Route = revised };
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteRouteResponse> DeleteRouteAsync(DeleteRouteRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var principal = MeshAuthorization.RequireScope(context.GetPrincipal(), AdminScope, "DeleteRoute");
        RequireRouteId(request.RouteId, "route_id");
        Errors.Require(request.ExpectedVersion >= 0, "expected_version", $"is {request.ExpectedVersion}; pass the version you read, or 0 to delete whatever the version");
        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (record, storeVersion) = await RouteCache.ReadAsync(_store, cancellationToken).ConfigureAwait(false);
            if (Find(record, request.RouteId) is not { } current)
            {
                return request.ExpectedVersion == 0 ? new DeleteRouteResponse { Deleted = false } : throw RouteNotFound(request.RouteId);
            }

            if (request.ExpectedVersion != 0)
            {
                Errors.CheckVersion(current.RouteId, request.ExpectedVersion, current.Version);
            }

            var change = ChangeEvents.Deleted(current, UpdatedBy("", principal), Now(), record.Revision + 1);
            if (await CommitAsync(record, storeVersion, current.RouteId, null, change, null, null, cancellationToken).ConfigureAwait(false))
            {
                LogRouteChanged(_logger, current.RouteId, "deleted", current.Version, "-", change.UpdatedBy);
                return new DeleteRouteResponse { Deleted = true };
            }
        }

        throw Errors.Contended();
    }

    /// <summary>
    /// Changes one route under <paramref name="expectedVersion"/>: <paramref name="revise"/> edits
    /// a copy of it (and throws to refuse), given the table read. A revision that changes nothing
    /// writes nothing and returns the route as it is; otherwise its version moves on and the
    /// change commits, re-read and re-applied if another writer came first.
    /// </summary>
    private async ValueTask<Route> ReviseAsync(string routeId, long expectedVersion, string updatedBy, Action<Route, RouteTableRecord> revise, string change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var (record, storeVersion) = await RouteCache.ReadAsync(_store, cancellationToken).ConfigureAwait(false);
            var current = Find(record, routeId) ?? throw RouteNotFound(routeId);
            Errors.CheckVersion(current.RouteId, expectedVersion, current.Version);
            var next = current.Clone();
            revise(next, record);
            if (next.Equals(current))
            {
                return current;
            }

            next.Version = current.Version + 1;
            next.UpdateTime = Now();
            next.UpdatedBy = updatedBy;
            if (await CommitAsync(record, storeVersion, routeId, next, ChangeEvents.Upserted(next, current.Version, record.Revision + 1), null, null, cancellationToken).ConfigureAwait(false))
            {
                if (_logger.IsEnabled(LogLevel.Information))
                {
                    var weights = string.Join(", ", next.Backends.Select(b => $"{b.BackendId}={b.Weight}"));
                    LogRouteChanged(_logger, routeId, change, next.Version, weights, updatedBy);
                }

                return next;
            }
        }

        throw Errors.Contended();
    }

    /// <summary>
    /// Writes the table with <paramref name="routeId"/> set to <paramref name="route"/> (null:
    /// removed) under the store version read, moves the revision, publishes the change and
    /// claims the request id, all in one transaction; false when another writer came first.
    /// On success this instance's copy takes the change at once (read-your-writes here; the
    /// event brings it to the other instances).
    /// </summary>
    private async ValueTask<bool> CommitAsync(RouteTableRecord record, long storeVersion, string routeId, Route? route, RouteChanged change, RequestClaim? claim, IMessage? response, CancellationToken cancellationToken)
    {
        var next = new RouteTableRecord { Revision = change.TableRevision };
        next.Routes.AddRange(record.Routes.Where(r => r.RouteId != routeId));
        if (route is not null)
        {
            next.Routes.Add(route);
        }

        var ordered = next.Routes.OrderBy(r => r.RouteId, StringComparer.Ordinal).ToList();
        next.Routes.Clear();
        next.Routes.AddRange(ordered);
        var transaction = new StateTransaction()
            .Set(StoreKeys.Routes, next.ToByteArray(), storeVersion)
            .Increment(StoreKeys.Revision);
        if (claim is not null)
        {
            claim.Record(transaction, response!);
        }

        _outbox.Publish(transaction, ChangeEvents.RouteChanged(change));
        if (!(await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
        {
            return false;
        }

        if (!_cache.Apply(change))
        {
            // This instance's copy is behind the table the write started from: catch up now.
            await _cache.LoadAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private static void CheckNoConflict(RouteTable table, Route route)
    {
        if (table.Conflicting(route.RouteId, route.Match, route.Priority) is { } other)
        {
            throw Errors.AlreadyExists($"Route '{other.RouteId}' already has this match at priority {route.Priority}, so Resolve could not tell the two apart; change that route, or give this one another priority.");
        }
    }

    private static string UpdatedBy(string given, MeshPrincipal principal) => given.Length > 0 ? given : principal.Subject;

    private static void RequireRouteId(string routeId, string field) =>
        Errors.Require(RouteRules.IsId(routeId), field, routeId.Length == 0 ? "is required: the id of a route, e.g. 'quests-accept'" : $"'{routeId}' is not a route id (lower_kebab, 1-63 characters)");

    private static void RequireExpectedVersion(long expectedVersion) =>
        Errors.Require(expectedVersion > 0, "expected_version", "is required: the route's version as you last read it (GetRoute), so two operators never overwrite each other's cut-over steps");

    private static HashSet<string> MaskPaths(FieldMask? mask)
    {
        var allowed = string.Join(", ", UpdatablePaths);
        Errors.Require(mask is { Paths.Count: > 0 }, "update_mask", $"is required: name the fields to change ({allowed})");
        var paths = mask!.Paths.ToHashSet(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            Errors.Require(UpdatablePaths.Contains(path), "update_mask", $"path '{path}' cannot be updated; allowed paths are {allowed} (route_id, version and the timestamps never change)");
        }

        return paths;
    }

    private static Route? Find(RouteTableRecord record, string routeId) => record.Routes.FirstOrDefault(r => r.RouteId == routeId);

    private static RpcException RouteNotFound(string routeId) =>
        Errors.NotFound($"Route '{routeId}' does not exist; ListRoutes shows the routes and CreateRoute creates one.");

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    [LoggerMessage(EventId = 9000, Level = LogLevel.Information, Message = "Route {RouteId} {Change}, version {Version}, weights {Weights}, by '{UpdatedBy}'")]
    private static partial void LogRouteChanged(ILogger logger, string routeId, string change, long version, string weights, string updatedBy);
}
