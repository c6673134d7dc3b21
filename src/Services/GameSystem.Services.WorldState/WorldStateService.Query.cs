using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.WorldState.Internal;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Grpc.Core;

namespace GameSystem.Services.WorldState;

/// <summary>QueryRegion: a region's entities through its indexes, read at one region version.</summary>
public sealed partial class WorldStateService
{
    /// <summary>How often a first page is read again when the region changed while it was read, before ABORTED.</summary>
    private const int ConsistentReadAttempts = 8;

    /// <summary>Entities read from the store per round trip.</summary>
    private const int ReadBatch = 500;

    /// <inheritdoc/>
    public async ValueTask<QueryRegionResponse> QueryRegionAsync(QueryRegionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireReader(context.GetPrincipal(), "QueryRegion");
        Rules.RequireRegionId(request.RegionId, "region_id");
        var pageSize = PageToken.Size(request.PageSize, defaultSize: 100, max: 1000);
        Errors.Require(CheckQuery(request));
        var filters = request.Clone();
        filters.PageSize = 0;
        filters.PageToken = "";
        var resume = PageToken.Decode(request.PageToken, filters);
        var regionId = request.RegionId;
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);

        for (var attempt = 0; attempt < ConsistentReadAttempts; attempt++)
        {
            var before = await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false) ?? throw RegionNotFound(regionId);
            var record = RegionRecord.Parser.ParseFrom(before.Value.Span);
            var version = record.Region.Version;
            if (resume is { } token && token.Version != version)
            {
                throw Errors.Aborted($"Region '{regionId}' changed since the first page was read (version {token.Version}, now {version}), so the next page cannot be read at that version; query again from the first page (without page_token).");
            }

            var response = request.Within is null
                ? await PageByIdAsync(worldId, request, filters, version, pageSize, resume?.Resume, cancellationToken).ConfigureAwait(false)
                : await PageByDistanceAsync(worldId, request, filters, version, pageSize, resume?.Resume, cancellationToken).ConfigureAwait(false);

            // Every change of an entity moves the region's version on: the same version after the
            // read means the page is exactly the region at that version.
            var after = await _store.GetAsync(StoreKeys.Region(worldId, regionId), cancellationToken).ConfigureAwait(false);
            if (after?.Version == before.Version)
            {
                response.RegionVersion = version;
                if (!request.EntitiesOnly)
                {
                    response.Region = record.Region;
                }

                return response;
            }

