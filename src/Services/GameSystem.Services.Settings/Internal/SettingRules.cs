using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using GameSystem.Common.V1;
using GameSystem.Settings.V1;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// The validation rules of definitions and values. Every problem names the rule it breaks
/// (<c>max_value</c>, <c>pattern</c>, …) and the setting, so a developer sees what to change.
/// </summary>
/// <remarks>
/// Patterns compile with <see cref="RegexOptions.NonBacktracking"/>, which runs in time linear
/// in the input (RE2's guarantee, and RE2's syntax: no backreferences, no lookaround), and
/// every match is bounded by a timeout on top, so no pattern can hold a request thread.
/// </remarks>
internal sealed partial class SettingRules
{
    public const int MaxKeyLength = 128;
    public const int MaxPlayerIdLength = 128;
    public const int MaxCategoryLength = 64;
    public const int MaxDescriptionLength = 2000;
    public const int MaxPatternLength = 512;
    public const int DefaultMaxLength = 1024;
    public const int MaxMaxLength = 65_536;
    public const int DefaultMaxItems = 64;
    public const int MaxMaxItems = 1024;
    public const int MaxAllowedValues = 256;

    private const int MaxCachedPatterns = 2048;

    private readonly TimeSpan _matchTimeout;
    private readonly ConcurrentDictionary<string, Regex> _patterns = new(StringComparer.Ordinal);

    public SettingRules(TimeSpan matchTimeout) => _matchTimeout = matchTimeout;

    /// <summary>A dotted lower_snake key of 1-128 characters, e.g. <c>audio.master_volume</c>.</summary>
    public static bool IsValidKey(string key) => key.Length is > 0 and <= MaxKeyLength && KeyPattern().IsMatch(key);

    /// <summary>The start of a key: lower-case letters, digits, <c>_</c> and <c>.</c>.</summary>
    public static bool IsValidKeyPrefix(string prefix) => prefix.Length is > 0 and <= MaxKeyLength && KeyPrefixPattern().IsMatch(prefix);

    /// <summary>A player (account) id: 1-128 letters, digits and <c>-_.:@</c>, starting with a letter or digit.</summary>
    public static bool IsValidPlayerId(string playerId) => playerId.Length is > 0 and <= MaxPlayerIdLength && PlayerIdPattern().IsMatch(playerId);

    /// <summary>Empty or a lower_snake word of at most 64 characters.</summary>
    public static bool IsValidCategory(string category) => category.Length == 0 || (category.Length <= MaxCategoryLength && CategoryPattern().IsMatch(category));

    public static string KeyRule(string field, string key) =>
        key.Length == 0
            ? $"{field} is required: a dotted lower_snake key such as 'audio.master_volume'."
            : $"{field} '{Shorten(key)}' is not a setting key: 1-{MaxKeyLength} characters of dotted lower_snake words, such as 'audio.master_volume'.";

    /// <summary>Every problem of a definition as CreateSettingDefinition or UpdateSettingDefinition would store it, its default included.</summary>
    public List<FieldProblem> CheckDefinition(SettingDefinition definition, string field)
    {
        var problems = new List<FieldProblem>();
        if (!IsValidKey(definition.Key))
        {
            problems.Add(new($"{field}.key", KeyRule($"{field}.key", definition.Key)));
        }

        var type = definition.ValueType;
        if (type == SettingValueType.Unspecified || !Enum.IsDefined(type))
        {
            problems.Add(new($"{field}.value_type", $"is required: one of {string.Join(", ", Enum.GetValues<SettingValueType>().Skip(1).Select(TypeName))}; got {(int)type}."));
            return problems;
        }

        if (!IsValidCategory(definition.Category))
        {
            problems.Add(new($"{field}.category", $"'{Shorten(definition.Category)}' is not a category: a lower_snake word of at most {MaxCategoryLength} characters, such as 'audio', or empty."));
        }

        if (definition.Description.Length > MaxDescriptionLength)
        {
            problems.Add(new($"{field}.description", $"is at most {MaxDescriptionLength} characters; it has {definition.Description.Length}."));
        }

        var constraintProblems = CheckConstraints(type, definition.Constraints ?? new SettingConstraints(), $"{field}.constraints");
        problems.AddRange(constraintProblems);
        if (definition.DefaultValue is null)
        {
            problems.Add(new($"{field}.default_value", $"is required: a {TypeName(type)} value ({KindName(type)})."));
        }
        else if (constraintProblems.Count == 0 && Check(definition, definition.DefaultValue, out _) is { } problem)
        {
            problems.Add(new($"{field}.default_value", problem));
        }

        return problems;
    }

