using GameSystem.Mesh;
using GameSystem.QuestSystem.V1;
using GameSystem.Services.QuestSystem.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.QuestSystem;

public sealed partial class QuestSystemService
{
    private const int DefaultDefinitionPage = 50;
    private const int MaxDefinitionPage = 500;

    /// <summary>Index members a filtered listing examines per call before it answers a shorter page with a token.</summary>
    private const int MaxScannedPerPage = 2000;

    /// <inheritdoc/>
    public async ValueTask<CreateQuestDefinitionResponse> CreateQuestDefinitionAsync(CreateQuestDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "CreateQuestDefinition");
        var problems = new List<FieldProblem>();
        if (request.QuestDefinition is null)
        {
            problems.Add(new FieldProblem("quest_definition", "is required: the quest to create."));
        }
        else
        {
            problems.AddRange(DefinitionRules.Validate(request.QuestDefinition, "quest_definition."));
        }

        if (DefinitionRules.RequestIdProblem(request.RequestId) is { } requestProblem)
        {
            problems.Add(new FieldProblem("request_id", requestProblem));
        }

        Errors.Require(problems);
        var cancellationToken = context.CancellationToken;
        var definition = DefinitionRules.Normalize(request.QuestDefinition!);
        var questId = definition.QuestId;
        var claim = new RequestClaim(StoreKeys.CreateRequest(request.RequestId), "CreateQuestDefinition", "request_id", request.RequestId, request, _options.RequestRetention);
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([claim.Key, StoreKeys.Definition(questId), StoreKeys.Graph], cancellationToken).ConfigureAwait(false);
            if (claim.Answer(read[0], CreateQuestDefinitionResponse.Parser) is { } answer)
            {
                return answer;
            }

            if (read[1] is not null)
            {
                throw Errors.AlreadyExists($"Quest '{questId}' already exists (created by another request); read it with GetQuestDefinition or change it with UpdateQuestDefinition.");
            }

            var graph = read[2] is { } stored ? PrerequisiteGraph.Parser.ParseFrom(stored.Value.Span) : new PrerequisiteGraph();
            if (DefinitionRules.GraphProblem(graph, questId, [.. definition.Prerequisites.CompletedQuestIds]) is { } graphProblem)
            {
                throw Errors.FailedPrecondition(graphProblem.Field, graphProblem.Description);
            }

            var now = Timestamp.FromDateTimeOffset(Now());
            definition.Version = 1;
            definition.CreateTime = now;
            definition.UpdateTime = now;
            var nextGraph = graph.Clone();
            nextGraph.Edges[questId] = new QuestIdList { QuestIds = { definition.Prerequisites.CompletedQuestIds } };
            var bytes = new DefinitionRecord { Definition = definition }.ToByteArray();
            var response = new CreateQuestDefinitionResponse { QuestDefinition = definition };
            var transaction = new StateTransaction()
                .Set(StoreKeys.Definition(questId), bytes, expectedVersion: 0)
                .Set(StoreKeys.DefinitionVersion(questId, 1), bytes)
                .Set(StoreKeys.Graph, nextGraph.ToByteArray(), expectedVersion: read[2]?.Version ?? 0)
                .IndexAdd(StoreKeys.DefinitionIds, questId);
            if (definition.State == QuestDefinitionState.Published)
            {
                transaction.IndexAdd(StoreKeys.PublishedIds, questId);
            }

