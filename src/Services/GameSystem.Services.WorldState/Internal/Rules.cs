using System.Globalization;
using System.Text.RegularExpressions;
using GameSystem.Common.V1;
using GameSystem.WorldState.V1;
using Google.Protobuf.Collections;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>The shapes of what world-state accepts, each with the message that says what is wrong.</summary>
internal static partial class Rules
{
    public const int MaxRegionIdLength = 128;
    public const int MaxWorldIdLength = 64;
    public const int MaxEntityIdLength = 128;
    public const int MaxKindLength = 64;
    public const int MaxTagLength = 64;
    public const int MaxTags = 32;
    public const int MaxKeyLength = 128;
    public const int MaxRegionProperties = 500;
    public const int MaxEntityProperties = 200;
    public const int MaxDisplayNameLength = 200;
    public const int MaxExternalIdLength = 256;
    public const int MaxRequestIdLength = 128;
    public const int MaxEventIdLength = 200;
    public const int MaxEventTypeLength = 128;
    public const int MaxSourceLength = 64;
    public const int MaxSubjectLength = 256;
    public const int MaxMutations = 100;
    public const int MaxStringValueLength = 4096;
    public const int MaxBytesValueLength = 64 * 1024;
    public const int MaxStringListItems = 100;
    public const int MaxStringListItemLength = 256;

    /// <summary>Beyond this a coordinate is a unit mistake, not a place (a world is not 10,000 km wide).</summary>
    public const double MaxCoordinate = 1e7;

    public static void RequireRegionId(string regionId, string field) => Errors.Require(IsRegionId(regionId), field, RegionIdRule(regionId));

    public static bool IsRegionId(string regionId) => regionId.Length <= MaxRegionIdLength && RegionIdPattern().IsMatch(regionId);

    public static string RegionIdRule(string regionId) => regionId.Length == 0
        ? "is required: a region id such as 'aldermere.market' (1-128 characters of [a-z0-9._-])."
        : $"'{Shorten(regionId)}' is not a region id: 1-{MaxRegionIdLength} characters of [a-z0-9._-], starting with a letter or digit, e.g. 'aldermere.market'{LengthNote(regionId, MaxRegionIdLength)}.";

    public static void RequireEntityId(string entityId, string field) => Errors.Require(IsEntityId(entityId), field, EntityIdRule(entityId));

    public static bool IsEntityId(string entityId) => entityId.Length <= MaxEntityIdLength && EntityIdPattern().IsMatch(entityId);

    public static string EntityIdRule(string entityId) => entityId.Length == 0
        ? "is required: an entity id such as 'npc.blacksmith-hilde' (1-128 characters of [a-zA-Z0-9._-])."
        : $"'{Shorten(entityId)}' is not an entity id: 1-{MaxEntityIdLength} characters of [a-zA-Z0-9._-], starting with a letter or digit, e.g. 'chest.old-mill-1'{LengthNote(entityId, MaxEntityIdLength)}.";

    public static bool IsWorldId(string worldId) => worldId.Length <= MaxWorldIdLength && WorldIdPattern().IsMatch(worldId);

    public static string WorldIdRule(string worldId) => worldId.Length == 0
        ? "is required: the world the region belongs to, e.g. 'hub' (1-64 characters of [a-zA-Z0-9._:-])."
        : $"'{Shorten(worldId)}' is not a world id: 1-{MaxWorldIdLength} letters, digits, '.', '_', ':' and '-'{LengthNote(worldId, MaxWorldIdLength)}.";

    public static bool IsKind(string kind) => kind.Length <= MaxKindLength && KindPattern().IsMatch(kind);

    public static string KindRule(string kind) => kind.Length == 0
        ? "is required: what the entity is, e.g. 'npc', 'door', 'chest' or 'resource.ore' (1-64 characters of [a-z0-9._-])."
        : $"'{Shorten(kind)}' is not a kind: 1-{MaxKindLength} characters of [a-z0-9._-], starting with a letter, e.g. 'npc' or 'resource.ore'{LengthNote(kind, MaxKindLength)}.";

    public static bool IsTag(string tag) => tag.Length <= MaxTagLength && TagPattern().IsMatch(tag);

