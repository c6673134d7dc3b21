using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.QuestSystem.V1;
using GameSystem.Services.QuestSystem.Internal;
using GameSystem.State;
using GameSystem.StateManager.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.QuestSystem;

public sealed partial class QuestSystemService
{
    private const int DefaultLogPage = 50;
    private const int MaxLogPage = 200;
    private const int MaxActiveQuests = 500;

    /// <inheritdoc/>
    public async ValueTask<AcceptQuestResponse> AcceptQuestAsync(AcceptQuestRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequirePlayerFields(request.PlayerId, request.QuestId, request.RequestId);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Play, "AcceptQuest");
        var cancellationToken = context.CancellationToken;
        var definition = await ReadPlayableDefinitionAsync(request.QuestId, cancellationToken).ConfigureAwait(false);
        if (definition.State != QuestDefinitionState.Published)
        {
            throw Errors.Unmet(
                $"Quest '{request.QuestId}' cannot be accepted: it is {LogRules.Name(definition.State)}, not PUBLISHED. Nothing was written.",
                "QUEST_STATE", $"quests/{request.QuestId}", [$"quest {request.QuestId} is {LogRules.Name(definition.State)}"]);
        }

        var prerequisites = definition.Prerequisites ?? new Prerequisites();
        var facts = LogRules.NeedsFacts(definition) ? await ReadFactsAsync(request.PlayerId, cancellationToken).ConfigureAwait(false) : null;
        var offerKeys = prerequisites.PurchasedOfferIds.Select(o => StoreKeys.Offer(request.PlayerId, o)).ToList();
        return await ChangeLogAsync(
            request.PlayerId,
            Claim(request.PlayerId, "AcceptQuest", request.RequestId, request),
            AcceptQuestResponse.Parser,
            [request.QuestId, .. prerequisites.CompletedQuestIds, .. prerequisites.ExcludedQuestIds],
            offerKeys,
            (log, now) =>
            {
                var own = log.Record(request.QuestId);
                if (own is not null && LogRules.StateAt(own, now.ToDateTimeOffset()) == PlayerQuestState.Active)
                {
                    throw Errors.AlreadyExists($"Player '{request.PlayerId}' already has quest '{request.QuestId}' active (attempt {own.Quest.Attempt}); report progress on it, complete or abandon it.");
                }

                var verdict = LogRules.Check(definition, own, log.Record, offer => Unlocked(log.Extra(StoreKeys.Offer(request.PlayerId, offer))), facts, now.ToDateTimeOffset());
                if (!verdict.Available)
                {
                    throw Errors.Unmet(
                        $"Player '{request.PlayerId}' cannot accept quest '{request.QuestId}': {string.Join("; ", verdict.Reasons)}. Nothing was written.",
                        "PREREQUISITE", $"quests/{request.QuestId}", verdict.Reasons);
                }

                var accepted = LogRules.Accept(request.PlayerId, definition, own, now);
                var changes = new Dictionary<string, PlayerQuestRecord> { [request.QuestId] = accepted };
                var events = new List<DomainEvent>();
                if (own is not null && LogRules.IsExpired(own, now.ToDateTimeOffset()))
                {
                    events.Add(QuestEvents.Failed(LogRules.Expire(own, now.ToDateTimeOffset()).Quest));
                }

                events.Add(QuestEvents.Accepted(accepted.Quest));
                return new LogPlan<AcceptQuestResponse>(new AcceptQuestResponse { PlayerQuest = accepted.Quest }, changes, events, []);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<ReportObjectiveProgressResponse> ReportObjectiveProgressAsync(ReportObjectiveProgressRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var problems = new List<FieldProblem>();
        if (DefinitionRules.PlayerIdProblem(request.PlayerId) is { } playerProblem)
        {
            problems.Add(new FieldProblem("player_id", playerProblem));
        }

        if (DefinitionRules.RequestIdProblem(request.ReportId, "report_id") is { } reportProblem)
        {
            problems.Add(new FieldProblem("report_id", reportProblem.Replace("a client-chosen id (a UUID)", "the producer's id of the game event", StringComparison.Ordinal)));
        }

        switch (request.TargetCase)
        {
            case ReportObjectiveProgressRequest.TargetOneofCase.Objective:
                if (DefinitionRules.IdProblem(request.Objective.QuestId, "quest id") is { } questProblem)
                {
                    problems.Add(new FieldProblem("objective.quest_id", questProblem));
                }

                if (DefinitionRules.IdProblem(request.Objective.ObjectiveId, "objective id", 64) is { } objectiveProblem)
                {
                    problems.Add(new FieldProblem("objective.objective_id", objectiveProblem));
                }

                break;
            case ReportObjectiveProgressRequest.TargetOneofCase.Action:
                if (request.Action.Kind == ObjectiveKind.Unspecified || !System.Enum.IsDefined(request.Action.Kind))
                {
                    problems.Add(new FieldProblem("action.kind", "is required: what the player did (COLLECT, DEFEAT, TALK, REACH, INTERACT, DELIVER or CUSTOM)."));
                }

                if (request.Action.TargetId.Length is 0 or > DefinitionRules.MaxIdLength)
                {
                    problems.Add(new FieldProblem("action.target_id", $"is {(request.Action.TargetId.Length == 0 ? "required" : "too long")}: what it was done to, 1-{DefinitionRules.MaxIdLength} characters, e.g. 'npc.wolf'."));
                }

                break;
            default:
                problems.Add(new FieldProblem("target", "is required: set `objective` (one objective of one quest) or `action` (a game action matched against every active objective)."));
                break;
        }

        switch (request.ProgressCase)
        {
            case ReportObjectiveProgressRequest.ProgressOneofCase.Increment when request.Increment is < 1 or > DefinitionRules.MaxCount:
                problems.Add(new FieldProblem("increment", $"is {request.Increment}: add 1-{DefinitionRules.MaxCount}."));
                break;
            case ReportObjectiveProgressRequest.ProgressOneofCase.AbsoluteCount when request.AbsoluteCount is < 0 or > DefinitionRules.MaxCount:
                problems.Add(new FieldProblem("absolute_count", $"is {request.AbsoluteCount}: a count of 0-{DefinitionRules.MaxCount}."));
                break;
            case ReportObjectiveProgressRequest.ProgressOneofCase.None:
                problems.Add(new FieldProblem("progress", "is required: set `increment` (add this many) or `absolute_count` (the count now)."));
                break;
        }

        Errors.Require(problems);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Observe, "ReportObjectiveProgress");
        return await ProgressAsync(request, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>Applies a validated progress report: once per report id (a repeat answers the first result, marked duplicate).</summary>
    private async ValueTask<ReportObjectiveProgressResponse> ProgressAsync(ReportObjectiveProgressRequest request, CancellationToken cancellationToken)
    {
        var byObjective = request.TargetCase == ReportObjectiveProgressRequest.TargetOneofCase.Objective;
        int? increment = request.ProgressCase == ReportObjectiveProgressRequest.ProgressOneofCase.Increment ? request.Increment : null;
        int? absolute = request.ProgressCase == ReportObjectiveProgressRequest.ProgressOneofCase.AbsoluteCount ? request.AbsoluteCount : null;
        var claim = new RequestClaim(StoreKeys.Report(request.PlayerId, request.ReportId), "ReportObjectiveProgress", "report_id", request.ReportId, request, _options.RequestRetention);

        // A repeat is answered from the first answer, marked as such.
        var first = await _store.GetAsync(claim.Key, cancellationToken).ConfigureAwait(false);
        if (claim.Answer(first, ReportObjectiveProgressResponse.Parser) is { } earlier)
        {
            earlier.Duplicate = true;
            return earlier;
        }

        IReadOnlyList<string> questIds = byObjective
            ? [request.Objective.QuestId]
            : (await _store.QueryIndexAsync(StoreKeys.Active(request.PlayerId), new StateIndexQuery { PageSize = MaxActiveQuests }, cancellationToken).ConfigureAwait(false)).Members;
        return await ChangeLogAsync(
            request.PlayerId,
            claim,
            ReportObjectiveProgressResponse.Parser,
            questIds,
            [],
            (log, now) => PlanProgress(request, log, now, increment, absolute),
            cancellationToken,
            markReplayed: answer => answer.Duplicate = true).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<CompleteQuestResponse> CompleteQuestAsync(CompleteQuestRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequirePlayerFields(request.PlayerId, request.QuestId, request.RequestId);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Play, "CompleteQuest");
        var cancellationToken = context.CancellationToken;
        var response = await ChangeLogAsync(
            request.PlayerId,
            Claim(request.PlayerId, "CompleteQuest", request.RequestId, request),
            CompleteQuestResponse.Parser,
            [request.QuestId],
            [],
            (log, now) =>
            {
                var record = RequireRecord(log.Record(request.QuestId), request.PlayerId, request.QuestId);
                var at = now.ToDateTimeOffset();
                switch (LogRules.StateAt(record, at))
                {
                    case PlayerQuestState.Completed:
                        // Completing a completed attempt returns it: the grant it owes is already owed once.
                        return LogPlan<CompleteQuestResponse>.Unchanged(new CompleteQuestResponse { PlayerQuest = record.Quest });
                    case PlayerQuestState.Active:
                        break;
                    case var state:
                        var expired = LogRules.IsExpired(record, at);
                        throw Errors.FailedPrecondition($"Quest '{request.QuestId}' of player '{request.PlayerId}' is {LogRules.Name(state)}{(expired ? " (its time limit expired)" : "")}, not ACTIVE: only an active quest can be completed. Accept it again to start a new attempt.");
                }

                var unfinished = LogRules.Unfinished(record.Quest);
                if (unfinished.Count > 0)
                {
                    var reasons = unfinished.Select(o => $"objective {DefinitionRules.Describe(o)} is not done").ToList();
                    throw Errors.Unmet(
                        $"Quest '{request.QuestId}' of player '{request.PlayerId}' cannot be completed yet: {string.Join(", ", unfinished.Select(DefinitionRules.Describe))} {(unfinished.Count == 1 ? "is" : "are")} not done. Nothing was written.",
                        "OBJECTIVE", $"players/{request.PlayerId}/quests/{request.QuestId}", reasons);
                }

                var completed = LogRules.Complete(record, now);
                return new LogPlan<CompleteQuestResponse>(
                    new CompleteQuestResponse { PlayerQuest = completed.Quest },
                    new Dictionary<string, PlayerQuestRecord> { [request.QuestId] = completed },
                    [QuestEvents.Completed(completed.Quest)],
                    completed.Quest.RewardStatus == RewardStatus.Pending ? [LogRules.GrantOf(completed.Quest)] : []);
            },
            cancellationToken).ConfigureAwait(false);

        if (response.PlayerQuest.RewardStatus != RewardStatus.Pending || _options.InlineGrantTimeout == TimeSpan.Zero)
        {
            return response;
        }

        // Try the grant now, so the answer usually says GRANTED; the worker keeps trying if it cannot.
        using var inline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        inline.CancelAfter(_options.InlineGrantTimeout);
        try
        {
            await _grants.DrainAsync(StoreKeys.PlayerPartition(request.PlayerId), inline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException && !cancellationToken.IsCancellationRequested)
        {
            // Too slow or the store refused: the answer says PENDING and the worker goes on.
        }

        var current = await _store.GetAsync(StoreKeys.PlayerQuest(request.PlayerId, request.QuestId), cancellationToken).ConfigureAwait(false);
        return current is not null && PlayerQuestRecord.Parser.ParseFrom(current.Value.Span) is { } latest && latest.Quest.Attempt == response.PlayerQuest.Attempt
            ? new CompleteQuestResponse { PlayerQuest = latest.Quest }
            : response;
    }

    /// <inheritdoc/>
    public async ValueTask<AbandonQuestResponse> AbandonQuestAsync(AbandonQuestRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequirePlayerFields(request.PlayerId, request.QuestId, requestId: null);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Play, "AbandonQuest");
        return await EndAsync(request.PlayerId, request.QuestId, PlayerQuestState.Abandoned, "", q => new AbandonQuestResponse { PlayerQuest = q }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<FailQuestResponse> FailQuestAsync(FailQuestRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequirePlayerFields(request.PlayerId, request.QuestId, requestId: null);
        if (request.Reason.Length > 500)
        {
            throw Errors.InvalidArgument("reason", $"is {request.Reason.Length} characters; at most 500.");
        }

        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Observe, "FailQuest");
        var reason = request.Reason.Length > 0 ? request.Reason : "The quest failed.";
        return await EndAsync(request.PlayerId, request.QuestId, PlayerQuestState.Failed, reason, q => new FailQuestResponse { PlayerQuest = q }, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetPlayerQuestResponse> GetPlayerQuestAsync(GetPlayerQuestRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        RequirePlayerFields(request.PlayerId, request.QuestId, requestId: null);
        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Read, "GetPlayerQuest");
        var entry = await _store.GetAsync(StoreKeys.PlayerQuest(request.PlayerId, request.QuestId), context.CancellationToken).ConfigureAwait(false);
        var record = RequireRecord(entry is null ? null : PlayerQuestRecord.Parser.ParseFrom(entry.Value.Span), request.PlayerId, request.QuestId);
        return new GetPlayerQuestResponse { PlayerQuest = LogRules.Present(record, Now()) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListPlayerQuestsResponse> ListPlayerQuestsAsync(ListPlayerQuestsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (DefinitionRules.PlayerIdProblem(request.PlayerId) is { } playerProblem)
        {
            throw Errors.InvalidArgument("player_id", playerProblem);
        }

        if (!System.Enum.IsDefined(request.State))
        {
            throw Errors.InvalidArgument("state", $"{(int)request.State} is not a PlayerQuestState.");
        }

        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Read, "ListPlayerQuests");
        var pageSize = PageCursor.PageSize(request.PageSize, DefaultLogPage, MaxLogPage);
        var listing = $"log|{request.PlayerId}|{(int)request.State}";
        var before = PageCursor.Resume(request.PageToken, listing);
        var cancellationToken = context.CancellationToken;
        var now = Now();
        var response = new ListPlayerQuestsResponse();
        string? token = null;
        string? lastAdded = null;
        var scanned = 0;
        while (true)
        {
            // Most recently changed first: descending, before the member the previous page ended on.
            var page = await _store.QueryIndexAsync(StoreKeys.Log(request.PlayerId), new StateIndexQuery { To = before, Descending = true, PageSize = Math.Min(StateKeys.MaxPageSize, pageSize + 1), PageToken = token }, cancellationToken).ConfigureAwait(false);
            var members = page.Members;
            var stored = members.Count == 0 ? [] : await _store.GetManyAsync([.. members.Select(m => StoreKeys.PlayerQuest(request.PlayerId, m[(m.IndexOf('/', StringComparison.Ordinal) + 1)..]))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < members.Count; i++)
            {
                scanned++;
                if (stored[i] is not { } entry || PlayerQuestRecord.Parser.ParseFrom(entry.Value.Span) is not { } record || record.LogMember != members[i])
                {
                    // Moved on since the index was read: it is listed at its new place.
                    continue;
                }

                var quest = LogRules.Present(record, now);
                if (request.State != PlayerQuestState.Unspecified && quest.State != request.State)
                {
                    continue;
                }

                if (response.PlayerQuests.Count == pageSize)
                {
                    response.NextPageToken = PageCursor.After(listing, lastAdded!);
                    return response;
                }

                response.PlayerQuests.Add(quest);
                lastAdded = members[i];
            }

            if (page.NextPageToken is null)
            {
                return response;
            }

            if (scanned >= MaxScannedPerPage)
            {
                response.NextPageToken = PageCursor.After(listing, members[^1]);
                return response;
            }

            token = page.NextPageToken;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<ListAvailableQuestsResponse> ListAvailableQuestsAsync(ListAvailableQuestsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (DefinitionRules.PlayerIdProblem(request.PlayerId) is { } playerProblem)
        {
            throw Errors.InvalidArgument("player_id", playerProblem);
        }

        Access.RequirePlayer(context.GetPrincipal(), request.PlayerId, LogRight.Read, "ListAvailableQuests");
        var pageSize = PageCursor.PageSize(request.PageSize, DefaultLogPage, MaxLogPage);
        var listing = $"available|{request.PlayerId}|{request.WorldId}|{request.RegionId}|{request.GiverNpcId}|{request.IncludeUnavailable}";
        var after = PageCursor.Resume(request.PageToken, listing);
        var cancellationToken = context.CancellationToken;
        var response = new ListAvailableQuestsResponse();
        PlayerFacts? facts = null;
        while (response.Quests.Count < pageSize)
        {
            var (definitions, last, more) = await ScanDefinitionsAsync(
                StoreKeys.PublishedIds,
                after,
                pageSize - response.Quests.Count,
                d => d.State == QuestDefinitionState.Published
                    && (request.WorldId.Length == 0 || d.WorldId.Length == 0 || d.WorldId == request.WorldId)
                    && (request.RegionId.Length == 0 || d.RegionId == request.RegionId)
                    && (request.GiverNpcId.Length == 0 || d.GiverNpcId == request.GiverNpcId),
                cancellationToken).ConfigureAwait(false);
            var questIds = definitions.SelectMany(d => (IEnumerable<string>)[d.QuestId, .. d.Prerequisites?.CompletedQuestIds ?? [], .. d.Prerequisites?.ExcludedQuestIds ?? []]).Distinct(StringComparer.Ordinal).ToList();
            var offers = definitions.SelectMany(d => d.Prerequisites?.PurchasedOfferIds ?? []).Distinct(StringComparer.Ordinal).ToList();
            var read = questIds.Count + offers.Count == 0 ? [] : await _store.GetManyAsync([.. questIds.Select(q => StoreKeys.PlayerQuest(request.PlayerId, q)), .. offers.Select(o => StoreKeys.Offer(request.PlayerId, o))], cancellationToken).ConfigureAwait(false);
            var records = new Dictionary<string, PlayerQuestRecord>(StringComparer.Ordinal);
            for (var i = 0; i < questIds.Count; i++)
            {
                if (read[i] is { } entry)
                {
                    records[questIds[i]] = PlayerQuestRecord.Parser.ParseFrom(entry.Value.Span);
                }
            }

            var unlocked = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < offers.Count; i++)
            {
                if (Unlocked(read[questIds.Count + i]))
                {
                    unlocked.Add(offers[i]);
                }
            }

            if (facts is null && definitions.Any(LogRules.NeedsFacts))
            {
                facts = await ReadFactsAsync(request.PlayerId, cancellationToken).ConfigureAwait(false);
            }

            var now = Now();
            foreach (var definition in definitions)
            {
                var verdict = LogRules.Check(definition, records.GetValueOrDefault(definition.QuestId), id => records.GetValueOrDefault(id), unlocked.Contains, facts, now);
                if (verdict.Available || request.IncludeUnavailable)
                {
                    var availability = new QuestAvailability { QuestDefinition = definition, Available = verdict.Available, AvailableTime = verdict.AvailableTime };
                    availability.UnmetReasons.AddRange(verdict.Reasons);
                    response.Quests.Add(availability);
                }
            }

            after = last;
            if (!more)
            {
                return response;
            }
        }

        if (after is not null)
        {
            response.NextPageToken = PageCursor.After(listing, after);
        }

        return response;
    }

    /// <summary>
    /// What a progress report changes: each active quest it names or matches, objective by
    /// objective (ordered objectives wait for the earlier ones; counts clamp), completing an
    /// <c>auto_complete</c> quest whose last required objective it finishes, with its grant.
    /// </summary>
    private static LogPlan<ReportObjectiveProgressResponse> PlanProgress(ReportObjectiveProgressRequest request, LogSnapshot log, Timestamp now, int? increment, int? absolute)
    {
        var at = now.ToDateTimeOffset();
        var changes = new Dictionary<string, PlayerQuestRecord>(StringComparer.Ordinal);
        var events = new List<DomainEvent>();
        var grants = new List<GrantTask>();
        var response = new ReportObjectiveProgressResponse();
        var byObjective = request.TargetCase == ReportObjectiveProgressRequest.TargetOneofCase.Objective;
        foreach (var record in log.Records)
        {
            if (LogRules.StateAt(record, at) != PlayerQuestState.Active)
            {
                if (byObjective)
                {
                    throw Errors.NotFound($"Quest '{record.Quest.QuestId}' of player '{request.PlayerId}' is {LogRules.Name(LogRules.StateAt(record, at))}, not active: progress is recorded only on an active quest.");
                }

                continue;
            }

            var next = LogRules.Next(record, now);
            var touched = new List<ObjectiveProgress>();
            for (var i = 0; i < next.Quest.Objectives.Count; i++)
            {
                var objective = next.Quest.Objectives[i];
                var definition = next.Accepted.Objectives[i];
                var matches = byObjective
                    ? objective.ObjectiveId == request.Objective.ObjectiveId
                    : definition.Kind == request.Action.Kind && definition.Kind != ObjectiveKind.Custom && string.Equals(definition.TargetId, request.Action.TargetId, StringComparison.Ordinal);
                if (!matches)
                {
                    continue;
                }

                if (LogRules.BlockedBy(next, i) is { } blocked)
                {
                    if (byObjective)
                    {
                        throw Errors.FailedPrecondition($"Objective '{objective.ObjectiveId}' of quest '{record.Quest.QuestId}' cannot progress yet: {blocked}. Nothing was written.");
                    }

                    continue;
                }

                if (objective.Completed)
                {
                    if (byObjective)
                    {
                        throw Errors.FailedPrecondition($"Objective {DefinitionRules.Describe(objective)} of quest '{record.Quest.QuestId}' is already at its target: no more progress can be recorded on it. Nothing was written.");
                    }

                    continue;
                }

                if (LogRules.Progress(objective, increment, absolute))
                {
                    touched.Add(objective);
                    if (objective.Completed)
                    {
                        response.CompletedObjectives.Add(new ObjectiveRef { QuestId = record.Quest.QuestId, ObjectiveId = objective.ObjectiveId });
                    }
                }
            }

            if (byObjective && !next.Quest.Objectives.Any(o => o.ObjectiveId == request.Objective.ObjectiveId))
            {
                throw Errors.NotFound($"Quest '{record.Quest.QuestId}' has no objective '{request.Objective.ObjectiveId}'; its objectives are {string.Join(", ", next.Quest.Objectives.Select(o => o.ObjectiveId))}.");
            }

            if (touched.Count == 0)
            {
                continue;
            }

            events.AddRange(touched.Select(o => QuestEvents.Progressed(next.Quest, o, request.ReportId)));
            if (next.Accepted.AutoComplete && LogRules.Unfinished(next.Quest).Count == 0)
            {
                next = LogRules.Complete(next, now);
                events.Add(QuestEvents.Completed(next.Quest));
                if (next.Quest.RewardStatus == RewardStatus.Pending)
                {
                    grants.Add(LogRules.GrantOf(next.Quest));
                }
            }

            changes[record.Quest.QuestId] = next;
            response.UpdatedQuests.Add(next.Quest);
        }

        if (byObjective && log.Record(request.Objective.QuestId) is null)
        {
            throw Errors.NotFound($"Player '{request.PlayerId}' never accepted quest '{request.Objective.QuestId}': progress is recorded only on an active quest.");
        }

        return new LogPlan<ReportObjectiveProgressResponse>(response, changes, events, grants);
    }

    /// <summary>Abandons or fails an active attempt; the same again returns it unchanged.</summary>
    private async ValueTask<TResponse> EndAsync<TResponse>(string playerId, string questId, PlayerQuestState end, string reason, Func<PlayerQuest, TResponse> respond, CancellationToken cancellationToken)
        where TResponse : class, Google.Protobuf.IMessage<TResponse>
    {
        var verb = end == PlayerQuestState.Abandoned ? "abandoned" : "failed";
        return await ChangeLogAsync(
            playerId,
            claim: null,
            parser: null,
            [questId],
            [],
            (log, now) =>
            {
                var record = RequireRecord(log.Record(questId), playerId, questId);
                var at = now.ToDateTimeOffset();
                var state = LogRules.StateAt(record, at);
                if (state == end && !LogRules.IsExpired(record, at))
                {
                    return LogPlan<TResponse>.Unchanged(respond(record.Quest));
                }

                if (LogRules.IsExpired(record, at))
                {
                    // Its time ran out first: it is FAILED, which is now written (with its event).
                    var expired = LogRules.Expire(record, at);
                    if (end != PlayerQuestState.Failed)
                    {
                        throw Errors.FailedPrecondition($"Quest '{questId}' of player '{playerId}' already failed (its time limit expired); it cannot be {verb}.");
                    }

                    return new LogPlan<TResponse>(respond(expired.Quest), new Dictionary<string, PlayerQuestRecord> { [questId] = expired }, [QuestEvents.Failed(expired.Quest)], []);
                }

                if (state != PlayerQuestState.Active)
                {
                    throw Errors.FailedPrecondition($"Quest '{questId}' of player '{playerId}' is {LogRules.Name(state)}, not ACTIVE: only an active quest can be {verb}.");
                }

                var next = LogRules.Next(record, now);
                next.Quest.State = end;
                next.Quest.EndTime = now;
                next.Quest.FailureReason = reason;
                return new LogPlan<TResponse>(
                    respond(next.Quest),
                    new Dictionary<string, PlayerQuestRecord> { [questId] = next },
                    [end == PlayerQuestState.Abandoned ? QuestEvents.Abandoned(next.Quest) : QuestEvents.Failed(next.Quest)],
                    []);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The definition to accept: NOT_FOUND for an unknown quest or a draft.</summary>
    private async ValueTask<QuestDefinition> ReadPlayableDefinitionAsync(string questId, CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(StoreKeys.Definition(questId), cancellationToken).ConfigureAwait(false);
        return entry is not null && DefinitionRecord.Parser.ParseFrom(entry.Value.Span).Definition is { State: not QuestDefinitionState.Draft } definition
            ? definition
            : throw Errors.NotFound($"There is no quest '{questId}' to accept; ListAvailableQuests lists the quests a player can accept.");
    }

    /// <summary>The player's experience, level and items from state-manager (a player who never played has none, at level 1).</summary>
    private async ValueTask<PlayerFacts> ReadFactsAsync(string playerId, CancellationToken cancellationToken)
    {
        try
        {
            var state = (await _stateManager.GetPlayerStateAsync(new GetPlayerStateRequest { PlayerId = playerId }, deadline: (Now() + _options.GrantCallTimeout).UtcDateTime, cancellationToken: cancellationToken).ConfigureAwait(false)).State;
            var items = (state.Inventory?.Slots ?? []).GroupBy(s => s.Stack.ItemId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(s => (long)s.Stack.Quantity), StringComparer.Ordinal);
            return new PlayerFacts(state.Experience, Math.Max(1, state.Level), items);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return new PlayerFacts(0, 1, new Dictionary<string, long>());
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Errors.Unavailable($"Cannot check player '{playerId}''s level, experience or items: state-manager answered {ex.StatusCode} ({ex.Status.Detail}). Retry the call.");
        }
    }

    private static bool Unlocked(StateEntry? entry) => entry is not null && OfferPurchases.Parser.ParseFrom(entry.Value.Span).PurchaseIds.Count > 0;

    private static PlayerQuestRecord RequireRecord(PlayerQuestRecord? record, string playerId, string questId) =>
        record ?? throw Errors.NotFound($"Player '{playerId}' never accepted quest '{questId}'; accept it with AcceptQuest (ListAvailableQuests lists what they can accept).");

    private static void RequirePlayerFields(string playerId, string questId, string? requestId)
    {
        var problems = new List<FieldProblem>();
        if (DefinitionRules.PlayerIdProblem(playerId) is { } playerProblem)
        {
            problems.Add(new FieldProblem("player_id", playerProblem));
        }

        if (DefinitionRules.IdProblem(questId, "quest id") is { } questProblem)
        {
            problems.Add(new FieldProblem("quest_id", questProblem));
        }

        if (requestId is not null && DefinitionRules.RequestIdProblem(requestId) is { } requestProblem)
        {
            problems.Add(new FieldProblem("request_id", requestProblem));
        }

        Errors.Require(problems);
    }
}
