using GameSystem.Mesh;
using GameSystem.Services.WorldState.Internal;
using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState;

/// <summary>Direct entity writes (world building, services): create with a request id, read, update with a field mask and an expected version, delete.</summary>
public sealed partial class WorldStateService
{
    private static readonly HashSet<string> EntityPaths = new(StringComparer.Ordinal) { "kind", "display_name", "position", "properties", "tags", "external_id" };

    /// <inheritdoc/>
    public async ValueTask<CreateEntityResponse> CreateEntityAsync(CreateEntityRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireWriter(context.GetPrincipal(), "CreateEntity");
        Rules.RequireRegionId(request.RegionId, "region_id");
        Errors.Require(request.Entity is not null, "entity", "is required: at least entity_id and kind.");
        var given = request.Entity!;
        var problems = new List<FieldProblem>();
        if (!Rules.IsEntityId(given.EntityId))
        {
            problems.Add(new("entity.entity_id", Rules.EntityIdRule(given.EntityId)));
        }

        if (given.RegionId.Length > 0 && given.RegionId != request.RegionId)
        {
            problems.Add(new("entity.region_id", $"'{Rules.Shorten(given.RegionId)}' differs from region_id '{request.RegionId}'; leave it empty (it is output only) or the same."));
        }

        Rules.CheckEntityFields(given, "entity", problems);
        Errors.Require(problems);
        Rules.RequireRequestId(request.RequestId);
        var regionId = request.RegionId;
        var entityId = given.EntityId;
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);
        var claim = new RequestClaim(worldId, "CreateEntity", request.RequestId, request, _options.RequestRetention);
        return await ChangeWorldAsync(worldId, claim, CreateEntityResponse.Parser, _ => Keys([regionId], [entityId]), (change, _) =>
        {
            if (change.Region(regionId) is null)
            {
                throw RegionNotFound(regionId);
            }
            if (change.Entity(entityId) is { } existing)
            {
                throw Errors.AlreadyExists($"Entity '{entityId}' already exists in region '{existing.RegionId}' of world '{worldId}' (entity ids are unique within a world); change it with UpdateEntity, or choose another entity_id.");
            }

            change.CreateEntity(regionId, given);
            return new Plan<CreateEntityResponse>(commit => new CreateEntityResponse { Entity = change.Entity(entityId)!.Clone(), RegionVersion = commit.VersionOf(regionId, 0) });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetEntityResponse> GetEntityAsync(GetEntityRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireReader(context.GetPrincipal(), "GetEntity");
        Rules.RequireRegionId(request.RegionId, "region_id");
        Rules.RequireEntityId(request.EntityId, "entity_id");
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(request.RegionId, cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(request.RegionId);
        var read = await _store.GetManyAsync([StoreKeys.Region(worldId, request.RegionId), StoreKeys.Entity(worldId, request.EntityId)], cancellationToken).ConfigureAwait(false);
        _ = read[0] ?? throw RegionNotFound(request.RegionId);
        var entity = read[1] is { } entry ? Entity.Parser.ParseFrom(entry.Value.Span) : null;
        return entity is not null && entity.RegionId == request.RegionId
            ? new GetEntityResponse { Entity = entity }
            : throw NotInRegion(request.RegionId, request.EntityId, entity);
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateEntityResponse> UpdateEntityAsync(UpdateEntityRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireWriter(context.GetPrincipal(), "UpdateEntity");
        Rules.RequireRegionId(request.RegionId, "region_id");
        Errors.Require(request.Entity is not null, "entity", "is required: entity.entity_id names the entity, and the fields update_mask names hold the new values.");
        var given = request.Entity!;
        var entityId = given.EntityId;
        Rules.RequireEntityId(entityId, "entity.entity_id");
        Rules.RequireExpectedVersion(request.ExpectedVersion);
        var (whole, keys) = Mask(request.UpdateMask, EntityPaths, "entity_id", "region_id");
        var problems = new List<FieldProblem>();
        Rules.CheckEntityFields(given, "entity", problems, whole);
        foreach (var key in keys)
        {
            if (given.Properties.TryGetValue(key, out var value) && Rules.ValueProblem(value) is { } problem)
            {
                problems.Add(new($"entity.properties[{key}]", problem));
            }
        }

        Errors.Require(problems);
        var regionId = request.RegionId;
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);
        return await ChangeWorldAsync(worldId, null, UpdateEntityResponse.Parser, _ => Keys([regionId], [entityId]), (change, _) =>
        {
            var region = change.Region(regionId) ?? throw RegionNotFound(regionId);
            var entity = change.Entity(entityId);
            if (entity is null || entity.RegionId != regionId)
            {
                throw NotInRegion(regionId, entityId, entity);
            }

            if (request.ExpectedVersion != 0 && request.ExpectedVersion != entity.Version)
            {
                throw Errors.FailedPrecondition($"Entity '{entityId}' is at version {entity.Version}, not expected_version {request.ExpectedVersion}: another write came first. Read it again (GetEntity), merge and retry with expected_version {entity.Version}; nothing was changed.");
            }

            var changed = false;
            if (whole.Contains("kind") && entity.Kind != given.Kind)
            {
                entity.Kind = given.Kind;
                changed = true;
            }

            if (whole.Contains("display_name") && entity.DisplayName != given.DisplayName)
            {
                entity.DisplayName = given.DisplayName;
                changed = true;
            }

            if (whole.Contains("position") && !Equals(entity.Position, given.Position))
            {
                entity.Position = given.Position?.Clone();
                changed = true;
            }

            if (whole.Contains("tags") && !entity.Tags.SequenceEqual(given.Tags))
            {
                entity.Tags.Clear();
                entity.Tags.Add(given.Tags);
                changed = true;
            }

            if (whole.Contains("external_id") && entity.ExternalId != given.ExternalId)
            {
                entity.ExternalId = given.ExternalId;
                changed = true;
            }

            if (whole.Contains("properties"))
            {
                ReplaceProperties(entity.Properties, given.Properties, (key, old, value) => change.RecordEntityPropertyChange(entityId, key, old, value), () => changed = true);
            }

            foreach (var key in keys)
            {
                change.SetEntityProperty(entityId, key, given.Properties.TryGetValue(key, out var value) ? value : null);
            }

            if (entity.Properties.Count > Rules.MaxEntityProperties)
            {
                throw Errors.InvalidArgument("entity.properties", $"would hold {entity.Properties.Count} properties after this update; an entity holds at most {Rules.MaxEntityProperties}. Nothing was changed.");
            }

            if (changed)
            {
                change.EntityChanged(entityId);
            }

            return new Plan<UpdateEntityResponse>(commit => new UpdateEntityResponse { Entity = change.Entity(entityId)!.Clone(), RegionVersion = commit.VersionOf(regionId, region.Region.Version) });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteEntityResponse> DeleteEntityAsync(DeleteEntityRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireWriter(context.GetPrincipal(), "DeleteEntity");
        Rules.RequireRegionId(request.RegionId, "region_id");
        Rules.RequireEntityId(request.EntityId, "entity_id");
        Rules.RequireExpectedVersion(request.ExpectedVersion);
        var (regionId, entityId) = (request.RegionId, request.EntityId);
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);
        return await ChangeWorldAsync(worldId, null, DeleteEntityResponse.Parser, _ => Keys([regionId], [entityId]), (change, _) =>
        {
            var region = change.Region(regionId) ?? throw RegionNotFound(regionId);
            var entity = change.Entity(entityId);
            if (entity is null || entity.RegionId != regionId)
            {
                return request.AllowMissing && request.ExpectedVersion == 0
                    ? new Plan<DeleteEntityResponse>(_ => new DeleteEntityResponse { RegionVersion = region.Region.Version })
                    : throw NotInRegion(regionId, entityId, entity);
            }

            if (request.ExpectedVersion != 0 && request.ExpectedVersion != entity.Version)
            {
                throw Errors.FailedPrecondition($"Entity '{entityId}' is at version {entity.Version}, not expected_version {request.ExpectedVersion}; nothing was deleted.");
            }

            change.DeleteEntity(entityId);
            return new Plan<DeleteEntityResponse>(commit => new DeleteEntityResponse { RegionVersion = commit.VersionOf(regionId, region.Region.Version) });
        }, cancellationToken).ConfigureAwait(false);
    }

    private static RpcException NotInRegion(string regionId, string entityId, Entity? entity) => entity is null
        ? EntityNotFound(regionId, entityId)
        : Errors.NotFound($"Region '{regionId}' has no entity '{entityId}': it is in region '{entity.RegionId}'.");
}