            claim.Take(transaction, response);
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogDefinitionWritten(_logger, questId, 1, definition.State);
                return response;
            }
        }

        throw Errors.Contended("The quest definitions");
    }

    /// <inheritdoc/>
    public async ValueTask<GetQuestDefinitionResponse> GetQuestDefinitionAsync(GetQuestDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var seesAll = Access.SeesUnpublished(context.GetPrincipal(), "GetQuestDefinition");
        var problems = new List<FieldProblem>();
        if (DefinitionRules.IdProblem(request.QuestId, "quest id") is { } idProblem)
        {
            problems.Add(new FieldProblem("quest_id", idProblem));
        }

        if (request.Version < 0)
        {
            problems.Add(new FieldProblem("version", $"is {request.Version}: 0 for the current version, or an earlier version number."));
        }

        Errors.Require(problems);
        var read = await _store.GetManyAsync([StoreKeys.Definition(request.QuestId), StoreKeys.DefinitionVersion(request.QuestId, request.Version)], context.CancellationToken).ConfigureAwait(false);
        var current = read[0] is { } entry ? DefinitionRecord.Parser.ParseFrom(entry.Value.Span).Definition : null;
        if (current is null || (!seesAll && current.State == QuestDefinitionState.Draft))
        {
            throw Errors.NotFound($"There is no quest '{request.QuestId}'{(seesAll ? "" : " a player can see")}; ListQuestDefinitions lists them.");
        }

        if (request.Version == 0 || request.Version == current.Version)
        {
            return new GetQuestDefinitionResponse { QuestDefinition = current };
        }

        return read[1] is { } version
            ? new GetQuestDefinitionResponse { QuestDefinition = DefinitionRecord.Parser.ParseFrom(version.Value.Span).Definition }
            : throw Errors.NotFound($"Quest '{request.QuestId}' has no version {request.Version}; its versions are 1-{current.Version}.");
    }

    /// <inheritdoc/>
    public async ValueTask<ListQuestDefinitionsResponse> ListQuestDefinitionsAsync(ListQuestDefinitionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var seesAll = Access.SeesUnpublished(context.GetPrincipal(), "ListQuestDefinitions");
        if (!seesAll && request.State is not (QuestDefinitionState.Unspecified or QuestDefinitionState.Published))
        {
            throw Errors.PermissionDenied($"ListQuestDefinitions: listing {LogRules.Name(request.State)} quests needs the '{Access.ReadScope}' or '{Access.AdminScope}' scope; players see PUBLISHED quests only.");
        }

        if (!System.Enum.IsDefined(request.State))
        {
            throw Errors.InvalidArgument("state", $"{(int)request.State} is not a QuestDefinitionState.");
        }

        var pageSize = PageCursor.PageSize(request.PageSize, DefaultDefinitionPage, MaxDefinitionPage);
        var state = seesAll ? request.State : QuestDefinitionState.Published;
        var listing = $"defs|{(int)state}|{request.WorldId}|{request.RegionId}|{request.GiverNpcId}|{request.Tag}";
        var after = PageCursor.Resume(request.PageToken, listing);
        var (definitions, last, more) = await ScanDefinitionsAsync(
            state == QuestDefinitionState.Published ? StoreKeys.PublishedIds : StoreKeys.DefinitionIds,
            after,
            pageSize,
            d => (state == QuestDefinitionState.Unspecified || d.State == state)
                && (request.WorldId.Length == 0 || d.WorldId.Length == 0 || d.WorldId == request.WorldId)
                && (request.RegionId.Length == 0 || d.RegionId == request.RegionId)
                && (request.GiverNpcId.Length == 0 || d.GiverNpcId == request.GiverNpcId)
                && (request.Tag.Length == 0 || d.Tags.Contains(request.Tag)),
            context.CancellationToken).ConfigureAwait(false);
        var response = new ListQuestDefinitionsResponse { QuestDefinitions = { definitions } };
        if (more && last is not null)
        {
            response.NextPageToken = PageCursor.After(listing, last);
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<UpdateQuestDefinitionResponse> UpdateQuestDefinitionAsync(UpdateQuestDefinitionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireAdmin(context.GetPrincipal(), "UpdateQuestDefinition");
        var problems = new List<FieldProblem>();
        if (request.QuestDefinition is null)
        {
            problems.Add(new FieldProblem("quest_definition", "is required: the new values, with quest_definition.quest_id naming the quest."));
        }
        else if (DefinitionRules.IdProblem(request.QuestDefinition.QuestId, "quest id") is { } idProblem)
        {
            problems.Add(new FieldProblem("quest_definition.quest_id", idProblem));
        }

        problems.AddRange(DefinitionRules.ValidateMask(request.UpdateMask));
        if (request.ExpectedVersion < 1)
        {
            problems.Add(new FieldProblem("expected_version", $"is {request.ExpectedVersion}: give the version the change is based on (GetQuestDefinition's `version`, 1 or more)."));
        }

        Errors.Require(problems);
        var questId = request.QuestDefinition!.QuestId;
        var paths = request.UpdateMask.Paths.Distinct(StringComparer.Ordinal).ToList();
        if (paths.Contains("state") && request.QuestDefinition.State == QuestDefinitionState.Unspecified)
        {
            throw Errors.InvalidArgument("quest_definition.state", "is UNSPECIFIED: a definition is DRAFT, PUBLISHED or RETIRED.");
        }

        var cancellationToken = context.CancellationToken;
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([StoreKeys.Definition(questId), StoreKeys.Graph], cancellationToken).ConfigureAwait(false);
            if (read[0] is not { } entry)
            {
                throw Errors.NotFound($"There is no quest '{questId}' to update; create it with CreateQuestDefinition.");
            }

            var current = DefinitionRecord.Parser.ParseFrom(entry.Value.Span).Definition;
            var next = DefinitionRules.Apply(current, request.QuestDefinition, paths);
            if (current.Version != request.ExpectedVersion)
            {
                // A retry of an update that applied finds its own result: the next version, equal to what it asks for.
                if (current.Version == request.ExpectedVersion + 1 && SameContent(next, current))
                {
                    return new UpdateQuestDefinitionResponse { QuestDefinition = current };
                }

                throw Errors.FailedPrecondition($"Quest '{questId}' is at version {current.Version}, not {request.ExpectedVersion}: someone changed it since you read it. Read it again and reapply your change.");
            }

            Errors.Require(DefinitionRules.Validate(next, "quest_definition."));
            var graph = read[1] is { } stored ? PrerequisiteGraph.Parser.ParseFrom(stored.Value.Span) : new PrerequisiteGraph();
            var required = next.Prerequisites?.CompletedQuestIds.ToList() ?? [];
            if (DefinitionRules.GraphProblem(graph, questId, required) is { } graphProblem)
            {
                throw Errors.FailedPrecondition(graphProblem.Field, graphProblem.Description);
            }

            var now = Timestamp.FromDateTimeOffset(Now());
            next.Version = current.Version + 1;
            next.UpdateTime = now;
            next.Prerequisites ??= new Prerequisites();
            next.Rewards ??= new GameSystem.Common.V1.Reward();
            var bytes = new DefinitionRecord { Definition = next }.ToByteArray();
            var transaction = new StateTransaction()
                .Set(StoreKeys.Definition(questId), bytes, expectedVersion: entry.Version)
                .Set(StoreKeys.DefinitionVersion(questId, next.Version), bytes);
            var edges = new QuestIdList { QuestIds = { required } };
            if (!graph.Edges.TryGetValue(questId, out var old) || !old.Equals(edges))
            {
                var nextGraph = graph.Clone();
                nextGraph.Edges[questId] = edges;
                transaction.Set(StoreKeys.Graph, nextGraph.ToByteArray(), expectedVersion: read[1]?.Version ?? 0);
            }
            else
            {
                transaction.Require(StoreKeys.Graph, read[1]?.Version ?? 0);
            }

            if (next.State == QuestDefinitionState.Published && current.State != QuestDefinitionState.Published)
            {
                transaction.IndexAdd(StoreKeys.PublishedIds, questId);
            }
            else if (next.State != QuestDefinitionState.Published && current.State == QuestDefinitionState.Published)
            {
                transaction.IndexRemove(StoreKeys.PublishedIds, questId);
            }

            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                LogDefinitionWritten(_logger, questId, next.Version, next.State);
                return new UpdateQuestDefinitionResponse { QuestDefinition = next };
            }
        }

        throw Errors.Contended("The quest definitions");
    }

    /// <summary>
    /// Definitions of <paramref name="index"/> after <paramref name="after"/> that pass
    /// <paramref name="filter"/>, up to <paramref name="pageSize"/>; the last member examined and
    /// whether more may follow.
    /// </summary>
    private async ValueTask<(List<QuestDefinition> Definitions, string? Last, bool More)> ScanDefinitionsAsync(
        string index, string? after, int pageSize, Func<QuestDefinition, bool> filter, CancellationToken cancellationToken)
    {
        var found = new List<QuestDefinition>();
        string? last = after;
        var scanned = 0;
        string? token = null;
        while (true)
        {
            // From is inclusive: the member the previous page ended on comes again and is skipped.
            var page = await _store.QueryIndexAsync(index, new StateIndexQuery { From = after, PageSize = Math.Min(100, Math.Max(pageSize + 1, 20)), PageToken = token }, cancellationToken).ConfigureAwait(false);
            var members = page.Members.Where(m => !string.Equals(m, after, StringComparison.Ordinal)).ToList();
            if (members.Count == 0 && page.NextPageToken is null)
            {
                return (found, last, false);
            }

            var entries = members.Count == 0 ? [] : await _store.GetManyAsync([.. members.Select(StoreKeys.Definition)], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < members.Count; i++)
            {
                last = members[i];
                scanned++;
                if (entries[i] is { } entry && DefinitionRecord.Parser.ParseFrom(entry.Value.Span).Definition is var definition && filter(definition))
                {
                    found.Add(definition);
                    if (found.Count == pageSize)
                    {
                        return (found, last, i < members.Count - 1 || page.NextPageToken is not null);
                    }
                }
            }

            if (page.NextPageToken is null)
            {
                return (found, last, false);
            }

            if (scanned >= MaxScannedPerPage)
            {
                return (found, last, true);
            }

            token = page.NextPageToken;
        }
    }

    private static bool SameContent(QuestDefinition a, QuestDefinition b)
    {
        var left = a.Clone();
        var right = b.Clone();
        left.Version = right.Version = 0;
        left.UpdateTime = right.UpdateTime = null;
        left.Prerequisites ??= new Prerequisites();
        right.Prerequisites ??= new Prerequisites();
        left.Rewards ??= new GameSystem.Common.V1.Reward();
        right.Rewards ??= new GameSystem.Common.V1.Reward();
        return left.Equals(right);
    }

    [LoggerMessage(EventId = 2701, Level = LogLevel.Information, Message = "Quest definition {QuestId} written at version {Version} ({State})")]
    private static partial void LogDefinitionWritten(ILogger logger, string questId, long version, QuestDefinitionState state);
}