            if (resume is not null)
            {
                throw Errors.Aborted($"Region '{regionId}' changed while this page was read (it was at version {version}); query again from the first page (without page_token).");
            }
        }

        throw Errors.Aborted($"Region '{regionId}' changed during each of {ConsistentReadAttempts} reads of its entities; retry the query, or narrow it (kinds, tags, within).");
    }

    /// <summary>A page in entity-id order: the narrowest index the filters allow, from after <paramref name="after"/>.</summary>
    private async ValueTask<QueryRegionResponse> PageByIdAsync(string worldId, QueryRegionRequest request, QueryRegionRequest filters, long version, int pageSize, string? after, CancellationToken cancellationToken)
    {
        var response = new QueryRegionResponse();
        var index = IndexFor(worldId, request);
        var last = after;
        while (true)
        {
            var page = await _store.QueryIndexAsync(index, new StateIndexQuery { From = last, PageSize = ReadBatch }, cancellationToken).ConfigureAwait(false);
            var ids = page.Members.Where(m => m != last).ToList();
            if (ids.Count == 0)
            {
                return response;
            }

            var read = await _store.GetManyAsync([.. ids.Select(id => StoreKeys.Entity(worldId, id))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < ids.Count; i++)
            {
                last = ids[i];
                if (read[i] is not { } entry || Entity.Parser.ParseFrom(entry.Value.Span) is not { } entity || !Matches(entity, request))
                {
                    continue;
                }

                if (response.Entities.Count == pageSize)
                {
                    response.NextPageToken = PageToken.Encode(filters, version, response.Entities[^1].EntityId);
                    return response;
                }

                response.Entities.Add(entity);
            }

            if (page.NextPageToken is null)
            {
                return response;
            }
        }
    }

    /// <summary>A page in distance order: every candidate is read (a region holds at most MaxEntitiesPerRegion), sorted, and paged by offset.</summary>
    private async ValueTask<QueryRegionResponse> PageByDistanceAsync(string worldId, QueryRegionRequest request, QueryRegionRequest filters, long version, int pageSize, string? offsetText, CancellationToken cancellationToken)
    {
        var offset = 0;
        if (offsetText is not null && (!int.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset < 0))
        {
            throw Errors.InvalidArgument("page_token", "is not a page token of this query; pass next_page_token unchanged, or leave it empty for the first page.");
        }

        var center = request.Within.Center ?? new Vector3();
        var radius = request.Within.RadiusMeters;
        var matches = new List<(double Distance, Entity Entity)>();
        var index = IndexFor(worldId, request);
        string? token = null;
        do
        {
            var page = await _store.QueryIndexAsync(index, new StateIndexQuery { PageSize = ReadBatch, PageToken = token }, cancellationToken).ConfigureAwait(false);
            token = page.NextPageToken;
            if (page.Members.Count == 0)
            {
                break;
            }

            var read = await _store.GetManyAsync([.. page.Members.Select(id => StoreKeys.Entity(worldId, id))], cancellationToken).ConfigureAwait(false);
            foreach (var entry in read)
            {
                if (entry is not null && Entity.Parser.ParseFrom(entry.Value.Span) is { Position: { } position } entity && Matches(entity, request))
                {
                    var distance = Math.Sqrt(Square(position.X - center.X) + Square(position.Y - center.Y) + Square(position.Z - center.Z));
                    if (distance <= radius)
                    {
                        matches.Add((distance, entity));
                    }
                }
            }
        }
        while (token is not null);

        var ordered = matches.OrderBy(m => m.Distance).ThenBy(m => m.Entity.EntityId, StringComparer.Ordinal).Skip(offset).Take(pageSize + 1).ToList();
        var response = new QueryRegionResponse();
        response.Entities.AddRange(ordered.Take(pageSize).Select(m => m.Entity));
        if (ordered.Count > pageSize)
        {
            response.NextPageToken = PageToken.Encode(filters, version, (offset + pageSize).ToString(CultureInfo.InvariantCulture));
        }

        return response;
    }

    /// <summary>The narrowest index holding every match: one kind's, else the first tag's, else the region's.</summary>
    private static string IndexFor(string worldId, QueryRegionRequest request) =>
        request.Kinds.Count == 1 ? StoreKeys.EntitiesOfKind(worldId, request.RegionId, request.Kinds[0])
        : request.Tags.Count > 0 ? StoreKeys.EntitiesWithTag(worldId, request.RegionId, request.Tags[0])
        : StoreKeys.Entities(worldId, request.RegionId);

    private static bool Matches(Entity entity, QueryRegionRequest request) =>
        entity.RegionId == request.RegionId
        && (request.Kinds.Count == 0 || request.Kinds.Contains(entity.Kind))
        && request.Tags.All(entity.Tags.Contains)
        && request.PropertyEquals.All(p => entity.Properties.TryGetValue(p.Key, out var value) && value.Equals(p.Value));

    private static double Square(double value) => value * value;

    private static List<FieldProblem> CheckQuery(QueryRegionRequest request)
    {
        var problems = new List<FieldProblem>();
        for (var i = 0; i < request.Kinds.Count; i++)
        {
            if (!Rules.IsKind(request.Kinds[i]))
            {
                problems.Add(new($"kinds[{i}]", Rules.KindRule(request.Kinds[i])));
            }
        }

        if (request.Kinds.Count > 50)
        {
            problems.Add(new("kinds", $"names at most 50 kinds; got {request.Kinds.Count}."));
        }

        for (var i = 0; i < request.Tags.Count; i++)
        {
            if (!Rules.IsTag(request.Tags[i]))
            {
                problems.Add(new($"tags[{i}]", Rules.TagRule(request.Tags[i])));
            }
        }

        if (request.Tags.Count > Rules.MaxTags)
        {
            problems.Add(new("tags", $"names at most {Rules.MaxTags} tags; got {request.Tags.Count}."));
        }

        foreach (var (key, value) in request.PropertyEquals)
        {
            if (!Rules.IsPropertyKey(key))
            {
                problems.Add(new($"property_equals[{Rules.Shorten(key)}]", Rules.PropertyKeyRule(key)));
            }
            else if (Rules.ValueProblem(value) is { } problem)
            {
                problems.Add(new($"property_equals[{key}]", problem));
            }
        }

        if (request.Within is { } within)
        {
            if (within.Center is null)
            {
                problems.Add(new("within.center", "is required: the centre of the sphere, in region metres."));
            }
            else if (Rules.VectorProblem(within.Center) is { } center)
            {
                problems.Add(new("within.center", center));
            }

            if (!double.IsFinite(within.RadiusMeters) || within.RadiusMeters <= 0)
            {
                problems.Add(new("within.radius_meters", $"must be greater than 0 (metres); got {within.RadiusMeters.ToString(CultureInfo.InvariantCulture)}."));
            }
        }

        return problems;
    }
}
