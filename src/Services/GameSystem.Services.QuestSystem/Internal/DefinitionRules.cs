using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.QuestSystem.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>
/// What a quest definition must be: ids, objectives, prerequisites, rewards and times, checked
/// before anything is read, each problem named by its field; the update mask; and the
/// prerequisite graph, in which no quest may (through other quests) require itself.
/// </summary>
internal static class DefinitionRules
{
    public const int MaxIdLength = 128;
    public const int MaxObjectives = 50;
    public const int MaxCount = 1_000_000;
    public const long MaxAmount = 1_000_000_000;
    public const int MaxLevel = 1000;
    public const int MaxTags = 20;
    public const int MaxPrerequisites = 50;

    /// <summary>The fields UpdateQuestDefinition's mask may name.</summary>
    public static readonly IReadOnlyList<string> UpdatableFields =
    [
        "display_name", "description", "world_id", "region_id", "giver_npc_id", "objectives", "ordered_objectives",
        "prerequisites", "rewards", "auto_complete", "repeatable", "repeat_cooldown", "time_limit", "tags", "state",
    ];

    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(365);

    /// <summary>True for 1-128 characters of [a-z0-9._-] (quest, objective, tag and catalogue ids).</summary>
    public static bool IsId(string id, int maxLength = MaxIdLength) =>
        id.Length >= 1 && id.Length <= maxLength && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-');

    /// <summary>The problem with an id field, or null: "is required" or the rule it breaks.</summary>
    public static string? IdProblem(string id, string what, int maxLength = MaxIdLength) =>
        id.Length == 0 ? $"is required: the {what}, e.g. 'q.main.001'."
        : id.Length > maxLength ? $"is {id.Length} characters; a {what} is at most {maxLength}."
        : !IsId(id, maxLength) ? $"'{Shorten(id)}' is not a {what}: use lower-case letters, digits, '.', '_' and '-'."
        : null;

