using System.Text.RegularExpressions;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.Services.WorldState.Internal;
using GameSystem.State;
using GameSystem.WorldState.V1;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.WorldState;

/// <summary>World events: every mutation applied in one transaction with the event's record (exactly once per event id), its undo and its events.</summary>
public sealed partial class WorldStateService
{
    /// <inheritdoc/>
    public async ValueTask<ApplyWorldEventResponse> ApplyWorldEventAsync(ApplyWorldEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireWriter(context.GetPrincipal(), "ApplyWorldEvent");
        Errors.Require(request.Event is not null, "event", "is required: event_id, region_id, type and 1-100 mutations.");
        var worldEvent = request.Event!;
        Errors.Require(CheckEvent(worldEvent));
        var regionId = worldEvent.RegionId;
        var eventId = worldEvent.EventId;
        var fingerprint = Fingerprint.Of(worldEvent);
        var cancellationToken = context.CancellationToken;
        var worldId = await WorldOfAsync(regionId, cancellationToken).ConfigureAwait(false);
        if (await FindEventAsync(eventId, cancellationToken).ConfigureAwait(false) is { } found && found.WorldId != worldId)
        {
            // Applied to a region of another world (event records live in their world's partition).
            return Duplicate(found.Record, fingerprint, eventId);
        }

        if (worldId is null)
        {
            throw RegionNotFound(regionId);
        }

        // Regions the mutations name, and (learnt while planning) those their entities are in.
        var regions = new List<string> { regionId };
        regions.AddRange(worldEvent.Mutations.Where(m => m.MoveEntity is { ToRegionId.Length: > 0 }).Select(m => m.MoveEntity.ToRegionId));
        var entities = worldEvent.Mutations.Select(TargetOf).Where(e => e.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var eventKey = StoreKeys.Event(worldId, eventId);
        return await ChangeWorldAsync(worldId, null, ApplyWorldEventResponse.Parser, _ => Keys([.. regions.Distinct(StringComparer.Ordinal)], entities, [eventKey]), (change, extras) =>
        {
            if (extras[0] is { } recorded)
            {
                var duplicate = Duplicate(EventRecord.Parser.ParseFrom(recorded.Value.Span), fingerprint, eventId);
                return new Plan<ApplyWorldEventResponse>(_ => duplicate);
            }

            var region = change.Region(regionId) ?? throw RegionNotFound(regionId);
            if (worldEvent.ExpectedRegionVersion != 0 && worldEvent.ExpectedRegionVersion != region.Region.Version)
            {
                throw Errors.FailedPrecondition($"Region '{regionId}' is at version {region.Region.Version}, not the event's expected_region_version {worldEvent.ExpectedRegionVersion}: another change came first. Event '{eventId}' was not applied and is not recorded; re-evaluate it and apply it again.");
            }

            var undo = new List<Mutation>();
            for (var i = 0; i < worldEvent.Mutations.Count; i++)
            {
                Apply(change, worldEvent, i, regions, undo);
            }

            foreach (var entityId in entities)
            {
                if (change.Entity(entityId) is { } entity && entity.Properties.Count > Rules.MaxEntityProperties)
                {
                    throw Errors.InvalidArgument("event.mutations", $"would leave entity '{entityId}' with {entity.Properties.Count} properties; an entity holds at most {Rules.MaxEntityProperties}. Nothing was applied.");
                }
            }

            if (region.Region.Properties.Count > Rules.MaxRegionProperties)
            {
                throw Errors.InvalidArgument("event.mutations", $"would leave region '{regionId}' with {region.Region.Properties.Count} properties; a region holds at most {Rules.MaxRegionProperties}. Nothing was applied.");
            }

            undo.Reverse();
            return new Plan<ApplyWorldEventResponse>(
                commit =>
                {
                    var result = new AppliedWorldEvent
                    {
                        Event = worldEvent.Clone(),
                        RegionVersion = commit.VersionOf(regionId, region.Region.Version),
                        ApplyTime = change.Now,
                    };
                    foreach (var (other, changed) in commit.Regions.Where(r => r.Key != regionId))
                    {
                        result.OtherRegionVersions[other] = changed.Version;
                    }

                    result.PropertyChanges.AddRange(commit.PropertyChanges);
                    result.UndoMutations.AddRange(undo);
                    return new ApplyWorldEventResponse { Result = result };
                },
                (transaction, response) =>
                {
                    transaction.Set(eventKey, new EventRecord { Fingerprint = fingerprint, Result = response.Result }.ToByteArray(), expectedVersion: 0, ttl: _options.EventRetention);
                    _outbox.Publish(transaction, WorldEvents.EventApplied(response.Result));
                });
        }, cancellationToken, eventId, worldEvent.Type).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<GetWorldEventResponse> GetWorldEventAsync(GetWorldEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Access.RequireReader(context.GetPrincipal(), "GetWorldEvent");
        Errors.Require(IsEventId(request.EventId), "event_id", EventIdRule(request.EventId));
        var found = await FindEventAsync(request.EventId, context.CancellationToken).ConfigureAwait(false)
            ?? throw Errors.NotFound($"No world event '{request.EventId}' was applied within the last {_options.EventRetention.TotalDays:0.#} days (results are kept that long).");
        return new GetWorldEventResponse { Result = found.Record.Result };
    }

    /// <summary>The record of <paramref name="eventId"/> in any world, with its world; null when none holds it.</summary>
    private async ValueTask<(string WorldId, EventRecord Record)?> FindEventAsync(string eventId, CancellationToken cancellationToken)
    {
        var worlds = new List<string>();
        string? token = null;
        do
        {
            var page = await _store.QueryIndexAsync(StoreKeys.Worlds, new StateIndexQuery { PageSize = StateKeys.MaxPageSize, PageToken = token }, cancellationToken).ConfigureAwait(false);
            worlds.AddRange(page.Members);
            token = page.NextPageToken;
        }
        while (token is not null);
        if (worlds.Count == 0)
        {
            return null;
        }

        var read = await _store.GetManyAsync([.. worlds.Select(w => StoreKeys.Event(w, eventId))], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < worlds.Count; i++)
        {
            if (read[i] is { } entry)
            {
                return (worlds[i], EventRecord.Parser.ParseFrom(entry.Value.Span));
            }
        }

        return null;
    }

    /// <summary>The recorded answer for a repeat of an event; ALREADY_EXISTS when the id was applied with other content.</summary>
    private static ApplyWorldEventResponse Duplicate(EventRecord record, ByteString fingerprint, string eventId) =>
        record.Fingerprint.Equals(fingerprint)
            ? new ApplyWorldEventResponse { Result = record.Result, Duplicate = true }
            : throw Errors.AlreadyExists($"World event '{eventId}' was already applied (to region '{record.Result.Event.RegionId}', type '{record.Result.Event.Type}', {record.Result.Event.Mutations.Count} mutations) with different content; an event id names one event: give a new event a new event_id, and repeat a retry unchanged. GetWorldEvent shows what was applied.");

    /// <summary>Applies mutation <paramref name="index"/> to <paramref name="change"/>, adding its inverse to <paramref name="undo"/>.</summary>
    private static void Apply(WorldChange change, WorldEvent worldEvent, int index, List<string> regions, List<Mutation> undo)
    {
        var mutation = worldEvent.Mutations[index];
        var field = $"event.mutations[{index}]";
        var regionId = worldEvent.RegionId;
        switch (mutation.KindCase)
        {
            case Mutation.KindOneofCase.SetProperty:
            {
                var set = mutation.SetProperty;
                var old = PropertyOf(change, worldEvent, mutation, set.EntityId, field);
                Set(change, regionId, set.EntityId, set.Key, set.Value);
                undo.Add(Restore(set.EntityId, set.Key, old));
                break;
            }

            case Mutation.KindOneofCase.IncrementProperty:
            {
                var increment = mutation.IncrementProperty;
                var old = PropertyOf(change, worldEvent, mutation, increment.EntityId, field);
                var owner = increment.EntityId.Length == 0 ? $"region '{regionId}'" : $"entity '{increment.EntityId}'";
                TypedValue next;
                if (increment.AmountCase == IncrementPropertyMutation.AmountOneofCase.IntDelta)
                {
                    if (old is not null && old.KindCase != TypedValue.KindOneofCase.IntValue)
                    {
                        throw Errors.FailedPrecondition($"{field}: property '{increment.Key}' of {owner} holds {Describe(old)}, so int_delta cannot add to it (an int adds to int properties, a double to double properties); event '{worldEvent.EventId}' was not applied.");
                    }

                    long sum;
                    try
                    {
                        sum = checked((old?.IntValue ?? 0) + increment.IntDelta);
                    }
                    catch (OverflowException)
                    {
                        throw Errors.FailedPrecondition($"{field}: property '{increment.Key}' of {owner} is {old!.IntValue}; adding {increment.IntDelta} overflows a 64-bit integer. Event '{worldEvent.EventId}' was not applied.");
                    }

                    next = new TypedValue { IntValue = sum };
                    undo.Add(old is null ? Restore(increment.EntityId, increment.Key, null) : new Mutation { IncrementProperty = new IncrementPropertyMutation { EntityId = increment.EntityId, Key = increment.Key, IntDelta = -increment.IntDelta } });
                }
                else
                {
                    if (old is not null && old.KindCase != TypedValue.KindOneofCase.DoubleValue)
                    {
                        throw Errors.FailedPrecondition($"{field}: property '{increment.Key}' of {owner} holds {Describe(old)}, so double_delta cannot add to it (an int adds to int properties, a double to double properties); event '{worldEvent.EventId}' was not applied.");
                    }

                    var sum = (old?.DoubleValue ?? 0) + increment.DoubleDelta;
                    if (!double.IsFinite(sum))
                    {
                        throw Errors.FailedPrecondition($"{field}: adding {increment.DoubleDelta} to property '{increment.Key}' of {owner} is not a finite number; event '{worldEvent.EventId}' was not applied.");
                    }

                    next = new TypedValue { DoubleValue = sum };
                    undo.Add(old is null ? Restore(increment.EntityId, increment.Key, null) : new Mutation { IncrementProperty = new IncrementPropertyMutation { EntityId = increment.EntityId, Key = increment.Key, DoubleDelta = -increment.DoubleDelta } });
                }

                Set(change, regionId, increment.EntityId, increment.Key, next);
                break;
            }

            case Mutation.KindOneofCase.RemoveProperty:
            {
                var remove = mutation.RemoveProperty;
                var old = PropertyOf(change, worldEvent, mutation, remove.EntityId, field);
                if (old is not null)
                {
                    Set(change, regionId, remove.EntityId, remove.Key, null);
                    undo.Add(Restore(remove.EntityId, remove.Key, old));
                }

                break;
            }

            case Mutation.KindOneofCase.CreateEntity:
            {
                var entity = mutation.CreateEntity.Entity;
                if (change.Entity(entity.EntityId) is { } existing)
                {
                    throw Errors.FailedPrecondition($"{field}: entity '{entity.EntityId}' already exists (in region '{existing.RegionId}'; entity ids are unique within a world); event '{worldEvent.EventId}' was not applied.");
                }

                change.CreateEntity(regionId, entity);
                undo.Add(new Mutation { DeleteEntity = new DeleteEntityMutation { EntityId = entity.EntityId } });
                break;
            }

            case Mutation.KindOneofCase.DeleteEntity:
            {
                var entityId = mutation.DeleteEntity.EntityId;
                var entity = EntityInRegion(change, worldEvent, mutation, entityId, field);
                var recreated = entity.Clone();
                recreated.RegionId = "";
                recreated.Version = 0;
                recreated.CreateTime = null;
                recreated.UpdateTime = null;
                change.DeleteEntity(entityId);
                undo.Add(new Mutation { CreateEntity = new CreateEntityMutation { Entity = recreated } });
                break;
            }

            case Mutation.KindOneofCase.MoveEntity:
            {
                var move = mutation.MoveEntity;
                var target = move.ToRegionId.Length == 0 ? regionId : move.ToRegionId;
                var entity = change.Entity(move.EntityId) ?? throw Errors.NotFound($"{field}: entity '{move.EntityId}' does not exist in world '{change.WorldId}'; event '{worldEvent.EventId}' was not applied.");
                if (entity.RegionId != regionId && target != regionId)
                {
                    throw Errors.FailedPrecondition($"{field}: entity '{move.EntityId}' is in region '{entity.RegionId}', not the event's region '{regionId}'; a move takes an entity of the event's region, or brings one back to it. Event '{worldEvent.EventId}' was not applied.");
                }

                CheckVersion(change, worldEvent, mutation, move.EntityId, field);
                var from = entity.RegionId;
                foreach (var needed in new[] { from, target })
                {
                    if (!regions.Contains(needed))
                    {
                        // Learnt only now: read it too, and plan again.
                        regions.Add(needed);
                        throw new StaleReadException();
                    }
                }

                _ = change.Region(target) ?? throw Errors.FailedPrecondition($"{field}: the destination region '{target}' does not exist in world '{change.WorldId}' (a move stays in its world); event '{worldEvent.EventId}' was not applied.");
                var oldPosition = entity.Position?.Clone();
                change.MoveEntity(move.EntityId, target, move.Position);
                undo.Add(new Mutation
                {
                    MoveEntity = new MoveEntityMutation { EntityId = move.EntityId, Position = oldPosition, ToRegionId = from == target ? "" : from },
                });
                break;
            }
        }
    }

    /// <summary>The current value of a property a mutation targets (null: absent), checking the entity is there and at the expected version.</summary>
    private static TypedValue? PropertyOf(WorldChange change, WorldEvent worldEvent, Mutation mutation, string entityId, string field)
    {
        if (entityId.Length == 0)
        {
            return change.Region(worldEvent.RegionId)!.Region.Properties.TryGetValue(PropertyKey(mutation), out var value) ? value : null;
        }

        var entity = EntityInRegion(change, worldEvent, mutation, entityId, field);
        return entity.Properties.TryGetValue(PropertyKey(mutation), out var held) ? held : null;
    }

    private static Entity EntityInRegion(WorldChange change, WorldEvent worldEvent, Mutation mutation, string entityId, string field)
    {
        var entity = change.Entity(entityId)
            ?? throw Errors.NotFound($"{field}: region '{worldEvent.RegionId}' has no entity '{entityId}'{(change.OriginalEntity(entityId) is null ? "" : " (an earlier mutation of this event deleted it)")}; event '{worldEvent.EventId}' was not applied.");
        if (entity.RegionId != worldEvent.RegionId)
        {
            throw Errors.FailedPrecondition($"{field}: entity '{entityId}' is in region '{entity.RegionId}', not the event's region '{worldEvent.RegionId}'; apply the event to its region. Event '{worldEvent.EventId}' was not applied.");
        }

        CheckVersion(change, worldEvent, mutation, entityId, field);
        return entity;
    }

    private static void CheckVersion(WorldChange change, WorldEvent worldEvent, Mutation mutation, string entityId, string field)
    {
        var version = change.OriginalEntity(entityId)?.Version ?? 0;
        if (mutation.ExpectedEntityVersion != 0 && mutation.ExpectedEntityVersion != version)
        {
            throw Errors.FailedPrecondition($"{field}: entity '{entityId}' is at version {version}, not expected_entity_version {mutation.ExpectedEntityVersion}: another change came first. Event '{worldEvent.EventId}' was not applied and is not recorded; re-evaluate it and apply it again.");
        }
    }

    private static void Set(WorldChange change, string regionId, string entityId, string key, TypedValue? value)
    {
        if (entityId.Length == 0)
        {
            change.SetRegionProperty(regionId, key, value);
        }
        else
        {
            change.SetEntityProperty(entityId, key, value);
        }
    }

    private static Mutation Restore(string entityId, string key, TypedValue? old) => old is null
        ? new Mutation { RemoveProperty = new RemovePropertyMutation { EntityId = entityId, Key = key } }
        : new Mutation { SetProperty = new SetPropertyMutation { EntityId = entityId, Key = key, Value = old.Clone() } };

    private static string PropertyKey(Mutation mutation) => mutation.KindCase switch
    {
        Mutation.KindOneofCase.SetProperty => mutation.SetProperty.Key,
        Mutation.KindOneofCase.IncrementProperty => mutation.IncrementProperty.Key,
        Mutation.KindOneofCase.RemoveProperty => mutation.RemoveProperty.Key,
        _ => throw new InvalidOperationException($"{mutation.KindCase} has no property key."),
    };

    /// <summary>The entity a mutation reads or writes ("" for the region itself).</summary>
    private static string TargetOf(Mutation mutation) => mutation.KindCase switch
    {
        Mutation.KindOneofCase.SetProperty => mutation.SetProperty.EntityId,
        Mutation.KindOneofCase.IncrementProperty => mutation.IncrementProperty.EntityId,
        Mutation.KindOneofCase.RemoveProperty => mutation.RemoveProperty.EntityId,
        Mutation.KindOneofCase.CreateEntity => mutation.CreateEntity.Entity.EntityId,
        Mutation.KindOneofCase.DeleteEntity => mutation.DeleteEntity.EntityId,
        Mutation.KindOneofCase.MoveEntity => mutation.MoveEntity.EntityId,
        _ => "",
    };

    private static string Describe(TypedValue value) => value.KindCase switch
    {
        TypedValue.KindOneofCase.BoolValue => "a bool",
        TypedValue.KindOneofCase.IntValue => "an int",
        TypedValue.KindOneofCase.DoubleValue => "a double",
        TypedValue.KindOneofCase.StringValue => "a string",
        TypedValue.KindOneofCase.BytesValue => "bytes",
        TypedValue.KindOneofCase.VectorValue => "a vector",
        TypedValue.KindOneofCase.StringListValue => "a string list",
        _ => "no value",
    };

    /// <summary>What is wrong with the event's own fields and each mutation's, as field violations.</summary>
    private static List<FieldProblem> CheckEvent(WorldEvent worldEvent)
    {
        var problems = new List<FieldProblem>();
        if (!IsEventId(worldEvent.EventId))
        {
            problems.Add(new("event.event_id", EventIdRule(worldEvent.EventId)));
        }

        if (!Rules.IsRegionId(worldEvent.RegionId))
        {
            problems.Add(new("event.region_id", Rules.RegionIdRule(worldEvent.RegionId)));
        }

        if (worldEvent.Type.Length > Rules.MaxEventTypeLength || !EventTypePattern().IsMatch(worldEvent.Type))
        {
            problems.Add(new("event.type", worldEvent.Type.Length == 0
                ? "is required: what happened, dotted, e.g. 'gate.opened' or 'quest.reward.spawned'."
                : $"'{Rules.Shorten(worldEvent.Type)}' is not an event type: 1-{Rules.MaxEventTypeLength} characters of [a-z0-9_-] in dotted words, e.g. 'gate.opened'."));
        }

        if (worldEvent.Source.Length > Rules.MaxSourceLength || worldEvent.Source.Any(char.IsControl))
        {
            problems.Add(new("event.source", $"is the producing service, e.g. 'quest-system': at most {Rules.MaxSourceLength} characters without control characters."));
        }

        if (worldEvent.Subject.Length > Rules.MaxSubjectLength || worldEvent.Subject.Any(char.IsControl))
        {
            problems.Add(new("event.subject", $"is who or what caused it, e.g. 'players/p-123': at most {Rules.MaxSubjectLength} characters without control characters."));
        }

        if (worldEvent.ExpectedRegionVersion < 0)
        {
            problems.Add(new("event.expected_region_version", $"is 0 (any version) or the region version the event is based on; got {worldEvent.ExpectedRegionVersion}."));
        }

        if (worldEvent.Mutations.Count is 0 or > Rules.MaxMutations)
        {
            problems.Add(new("event.mutations", $"holds the changes, 1-{Rules.MaxMutations}; got {worldEvent.Mutations.Count}."));
        }

        for (var i = 0; i < Math.Min(worldEvent.Mutations.Count, Rules.MaxMutations); i++)
        {
            CheckMutation(worldEvent.Mutations[i], $"event.mutations[{i}]", problems);
        }

        return problems;
    }

    private static void CheckMutation(Mutation mutation, string field, List<FieldProblem> problems)
    {
        if (mutation.ExpectedEntityVersion < 0)
        {
            problems.Add(new(field + ".expected_entity_version", $"is 0 (any version) or the entity's version; got {mutation.ExpectedEntityVersion}."));
        }

        void Target(string entityId, string at)
        {
            if (entityId.Length > 0 && !Rules.IsEntityId(entityId))
            {
                problems.Add(new(at + ".entity_id", Rules.EntityIdRule(entityId) + " Leave it empty for the region itself."));
            }
        }

        void Key(string key, string at)
        {
            if (!Rules.IsPropertyKey(key))
            {
                problems.Add(new(at + ".key", Rules.PropertyKeyRule(key)));
            }
        }

        switch (mutation.KindCase)
        {
            case Mutation.KindOneofCase.SetProperty:
                Target(mutation.SetProperty.EntityId, field + ".set_property");
                Key(mutation.SetProperty.Key, field + ".set_property");
                if (Rules.ValueProblem(mutation.SetProperty.Value) is { } value)
                {
                    problems.Add(new(field + ".set_property.value", value));
                }

                break;
            case Mutation.KindOneofCase.IncrementProperty:
                var increment = mutation.IncrementProperty;
                Target(increment.EntityId, field + ".increment_property");
                Key(increment.Key, field + ".increment_property");
                if (increment.AmountCase == IncrementPropertyMutation.AmountOneofCase.None)
                {
                    problems.Add(new(field + ".increment_property", "needs an amount: int_delta for int properties, double_delta for double properties."));
                }
                else if (increment.AmountCase == IncrementPropertyMutation.AmountOneofCase.IntDelta && increment.IntDelta == long.MinValue)
                {
                    problems.Add(new(field + ".increment_property.int_delta", "must be above -2^63, so that it can be undone."));
                }
                else if (increment.AmountCase == IncrementPropertyMutation.AmountOneofCase.DoubleDelta && !double.IsFinite(increment.DoubleDelta))
                {
                    problems.Add(new(field + ".increment_property.double_delta", "must be a finite number."));
                }

                break;
            case Mutation.KindOneofCase.RemoveProperty:
                Target(mutation.RemoveProperty.EntityId, field + ".remove_property");
                Key(mutation.RemoveProperty.Key, field + ".remove_property");
                break;
            case Mutation.KindOneofCase.CreateEntity:
                if (mutation.CreateEntity.Entity is not { } entity)
                {
                    problems.Add(new(field + ".create_entity.entity", "is required: at least entity_id and kind."));
                    break;
                }

                if (!Rules.IsEntityId(entity.EntityId))
                {
                    problems.Add(new(field + ".create_entity.entity.entity_id", Rules.EntityIdRule(entity.EntityId)));
                }

                Rules.CheckEntityFields(entity, field + ".create_entity.entity", problems);
                break;
            case Mutation.KindOneofCase.DeleteEntity:
                if (!Rules.IsEntityId(mutation.DeleteEntity.EntityId))
                {
                    problems.Add(new(field + ".delete_entity.entity_id", Rules.EntityIdRule(mutation.DeleteEntity.EntityId)));
                }

                break;
            case Mutation.KindOneofCase.MoveEntity:
                var move = mutation.MoveEntity;
                if (!Rules.IsEntityId(move.EntityId))
                {
                    problems.Add(new(field + ".move_entity.entity_id", Rules.EntityIdRule(move.EntityId)));
                }

                if (Rules.VectorProblem(move.Position) is { } position)
                {
                    problems.Add(new(field + ".move_entity.position", position));
                }

                if (move.ToRegionId.Length > 0 && !Rules.IsRegionId(move.ToRegionId))
                {
                    problems.Add(new(field + ".move_entity.to_region_id", Rules.RegionIdRule(move.ToRegionId) + " Leave it empty to stay in the event's region."));
                }

                if (move.Position is null && move.ToRegionId.Length == 0)
                {
                    problems.Add(new(field + ".move_entity", "moves nothing: give a position, a to_region_id, or both."));
                }

                break;
            default:
                problems.Add(new(field, "sets no change, or one this service does not know: set exactly one of set_property, increment_property, remove_property, create_entity, delete_entity, move_entity."));
                break;
        }
    }

    private static bool IsEventId(string eventId) => eventId.Length is > 0 and <= Rules.MaxEventIdLength && eventId.All(c => c is > ' ' and < '\u007F');

    private static string EventIdRule(string eventId) => eventId.Length == 0
        ? "is required: the producer's unique id of the event (a UUID, or a deterministic key such as 'quest:p-1:q-7:gate'), which makes applying it exactly once."
        : $"'{Rules.Shorten(eventId)}' is not an event id: 1-{Rules.MaxEventIdLength} printable ASCII characters without spaces{(eventId.Length > Rules.MaxEventIdLength ? $" (got {eventId.Length})" : "")}.";

    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*\z")]
    private static partial Regex EventTypePattern();
}