    public static string TagRule(string tag) =>
        $"'{Shorten(tag)}' is not a tag: 1-{MaxTagLength} characters of [a-zA-Z0-9._:-], e.g. 'hostile' or 'quest-item'{LengthNote(tag, MaxTagLength)}.";

    public static bool IsPropertyKey(string key) => key.Length <= MaxKeyLength && KeyPattern().IsMatch(key);

    public static string PropertyKeyRule(string key) => key.Length == 0
        ? "is required: a property key such as 'locked' or 'hp' (1-128 characters of [a-zA-Z0-9._-])."
        : $"'{Shorten(key)}' is not a property key: 1-{MaxKeyLength} characters of [a-zA-Z0-9._-], e.g. 'gate_open' or 'loot.table'{LengthNote(key, MaxKeyLength)}.";

    public static void RequireRequestId(string requestId)
    {
        Errors.Require(requestId.Length > 0, "request_id", "is required: a client-chosen id (a UUID) that makes a retry return the first result instead of creating again.");
        Errors.Require(requestId.Length <= MaxRequestIdLength, "request_id", $"is at most {MaxRequestIdLength} characters; got {requestId.Length}.");
        Errors.Require(!requestId.Any(char.IsControl), "request_id", "must not contain control characters.");
    }

    public static void RequireExpectedVersion(long expectedVersion, string field = "expected_version") =>
        Errors.Require(expectedVersion >= 0, field, $"is 0 (any version) or the version the write is based on; got {expectedVersion}.");

    /// <summary>What is wrong with <paramref name="value"/>, a property value; null when it is fine.</summary>
    public static string? ValueProblem(TypedValue? value)
    {
        switch (value?.KindCase ?? TypedValue.KindOneofCase.None)
        {
            case TypedValue.KindOneofCase.None:
                return "has no value, or one of a type this service does not know: set one of bool_value, int_value, double_value, string_value, bytes_value, vector_value or string_list_value (to remove a property, name it in update_mask and leave it out, or use a remove_property mutation).";
            case TypedValue.KindOneofCase.DoubleValue when !double.IsFinite(value!.DoubleValue):
                return $"double_value must be finite; got {value.DoubleValue.ToString(CultureInfo.InvariantCulture)}.";
            case TypedValue.KindOneofCase.StringValue when value!.StringValue.Length > MaxStringValueLength:
                return $"string_value is at most {MaxStringValueLength} characters; got {value.StringValue.Length}.";
            case TypedValue.KindOneofCase.BytesValue when value!.BytesValue.Length > MaxBytesValueLength:
                return $"bytes_value is at most {MaxBytesValueLength} bytes; got {value.BytesValue.Length}.";
            case TypedValue.KindOneofCase.VectorValue when VectorProblem(value!.VectorValue) is { } vector:
                return "vector_value " + vector;
            case TypedValue.KindOneofCase.StringListValue when value!.StringListValue.Values.Count > MaxStringListItems:
                return $"string_list_value holds at most {MaxStringListItems} strings; got {value.StringListValue.Values.Count}.";
            case TypedValue.KindOneofCase.StringListValue when value!.StringListValue.Values.Any(v => v.Length > MaxStringListItemLength):
                return $"string_list_value holds strings of at most {MaxStringListItemLength} characters.";
            default:
                return null;
        }
    }

    /// <summary>What is wrong with a position; null when it is fine (unset is fine).</summary>
    public static string? VectorProblem(Vector3? vector) =>
        vector is null || (Finite(vector.X) && Finite(vector.Y) && Finite(vector.Z))
            ? null
            : $"must hold finite coordinates within ±{MaxCoordinate.ToString("0e0", CultureInfo.InvariantCulture)} m; got ({Format(vector.X)}, {Format(vector.Y)}, {Format(vector.Z)}).";

    /// <summary>Problems of a property map under <paramref name="field"/> (keys and values).</summary>
    public static void CheckProperties(MapField<string, TypedValue> properties, int max, string field, List<FieldProblem> problems)
    {
        if (properties.Count > max)
        {
            problems.Add(new(field, $"holds at most {max} properties; got {properties.Count}."));
        }

        foreach (var (key, value) in properties)
        {
            if (!IsPropertyKey(key))
            {
                problems.Add(new($"{field}[{Shorten(key)}]", PropertyKeyRule(key)));
            }
            else if (ValueProblem(value) is { } problem)
            {
                problems.Add(new($"{field}[{key}]", problem));
            }
        }
    }

