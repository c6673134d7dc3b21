using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using GameSystem.LanguageSystem.V1;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// The CLDR plural rules of every language, read from the embedded <c>plurals.json</c> and
/// <c>ordinals.json</c> of cldr-core (see Cldr/README.md) and compiled once.
/// </summary>
internal sealed class CldrPluralRules
{
    /// <summary>The language CLDR gives to every language it has no rules for: only <c>other</c>.</summary>
    public const string Undetermined = "und";

    private readonly FrozenDictionary<string, PluralRuleSet> _cardinal;
    private readonly FrozenDictionary<string, PluralRuleSet> _ordinal;

    private CldrPluralRules(string cldrVersion, FrozenDictionary<string, PluralRuleSet> cardinal, FrozenDictionary<string, PluralRuleSet> ordinal)
    {
        CldrVersion = cldrVersion;
        _cardinal = cardinal;
        _ordinal = ordinal;
    }

    /// <summary>The rules of the embedded data, loaded on first use.</summary>
    public static CldrPluralRules Embedded => Lazy.Instance;

    /// <summary>The CLDR release of the data, e.g. <c>48</c>.</summary>
    public string CldrVersion { get; }

    /// <summary>Every language with cardinal or ordinal rules in the data.</summary>
    public IEnumerable<PluralRuleSet> All(bool ordinal) => (ordinal ? _ordinal : _cardinal).Values;

    /// <summary>
    /// The rules for a canonical language tag: the tag itself when CLDR has rules for it
    /// (<c>pt-PT</c>), else its parents (<c>pt-BR</c> → <c>pt</c>), else <c>und</c>.
    /// </summary>
    public PluralRuleSet For(string languageTag, bool ordinal)
    {
        var rules = ordinal ? _ordinal : _cardinal;
        for (var tag = languageTag; tag is not null; tag = LocaleTags.Parent(tag))
        {
            if (rules.TryGetValue(tag, out var set))
            {
                return set;
            }
        }

        return rules[Undetermined];
    }

    /// <summary>True when CLDR has rules for the language of this canonical tag (or a parent of it).</summary>
    public bool Knows(string languageTag) => For(languageTag, ordinal: false).Language != Undetermined || languageTag == Undetermined;

    /// <summary>Parses data in the cldr-json layout; throws <see cref="FormatException"/> on a rule it cannot read.</summary>
    public static CldrPluralRules Parse(Stream cardinalJson, Stream ordinalJson)
    {
        var (version, cardinal) = ReadFile(cardinalJson, "plurals-type-cardinal");
        var (_, ordinal) = ReadFile(ordinalJson, "plurals-type-ordinal");
        return new CldrPluralRules(version, cardinal, ordinal);
    }