    /// <summary>The problem with a player id, or null: 1-128 characters without whitespace or control characters.</summary>
    public static string? PlayerIdProblem(string playerId) =>
        playerId.Length == 0 ? "is required: the player's account id (acc-…)."
        : playerId.Length > MaxIdLength ? $"is {playerId.Length} characters; a player id is at most {MaxIdLength}."
        : playerId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '{' or '}' or '/') ? $"'{Shorten(playerId)}' is not a player id: no whitespace, control characters, braces or '/'."
        : null;

    /// <summary>The problem with a request id, or null.</summary>
    public static string? RequestIdProblem(string requestId, string field = "request_id") =>
        requestId.Length == 0 ? $"is required: a client-chosen id (a UUID) that makes retries safe."
        : requestId.Length > 128 ? $"is {requestId.Length} characters; a {field} is at most 128."
        : null;

    /// <summary>Every problem of <paramref name="definition"/>, fields prefixed by <paramref name="prefix"/>.</summary>
    public static List<FieldProblem> Validate(QuestDefinition definition, string prefix)
    {
        var problems = new List<FieldProblem>();
        void Add(string field, string? problem)
        {
            if (problem is not null)
            {
                problems.Add(new FieldProblem(prefix + field, problem));
            }
        }

        Add("quest_id", IdProblem(definition.QuestId, "quest id"));
        Add("display_name", definition.DisplayName.Length > 200 ? $"is {definition.DisplayName.Length} characters; at most 200." : null);
        Add("description", definition.Description.Length > 4000 ? $"is {definition.Description.Length} characters; at most 4000." : null);
        Add("world_id", definition.WorldId.Length > 0 ? IdProblem(definition.WorldId, "world id") : null);
        Add("region_id", definition.RegionId.Length > MaxIdLength ? $"is {definition.RegionId.Length} characters; at most {MaxIdLength}." : null);
        Add("giver_npc_id", definition.GiverNpcId.Length > MaxIdLength ? $"is {definition.GiverNpcId.Length} characters; at most {MaxIdLength}." : null);

        if (definition.Objectives.Count == 0)
        {
            Add("objectives", "needs at least one objective, e.g. {objective_id: 'slay-wolves', kind: OBJECTIVE_KIND_DEFEAT, target_id: 'npc.wolf', required_count: 10}.");
        }
        else if (definition.Objectives.Count > MaxObjectives)
        {
            Add("objectives", $"has {definition.Objectives.Count} objectives; at most {MaxObjectives}.");
        }
        else if (definition.Objectives.All(o => o.Optional))
        {
            Add("objectives", "are all optional: at least one objective must be required, or the quest would complete with nothing done.");
        }

        var objectiveIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definition.Objectives.Count; i++)
        {
            var objective = definition.Objectives[i];
            var at = $"objectives[{i}].";
            Add(at + "objective_id", IdProblem(objective.ObjectiveId, "objective id", 64)
                ?? (objectiveIds.Add(objective.ObjectiveId) ? null : $"'{objective.ObjectiveId}' is used by an earlier objective; objective ids are unique within a quest."));
            Add(at + "kind", objective.Kind == ObjectiveKind.Unspecified ? "is required: what the objective asks for (COLLECT, DEFEAT, TALK, REACH, INTERACT, DELIVER or CUSTOM)." : null);
            Add(at + "target_id",
                objective.TargetId.Length == 0 && objective.Kind is not (ObjectiveKind.Custom or ObjectiveKind.Unspecified) ? $"is required for a {Name(objective.Kind)} objective: the item, NPC, region or entity it is about, e.g. 'npc.wolf'."
                : objective.TargetId.Length > MaxIdLength ? $"is {objective.TargetId.Length} characters; at most {MaxIdLength}." : null);
            Add(at + "required_count", objective.RequiredCount is < 1 or > MaxCount ? $"is {objective.RequiredCount}: the count needed to finish, 1-{MaxCount}." : null);
            Add(at + "description", objective.Description.Length > 500 ? $"is {objective.Description.Length} characters; at most 500." : null);
        }

        var prerequisites = definition.Prerequisites ?? new Prerequisites();
        ValidateQuestList(prerequisites.CompletedQuestIds, "prerequisites.completed_quest_ids", definition.QuestId, Add);
        ValidateQuestList(prerequisites.ExcludedQuestIds, "prerequisites.excluded_quest_ids", definition.QuestId, Add);
        foreach (var id in prerequisites.CompletedQuestIds.Intersect(prerequisites.ExcludedQuestIds, StringComparer.Ordinal))
        {
            Add("prerequisites.excluded_quest_ids", $"'{id}' is also in completed_quest_ids: a quest cannot both be required and excluded.");
        }

        Add("prerequisites.min_experience", prerequisites.MinExperience is < 0 or > MaxAmount ? $"is {prerequisites.MinExperience}: 0 (none) to {MaxAmount}." : null);
        Add("prerequisites.min_level", prerequisites.MinLevel is < 0 or > MaxLevel ? $"is {prerequisites.MinLevel}: 0 (none) to {MaxLevel}." : null);
        Add("prerequisites.min_npc_affinity", prerequisites.MinNpcAffinity.Count > 0 ? "is not supported yet: npc-behavior does not serve affinities, so quest-system could never check it. Leave it empty." : null);
        ValidateItems(prerequisites.RequiredItems, "prerequisites.required_items", Add);
        for (var i = 0; i < prerequisites.PurchasedOfferIds.Count; i++)
        {
            Add($"prerequisites.purchased_offer_ids[{i}]", IdProblem(prerequisites.PurchasedOfferIds[i], "offer id"));
        }

        var rewards = definition.Rewards ?? new Reward();
        var currencies = new HashSet<Currency>();
        for (var i = 0; i < rewards.Currencies.Count; i++)
        {
            var amount = rewards.Currencies[i];
            Add($"rewards.currencies[{i}].currency",
                amount.Currency == Currency.Unspecified || !System.Enum.IsDefined(amount.Currency) ? "is required: CURRENCY_SOFT or CURRENCY_PREMIUM."
                : !currencies.Add(amount.Currency) ? $"{amount.Currency} is rewarded by an earlier entry; give each currency once." : null);
            Add($"rewards.currencies[{i}].amount", amount.Amount is < 1 or > MaxAmount ? $"is {amount.Amount}: 1-{MaxAmount}." : null);
        }

        ValidateItems(rewards.Items, "rewards.items", Add);
        Add("rewards.experience", rewards.Experience is < 0 or > MaxAmount ? $"is {rewards.Experience}: 0-{MaxAmount}." : null);

        Add("repeat_cooldown", DurationProblem(definition.RepeatCooldown, allowZero: true)
            ?? (definition.RepeatCooldown is not null && !definition.Repeatable && definition.RepeatCooldown.ToTimeSpan() > TimeSpan.Zero ? "is set on a quest that is not repeatable; set repeatable or leave it unset." : null));
        Add("time_limit", DurationProblem(definition.TimeLimit, allowZero: false));

        Add("tags", definition.Tags.Count > MaxTags ? $"has {definition.Tags.Count} tags; at most {MaxTags}." : null);
        for (var i = 0; i < definition.Tags.Count; i++)
        {
            Add($"tags[{i}]", IdProblem(definition.Tags[i], "tag", 64));
        }

        Add("state", System.Enum.IsDefined(definition.State) ? null : $"{(int)definition.State} is not a QuestDefinitionState.");
        return problems;
    }

    /// <summary>Problems of an update mask, or the fields it names.</summary>
    public static List<FieldProblem> ValidateMask(Google.Protobuf.WellKnownTypes.FieldMask? mask)
    {
        var problems = new List<FieldProblem>();
        if (mask is null || mask.Paths.Count == 0)
        {
            problems.Add(new FieldProblem("update_mask", $"is required: name the fields to change, any of {string.Join(", ", UpdatableFields)}."));
            return problems;
        }

        for (var i = 0; i < mask.Paths.Count; i++)
        {
            var path = mask.Paths[i];
            if (path is "quest_id" or "version" or "create_time" or "update_time")
            {
                problems.Add(new FieldProblem($"update_mask.paths[{i}]", $"'{path}' cannot be changed: it names the definition or is kept by the service."));
            }
            else if (!UpdatableFields.Contains(path, StringComparer.Ordinal))
            {
                problems.Add(new FieldProblem($"update_mask.paths[{i}]", $"'{Shorten(path)}' is not a field of QuestDefinition that can be updated; use any of {string.Join(", ", UpdatableFields)}."));
            }
        }

        return problems;
    }

    /// <summary>A copy of <paramref name="current"/> with the fields <paramref name="paths"/> taken from <paramref name="changes"/>.</summary>
    public static QuestDefinition Apply(QuestDefinition current, QuestDefinition changes, IEnumerable<string> paths)
    {
        var next = current.Clone();
        foreach (var path in paths)
        {
            switch (path)
            {
                case "display_name": next.DisplayName = changes.DisplayName; break;
                case "description": next.Description = changes.Description; break;
                case "world_id": next.WorldId = changes.WorldId; break;
                case "region_id": next.RegionId = changes.RegionId; break;
                case "giver_npc_id": next.GiverNpcId = changes.GiverNpcId; break;
                case "objectives": next.Objectives.Clear(); next.Objectives.AddRange(changes.Objectives); break;
                case "ordered_objectives": next.OrderedObjectives = changes.OrderedObjectives; break;
                case "prerequisites": next.Prerequisites = changes.Prerequisites?.Clone(); break;
                case "rewards": next.Rewards = changes.Rewards?.Clone(); break;
                case "auto_complete": next.AutoComplete = changes.AutoComplete; break;
                case "repeatable": next.Repeatable = changes.Repeatable; break;
                case "repeat_cooldown": next.RepeatCooldown = changes.RepeatCooldown?.Clone(); break;
                case "time_limit": next.TimeLimit = changes.TimeLimit?.Clone(); break;
                case "tags": next.Tags.Clear(); next.Tags.AddRange(changes.Tags); break;
                case "state": next.State = changes.State; break;
                default: throw new ArgumentException($"'{path}' is not an updatable field.", nameof(paths));
            }
        }

        return next;
    }

    /// <summary>
    /// The prerequisite problem of giving <paramref name="questId"/> the requirements
    /// <paramref name="required"/> in <paramref name="graph"/>: a required quest that does not
    /// exist, or the cycle it would close, e.g. <c>q.a → q.b → q.a</c>; null when none.
    /// </summary>
    public static FieldProblem? GraphProblem(PrerequisiteGraph graph, string questId, IReadOnlyList<string> required)
    {
        for (var i = 0; i < required.Count; i++)
        {
            if (!string.Equals(required[i], questId, StringComparison.Ordinal) && !graph.Edges.ContainsKey(required[i]))
            {
                return new FieldProblem($"quest_definition.prerequisites.completed_quest_ids[{i}]", $"names quest '{required[i]}', which does not exist; create it first (or fix the id).");
            }
        }

        if (FindCycle(graph, questId, required) is { } cycle)
        {
            return new FieldProblem("quest_definition.prerequisites.completed_quest_ids", $"would make the prerequisites form a cycle: {string.Join(" → ", cycle)} (each quest requires the next one completed, so none could ever be accepted). Remove one of these requirements.");
        }

        return null;
    }

    /// <summary>The cycle through <paramref name="questId"/> if it required <paramref name="required"/>, from and back to it; null when there is none.</summary>
    public static IReadOnlyList<string>? FindCycle(PrerequisiteGraph graph, string questId, IReadOnlyList<string> required)
    {
        IEnumerable<string> Next(string id) => string.Equals(id, questId, StringComparison.Ordinal)
            ? required
            : graph.Edges.TryGetValue(id, out var list) ? list.QuestIds : [];

        // Depth-first from the quest; a path back to it is the cycle. Each quest is expanded
        // once, so a graph of thousands of quests is walked in linear time.
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string> { questId };
        var iterators = new Stack<IEnumerator<string>>();
        iterators.Push(Next(questId).GetEnumerator());
        while (iterators.Count > 0)
        {
            var iterator = iterators.Peek();
            if (!iterator.MoveNext())
            {
                iterators.Pop();
                path.RemoveAt(path.Count - 1);
                continue;
            }

            var next = iterator.Current;
            if (string.Equals(next, questId, StringComparison.Ordinal))
            {
                return [.. path, questId];
            }

            if (visited.Add(next))
            {
                path.Add(next);
                iterators.Push(Next(next).GetEnumerator());
            }
        }

        return null;
    }

    /// <summary>The definition as stored on creation: state DRAFT unless given, prerequisites and rewards present.</summary>
    public static QuestDefinition Normalize(QuestDefinition definition)
    {
        var normalized = definition.Clone();
        normalized.Prerequisites ??= new Prerequisites();
        normalized.Rewards ??= new Reward();
        if (normalized.State == QuestDefinitionState.Unspecified)
        {
            normalized.State = QuestDefinitionState.Draft;
        }

        return normalized;
    }

    public static string Name(ObjectiveKind kind) => kind.ToString().ToUpperInvariant();

    public static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";

    /// <summary>"5 wolves" style text of an objective's progress for messages.</summary>
    public static string Describe(ObjectiveProgress progress) =>
        string.Create(CultureInfo.InvariantCulture, $"'{progress.ObjectiveId}' ({progress.CurrentCount}/{progress.RequiredCount})");

    private static void ValidateQuestList(Google.Protobuf.Collections.RepeatedField<string> ids, string field, string questId, Action<string, string?> add)
    {
        if (ids.Count > MaxPrerequisites)
        {
            add(field, $"has {ids.Count} quests; at most {MaxPrerequisites}.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i++)
        {
            add($"{field}[{i}]", IdProblem(ids[i], "quest id")
                ?? (string.Equals(ids[i], questId, StringComparison.Ordinal) ? $"names the quest itself: the prerequisites would form a cycle: {questId} → {questId}." : null)
                ?? (seen.Add(ids[i]) ? null : $"'{ids[i]}' is listed twice."));
        }
    }

    private static void ValidateItems(Google.Protobuf.Collections.RepeatedField<ItemStack> items, string field, Action<string, string?> add)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            add($"{field}[{i}].item_id", IdProblem(items[i].ItemId, "item id") ?? (seen.Add(items[i].ItemId) ? null : $"'{items[i].ItemId}' is listed twice; give each item once."));
            add($"{field}[{i}].quantity", items[i].Quantity is < 1 or > MaxCount ? $"is {items[i].Quantity}: 1-{MaxCount}." : null);
        }
    }

    private static string? DurationProblem(Duration? duration, bool allowZero)
    {
        if (duration is null)
        {
            return null;
        }

        if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Nanos >= 1_000_000_000)
        {
            return "must be a positive duration.";
        }

        var span = duration.ToTimeSpan();
        return span == TimeSpan.Zero && !allowZero ? "is 0: leave it unset for no limit."
            : span > MaxDuration ? $"is {span}; at most 365 days."
            : null;
    }
}