    public static void CheckTags(RepeatedField<string> tags, string field, List<FieldProblem> problems)
    {
        if (tags.Count > MaxTags)
        {
            problems.Add(new(field, $"holds at most {MaxTags} tags; got {tags.Count}."));
        }

        for (var i = 0; i < tags.Count; i++)
        {
            if (!IsTag(tags[i]))
            {
                problems.Add(new($"{field}[{i}]", TagRule(tags[i])));
            }
        }

        var duplicate = tags.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            problems.Add(new(field, $"names '{Shorten(duplicate.Key)}' twice; a tag is there or not."));
        }
    }

    public static void CheckDisplayName(string displayName, string field, List<FieldProblem> problems)
    {
        if (displayName.Length > MaxDisplayNameLength || displayName.Any(char.IsControl))
        {
            problems.Add(new(field, $"is a player-facing name of at most {MaxDisplayNameLength} characters without control characters; got {displayName.Length} characters."));
        }
    }

    public static void CheckBounds(Bounds? bounds, string field, List<FieldProblem> problems)
    {
        if (bounds is null)
        {
            return;
        }

        if (bounds.Min is null || bounds.Max is null)
        {
            problems.Add(new(field, "needs both min and max corners, or leave bounds unset."));
            return;
        }

        if (VectorProblem(bounds.Min) is { } min)
        {
            problems.Add(new(field + ".min", min));
        }
        else if (VectorProblem(bounds.Max) is { } max)
        {
            problems.Add(new(field + ".max", max));
        }
        else if (bounds.Min.X > bounds.Max.X || bounds.Min.Y > bounds.Max.Y || bounds.Min.Z > bounds.Max.Z)
        {
            problems.Add(new(field, $"min ({Format(bounds.Min.X)}, {Format(bounds.Min.Y)}, {Format(bounds.Min.Z)}) must not exceed max ({Format(bounds.Max.X)}, {Format(bounds.Max.Y)}, {Format(bounds.Max.Z)}) on any axis."));
        }
    }

    /// <summary>Problems of the writable fields of an entity under <paramref name="field"/> (kind, names, position, properties, tags, external id).</summary>
    public static void CheckEntityFields(Entity entity, string field, List<FieldProblem> problems, ISet<string>? only = null)
    {
        bool Checks(string path) => only is null || only.Contains(path);
        if (Checks("kind") && !IsKind(entity.Kind))
        {
            problems.Add(new(field + ".kind", KindRule(entity.Kind)));
        }

        if (Checks("display_name"))
        {
            CheckDisplayName(entity.DisplayName, field + ".display_name", problems);
        }

        if (Checks("position") && VectorProblem(entity.Position) is { } position)
        {
            problems.Add(new(field + ".position", position));
        }

        if (Checks("properties"))
        {
            CheckProperties(entity.Properties, MaxEntityProperties, field + ".properties", problems);
        }

        if (Checks("tags"))
        {
            CheckTags(entity.Tags, field + ".tags", problems);
        }

        if (Checks("external_id") && (entity.ExternalId.Length > MaxExternalIdLength || entity.ExternalId.Any(char.IsControl)))
        {
            problems.Add(new(field + ".external_id", $"is the entity's id in the service owning it, at most {MaxExternalIdLength} characters without control characters; got {entity.ExternalId.Length}."));
        }
    }

    public static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";

    private static string LengthNote(string text, int max) => text.Length > max ? $" (got {text.Length} characters)" : "";

    private static bool Finite(double value) => double.IsFinite(value) && Math.Abs(value) <= MaxCoordinate;

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]*\z")]
    private static partial Regex RegionIdPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9][a-zA-Z0-9._-]*\z")]
    private static partial Regex EntityIdPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9][a-zA-Z0-9._:-]*\z")]
    private static partial Regex WorldIdPattern();

    [GeneratedRegex(@"^[a-z][a-z0-9._-]*\z")]
    private static partial Regex KindPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9][a-zA-Z0-9._:-]*\z")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9._-]+\z")]
    private static partial Regex KeyPattern();
}