    private static (string Version, FrozenDictionary<string, PluralRuleSet> Rules) ReadFile(Stream json, string section)
    {
        using var document = JsonDocument.Parse(json);
        var supplemental = document.RootElement.GetProperty("supplemental");
        var version = supplemental.GetProperty("version").GetProperty("_cldrVersion").GetString() ?? "";
        var sets = new Dictionary<string, PluralRuleSet>(StringComparer.Ordinal);
        foreach (var language in supplemental.GetProperty(section).EnumerateObject())
        {
            var rules = new List<CldrPluralRule>();
            foreach (var rule in language.Value.EnumerateObject())
            {
                const string Prefix = "pluralRule-count-";
                if (!rule.Name.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    continue;
                }

                rules.Add(CldrPluralRule.Parse(CategoryOf(rule.Name[Prefix.Length..]), rule.Value.GetString() ?? ""));
            }

            // CLDR order (zero, one, two, few, many, other) is the enum order; `other` comes last.
            rules.Sort((a, b) => a.Category.CompareTo(b.Category));
            if (rules.Count == 0 || rules[^1].Category != PluralCategory.Other)
            {
                throw new FormatException($"CLDR plural data for '{language.Name}' ({section}) has no `other` rule.");
            }

            sets[language.Name] = new PluralRuleSet(language.Name, [.. rules]);
        }

        return (version, sets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    private static PluralCategory CategoryOf(string name) => name switch
    {
        "zero" => PluralCategory.Zero,
        "one" => PluralCategory.One,
        "two" => PluralCategory.Two,
        "few" => PluralCategory.Few,
        "many" => PluralCategory.Many,
        "other" => PluralCategory.Other,
        _ => throw new FormatException($"'{name}' is not a CLDR plural category."),
    };

    private static class Lazy
    {
        public static readonly CldrPluralRules Instance = Load();

        private static CldrPluralRules Load()
        {
            var assembly = typeof(CldrPluralRules).Assembly;
            using var cardinal = assembly.GetManifestResourceStream("GameSystem.Services.LanguageSystem.Cldr.plurals.json")
                ?? throw new InvalidOperationException("The embedded CLDR plurals.json is missing from the assembly.");
            using var ordinal = assembly.GetManifestResourceStream("GameSystem.Services.LanguageSystem.Cldr.ordinals.json")
                ?? throw new InvalidOperationException("The embedded CLDR ordinals.json is missing from the assembly.");
            return Parse(cardinal, ordinal);
        }
    }
}

/// <summary>The plural rules of one language, in CLDR order, <c>other</c> last.</summary>
internal sealed record PluralRuleSet(string Language, ImmutableArray<CldrPluralRule> Rules)
{
    /// <summary>The first category whose condition holds; <c>other</c> when none does.</summary>
    public PluralCategory Select(in PluralOperands operands)
    {
        foreach (var rule in Rules)
        {
            if (rule.Matches(operands))
            {
                return rule.Category;
            }
        }

        return PluralCategory.Other;
    }
}

/// <summary>One CLDR rule: a category, its condition (source text and compiled) and its samples.</summary>
internal sealed class CldrPluralRule
{
    private readonly ImmutableArray<ImmutableArray<PluralRelation>> _orOfAnds;

    private CldrPluralRule(PluralCategory category, string condition, string integerSamples, string decimalSamples, ImmutableArray<ImmutableArray<PluralRelation>> orOfAnds)
    {
        Category = category;
        Condition = condition;
        IntegerSamples = integerSamples;
        DecimalSamples = decimalSamples;
        _orOfAnds = orOfAnds;
    }

    public PluralCategory Category { get; }

    /// <summary>The condition as CLDR writes it, e.g. <c>i = 1 and v = 0</c>; empty for <c>other</c>.</summary>
    public string Condition { get; }

    /// <summary>The <c>@integer</c> samples as CLDR writes them, e.g. <c>2~4, 22~24, …</c>.</summary>
    public string IntegerSamples { get; }

    /// <summary>The <c>@decimal</c> samples; empty when none.</summary>
    public string DecimalSamples { get; }

    /// <summary>True when the condition holds (always for an empty condition).</summary>
    public bool Matches(in PluralOperands operands)
    {
        if (_orOfAnds.IsEmpty)
        {
            return true;
        }

        foreach (var and in _orOfAnds)
        {
            var all = true;
            foreach (var relation in and)
            {
                if (!relation.Holds(operands))
                {
                    all = false;
                    break;
                }
            }

            if (all)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses <c>condition @integer … @decimal …</c> (UTS #35 plural rule syntax).</summary>
    public static CldrPluralRule Parse(PluralCategory category, string source)
    {
        var conditionEnd = source.IndexOf('@', StringComparison.Ordinal);
        var condition = (conditionEnd < 0 ? source : source[..conditionEnd]).Trim();
        var integerSamples = SampleList(source, "@integer");
        var decimalSamples = SampleList(source, "@decimal");
        var compiled = condition.Length == 0 ? [] : new ConditionParser(condition).ParseCondition();
        return new CldrPluralRule(category, condition, integerSamples, decimalSamples, compiled);
    }

    /// <summary>Every number the samples name, with each <c>a~b</c> range expanded at its own precision (<c>…</c> dropped).</summary>
    public static IEnumerable<string> ExpandSamples(string samples)
    {
        foreach (var raw in samples.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (raw == "…")
            {
                continue;
            }

            var tilde = raw.IndexOf('~', StringComparison.Ordinal);
            if (tilde < 0)
            {
                yield return raw;
                continue;
            }

            var from = raw[..tilde];
            var to = raw[(tilde + 1)..];
            var dot = from.IndexOf('.', StringComparison.Ordinal);
            var scale = dot < 0 ? 0 : from.Length - dot - 1;
            var step = scale == 0 ? 1m : 1m / (decimal)Math.Pow(10, scale);
            var end = decimal.Parse(to, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            for (var value = decimal.Parse(from, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture); value <= end; value += step)
            {
                yield return value.ToString("F" + scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            }
        }
    }

    private static string SampleList(string source, string marker)
    {
        var start = source.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }

        start += marker.Length;
        var end = source.IndexOf('@', start);
        return (end < 0 ? source[start..] : source[start..end]).Trim();
    }

    /// <summary>A recursive-descent parser of <c>condition = and_condition ('or' and_condition)*</c>.</summary>
    private sealed class ConditionParser(string text)
    {
        private int _position;

        public ImmutableArray<ImmutableArray<PluralRelation>> ParseCondition()
        {
            var ors = ImmutableArray.CreateBuilder<ImmutableArray<PluralRelation>>();
            ors.Add(ParseAnd());
            while (TryKeyword("or"))
            {
                ors.Add(ParseAnd());
            }

            SkipSpaces();
            if (_position != text.Length)
            {
                throw Error("expected 'and', 'or' or the end of the condition");
            }

            return ors.ToImmutable();
        }

        private ImmutableArray<PluralRelation> ParseAnd()
        {
            var ands = ImmutableArray.CreateBuilder<PluralRelation>();
            ands.Add(ParseRelation());
            while (TryKeyword("and"))
            {
                ands.Add(ParseRelation());
            }

            return ands.ToImmutable();
        }

        private PluralRelation ParseRelation()
        {
            SkipSpaces();
            if (_position >= text.Length || "nivwftec".IndexOf(text[_position], StringComparison.Ordinal) < 0)
            {
                throw Error("expected an operand (n, i, v, w, f, t, e, c)");
            }

            var operand = text[_position++];
            decimal? modulus = null;
            SkipSpaces();
            if (TryChar('%'))
            {
                modulus = ParseValue();
                if (modulus == 0)
                {
                    throw Error("modulo by zero");
                }
            }

            SkipSpaces();
            bool negated;
            if (TryChar('!'))
            {
                negated = true;
                if (!TryChar('='))
                {
                    throw Error("expected '!='");
                }
            }
            else if (TryChar('='))
            {
                negated = false;
            }
            else
            {
                throw Error("expected '=' or '!='");
            }

            var ranges = ImmutableArray.CreateBuilder<(decimal Low, decimal High)>();
            do
            {
                var low = ParseValue();
                var high = low;
                SkipSpaces();
                if (text.AsSpan(_position).StartsWith(".."))
                {
                    _position += 2;
                    high = ParseValue();
                }

                ranges.Add((low, high));
                SkipSpaces();
            }
            while (TryChar(','));

            return new PluralRelation(operand, modulus, negated, ranges.ToImmutable());
        }

        private decimal ParseValue()
        {
            SkipSpaces();
            var start = _position;
            while (_position < text.Length && char.IsAsciiDigit(text[_position]))
            {
                _position++;
            }

            if (start == _position)
            {
                throw Error("expected a number");
            }

            return decimal.Parse(text.AsSpan(start, _position - start), NumberStyles.None, CultureInfo.InvariantCulture);
        }

        private bool TryKeyword(string keyword)
        {
            SkipSpaces();
            if (text.AsSpan(_position).StartsWith(keyword, StringComparison.Ordinal)
                && (_position + keyword.Length == text.Length || text[_position + keyword.Length] == ' '))
            {
                _position += keyword.Length;
                return true;
            }

            return false;
        }

        private bool TryChar(char c)
        {
            if (_position < text.Length && text[_position] == c)
            {
                _position++;
                return true;
            }

            return false;
        }

        private void SkipSpaces()
        {
            while (_position < text.Length && text[_position] == ' ')
            {
                _position++;
            }
        }

        private FormatException Error(string what) =>
            new($"CLDR plural condition '{text}': {what} at position {_position}.");
    }
}

/// <summary><c>operand (% modulus)? (= | !=) range_list</c>.</summary>
internal sealed record PluralRelation(char Operand, decimal? Modulus, bool Negated, ImmutableArray<(decimal Low, decimal High)> Ranges)
{
    public bool Holds(in PluralOperands operands)
    {
        var value = operands.Get(Operand);
        if (Modulus is { } modulus)
        {
            value %= modulus;
        }

        // A range only holds integers: `n = 0..1` is false for 0.5 (UTS #35).
        var inList = false;
        foreach (var (low, high) in Ranges)
        {
            if (low == high ? value == low : value >= low && value <= high && decimal.Truncate(value) == value)
            {
                inList = true;
                break;
            }
        }

        return inList != Negated;
    }
}