    /// <summary>
    /// Checks <paramref name="value"/> against <paramref name="definition"/>: null when valid (with
    /// its stored form in <paramref name="canonical"/>), else what is wrong, naming the rule.
    /// </summary>
    public string? Check(SettingDefinition definition, TypedValue? value, out TypedValue canonical)
    {
        canonical = value ?? new TypedValue();
        var key = definition.Key;
        var type = definition.ValueType;
        var constraints = definition.Constraints ?? new SettingConstraints();
        if (value is null || value.KindCase != KindOf(type))
        {
            var got = value is null || value.KindCase == TypedValue.KindOneofCase.None ? "no value" : KindName(value.KindCase);
            return $"breaks value_type: '{key}' takes {TypeName(type)} values ({KindName(type)}); got {got}.";
        }

        switch (type)
        {
            case SettingValueType.Int:
                return CheckRange(key, constraints, value.IntValue, value.IntValue.ToString(CultureInfo.InvariantCulture), "");
            case SettingValueType.Double:
                return double.IsFinite(value.DoubleValue)
                    ? CheckRange(key, constraints, value.DoubleValue, Number(value.DoubleValue), "")
                    : $"breaks value_type: '{key}' takes finite numbers; got {Number(value.DoubleValue)}.";
            case SettingValueType.String:
                return CheckText(key, constraints, value.StringValue, "");
            case SettingValueType.StringList:
                var items = value.StringListValue.Values;
                var maxItems = constraints.MaxItems == 0 ? DefaultMaxItems : constraints.MaxItems;
                if (items.Count > maxItems)
                {
                    return $"breaks max_items: '{key}' takes at most {maxItems} elements; got {items.Count}.";
                }

                for (var i = 0; i < items.Count; i++)
                {
                    if (CheckText(key, constraints, items[i], $"element {i} ") is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case SettingValueType.Vector:
                var v = value.VectorValue;
                return double.IsFinite(v.X) && double.IsFinite(v.Y) && double.IsFinite(v.Z)
                    ? null
                    : $"breaks value_type: '{key}' takes a vector of finite numbers; got ({Number(v.X)}, {Number(v.Y)}, {Number(v.Z)}).";
            case SettingValueType.Duration:
                if (DurationText.Parse(value.StringValue, out var why) is not { } milliseconds)
                {
                    return $"breaks value_type: '{key}' takes durations such as '250ms', '1m30s' or '1.5h'; '{Shorten(value.StringValue)}' is not one ({why}).";
                }

                canonical = new TypedValue { StringValue = DurationText.Format(milliseconds) };
                return CheckRange(key, constraints, milliseconds / 1000.0, canonical.StringValue, "s");
            default:
                return null;
        }
    }

    /// <summary>The kind of <see cref="TypedValue"/> a value type is carried in.</summary>
    public static TypedValue.KindOneofCase KindOf(SettingValueType type) => type switch
    {
        SettingValueType.Bool => TypedValue.KindOneofCase.BoolValue,
        SettingValueType.Int => TypedValue.KindOneofCase.IntValue,
        SettingValueType.Double => TypedValue.KindOneofCase.DoubleValue,
        SettingValueType.String or SettingValueType.Duration => TypedValue.KindOneofCase.StringValue,
        SettingValueType.StringList => TypedValue.KindOneofCase.StringListValue,
        SettingValueType.Vector => TypedValue.KindOneofCase.VectorValue,
        _ => TypedValue.KindOneofCase.None,
    };

    private List<FieldProblem> CheckConstraints(SettingValueType type, SettingConstraints constraints, string field)
    {
        var problems = new List<FieldProblem>();
        var numeric = type is SettingValueType.Int or SettingValueType.Double or SettingValueType.Duration;
        var textual = type is SettingValueType.String or SettingValueType.StringList;
        void NotFor(string rule, string applies) =>
            problems.Add(new($"{field}.{rule}", $"does not apply to {TypeName(type)} settings; it applies to {applies} only."));

        if (constraints.HasMinValue || constraints.HasMaxValue)
        {
            if (!numeric)
            {
                NotFor(constraints.HasMinValue ? "min_value" : "max_value", "INT, DOUBLE and DURATION");
            }
            else if (constraints.HasMinValue && !double.IsFinite(constraints.MinValue) || constraints.HasMaxValue && !double.IsFinite(constraints.MaxValue))
            {
                problems.Add(new($"{field}.{(constraints.HasMinValue && !double.IsFinite(constraints.MinValue) ? "min_value" : "max_value")}", "must be a finite number."));
            }
            else if (constraints.HasMinValue && constraints.HasMaxValue && constraints.MinValue > constraints.MaxValue)
            {
                problems.Add(new($"{field}.min_value", $"{Number(constraints.MinValue)} is above max_value {Number(constraints.MaxValue)}: no value could satisfy both."));
            }
            else if (type == SettingValueType.Duration && constraints.HasMinValue && constraints.MinValue < 0)
            {
                problems.Add(new($"{field}.min_value", $"{Number(constraints.MinValue)} is negative; durations are never negative."));
            }
        }

        if (constraints.MaxLength != 0 && !textual)
        {
            NotFor("max_length", "STRING and STRING_LIST");
        }
        else if (constraints.MaxLength is < 0 or > MaxMaxLength)
        {
            problems.Add(new($"{field}.max_length", $"must be 0 (for {DefaultMaxLength}) to {MaxMaxLength}; got {constraints.MaxLength}."));
        }

        if (constraints.MaxItems != 0 && type != SettingValueType.StringList)
        {
            NotFor("max_items", "STRING_LIST");
        }
        else if (constraints.MaxItems is < 0 or > MaxMaxItems)
        {
            problems.Add(new($"{field}.max_items", $"must be 0 (for {DefaultMaxItems}) to {MaxMaxItems}; got {constraints.MaxItems}."));
        }

        if (constraints.Pattern.Length > 0)
        {
            if (!textual)
            {
                NotFor("pattern", "STRING and STRING_LIST");
            }
            else if (constraints.Pattern.Length > MaxPatternLength)
            {
                problems.Add(new($"{field}.pattern", $"is at most {MaxPatternLength} characters; it has {constraints.Pattern.Length}."));
            }
            else if (Compile(constraints.Pattern, out var why) is null)
            {
                problems.Add(new($"{field}.pattern", $"'{Shorten(constraints.Pattern)}' is not a usable RE2 pattern: {why}"));
            }
        }

        if (constraints.AllowedValues.Count > 0)
        {
            if (!textual)
            {
                NotFor("allowed_values", "STRING and STRING_LIST");
            }
            else if (constraints.AllowedValues.Count > MaxAllowedValues)
            {
                problems.Add(new($"{field}.allowed_values", $"holds at most {MaxAllowedValues} choices; it has {constraints.AllowedValues.Count}."));
            }
            else if (constraints.AllowedValues.GroupBy(v => v, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                problems.Add(new($"{field}.allowed_values", $"lists '{Shorten(twice.Key)}' twice; each choice once."));
            }
            else if (problems.Count == 0)
            {
                // A choice the definition's own length or pattern rule rejects could never be set.
                var withoutChoices = constraints.Clone();
                withoutChoices.AllowedValues.Clear();
                for (var i = 0; i < constraints.AllowedValues.Count; i++)
                {
                    if (CheckText("", withoutChoices, constraints.AllowedValues[i], "") is { } problem)
                    {
                        problems.Add(new($"{field}.allowed_values[{i}]", $"'{Shorten(constraints.AllowedValues[i])}' could never be set under the definition's own rules: it {problem}"));
                        break;
                    }
                }
            }
        }

        return problems;
    }

    private static string? CheckRange(string key, SettingConstraints constraints, double value, string shown, string unit)
    {
        if (constraints.HasMinValue && value < constraints.MinValue)
        {
            return $"breaks min_value: {shown} is below the minimum {Number(constraints.MinValue)}{unit} of '{key}'.";
        }

        if (constraints.HasMaxValue && value > constraints.MaxValue)
        {
            return $"breaks max_value: {shown} is above the maximum {Number(constraints.MaxValue)}{unit} of '{key}'.";
        }

        return null;
    }

    private string? CheckText(string key, SettingConstraints constraints, string text, string which)
    {
        var of = key.Length == 0 ? "" : $" of '{key}'";
        var maxLength = constraints.MaxLength == 0 ? DefaultMaxLength : constraints.MaxLength;
        if (text.Length > maxLength)
        {
            return $"breaks max_length: {which}'{Shorten(text)}' has {text.Length} characters, above the maximum {maxLength}{of}.";
        }

        if (constraints.AllowedValues.Count > 0 && !constraints.AllowedValues.Contains(text))
        {
            return $"breaks allowed_values: {which}'{Shorten(text)}' is not one of {string.Join(", ", constraints.AllowedValues.Take(10).Select(v => $"'{v}'"))}{(constraints.AllowedValues.Count > 10 ? ", …" : "")}{of}.";
        }

        if (constraints.Pattern.Length > 0)
        {
            var regex = Compile(constraints.Pattern, out var why) ?? throw new InvalidOperationException($"A stored pattern does not compile: {why}");
            try
            {
                if (!regex.IsMatch(text))
                {
                    return $"breaks pattern: {which}'{Shorten(text)}' does not match {constraints.Pattern}{of}.";
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return $"breaks pattern: {which}'{Shorten(text)}' could not be matched against {constraints.Pattern} within {_matchTimeout.TotalMilliseconds:0}ms{of}.";
            }
        }

        return null;
    }

    /// <summary>The compiled full-match form of <paramref name="pattern"/>; null (with why) when it is not one.</summary>
    private Regex? Compile(string pattern, out string why)
    {
        why = "";
        if (_patterns.TryGetValue(pattern, out var cached))
        {
            return cached;
        }

        Regex regex;
        try
        {
            regex = new Regex(@"\A(?:" + pattern + @")\z", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, _matchTimeout);
        }
        catch (NotSupportedException ex)
        {
            why = ex.Message;
            return null;
        }
        catch (ArgumentException ex)
        {
            why = ex.Message;
            return null;
        }

        // A non-backtracking regex builds its automaton on first use, which on a loaded machine
        // can take longer than the match timeout: build it here, untimed by any caller's value,
        // so a valid value is never refused for the time a cold pattern took.
        try
        {
            regex.IsMatch(string.Empty);
        }
        catch (RegexMatchTimeoutException)
        {
            // Only a warm-up: the value's own match is timed as usual.
        }

        if (_patterns.Count >= MaxCachedPatterns)
        {
            _patterns.Clear();
        }

        return _patterns.GetOrAdd(pattern, regex);
    }

    public static string TypeName(SettingValueType type) => type switch
    {
        SettingValueType.StringList => "STRING_LIST",
        _ => type.ToString().ToUpperInvariant(),
    };

    private static string KindName(SettingValueType type) => KindName(KindOf(type));

    private static string KindName(TypedValue.KindOneofCase kind) => kind switch
    {
        TypedValue.KindOneofCase.BoolValue => "bool_value",
        TypedValue.KindOneofCase.IntValue => "int_value",
        TypedValue.KindOneofCase.DoubleValue => "double_value",
        TypedValue.KindOneofCase.StringValue => "string_value",
        TypedValue.KindOneofCase.BytesValue => "bytes_value",
        TypedValue.KindOneofCase.VectorValue => "vector_value",
        TypedValue.KindOneofCase.StringListValue => "string_list_value",
        _ => "no value",
    };

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";

    [GeneratedRegex(@"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"^[a-z0-9_.]+$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPrefixPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlayerIdPattern();

    [GeneratedRegex(@"^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex CategoryPattern();
}
