using System.Collections.Concurrent;
using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.LanguageSystem.V1;
using Google.Protobuf.Collections;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>A plural count: its CLDR operands and how it is written into <c>{count}</c>.</summary>
internal sealed record PluralCount(PluralOperands Operands, long? Integer, string? Decimal);

/// <summary>What formatting a template produced.</summary>
internal sealed record FormattedText(string Text, PluralCategory Category, PluralCategory FormUsed, bool ExplicitZeroUsed, IReadOnlyList<string> MissingArguments);

/// <summary>
/// Selects a plural form and fills placeholders: the formatting Localize, BatchLocalize and
/// FormatText share.
/// </summary>
internal static class MessageFormatter
{
    private const int MaxCachedCultures = 512;
    private static readonly ConcurrentDictionary<string, CultureInfo> Cultures = new(StringComparer.Ordinal);

    /// <summary>The count of a request's <c>plural_count</c> oneof; null when unset. INVALID_ARGUMENT for a malformed decimal.</summary>
    public static PluralCount? ReadCount(bool hasCount, long count, bool hasDecimal, string decimalCount, string field = "decimal_count")
    {
        if (hasCount)
        {
            return new PluralCount(PluralOperands.FromInteger(count), count, null);
        }

        if (!hasDecimal)
        {
            return null;
        }

        Errors.Require(
            PluralOperands.TryParse(decimalCount, allowExponent: false, out var operands),
            $"{field} must be a decimal in plain notation, -?[0-9]+(\\.[0-9]+)? with at most {PluralOperands.MaxDigits} digits; got '{decimalCount}'.");
        return new PluralCount(operands, null, decimalCount);
    }

    /// <summary>
    /// Checks a text or plural value as stored in an entry or given to FormatText: every form
    /// parses, <c>other</c> is set, no form is longer than <paramref name="maxLength"/>. Returns
    /// the sorted placeholder names, or a problem.
    /// </summary>
    public static (IReadOnlyList<string> Placeholders, string? Problem) Validate(string? text, PluralForms? plural, int maxLength)
    {
        var forms = new List<(string Name, string Text)>();
        if (plural is not null)
        {
            if (plural.Other.Length == 0)
            {
                return ([], "plural.other is required: it is the text used when the count's category has no form");
            }

            forms.AddRange(new[]
            {
                ("zero", plural.Zero), ("one", plural.One), ("two", plural.Two), ("few", plural.Few),
                ("many", plural.Many), ("other", plural.Other), ("explicit_zero", plural.ExplicitZero),
            }.Where(f => f.Item2.Length > 0));
        }
        else if (text is not null)
        {
            forms.Add(("text", text));
        }
        else
        {
            return ([], "a value is required: set text or plural");
        }

        var placeholders = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, form) in forms)
        {
            var formName = plural is null ? name : "plural." + name;
            if (maxLength > 0 && form.Length > maxLength)
            {
                return ([], $"{formName} has {form.Length} characters, more than max_length {maxLength}");
            }

            var template = TextTemplate.Parse(form, out var problem);
            if (template is null)
            {
                return ([], $"{formName}: {problem}");
            }

            placeholders.UnionWith(template.Placeholders);
        }

        return ([.. placeholders], null);
    }

    /// <summary>
    /// Formats a text or plural value. <paramref name="restyle"/>, when given, rewrites the
    /// selected form before placeholders are filled, so argument values are never restyled.
    /// Throws INVALID_ARGUMENT for a plural value without count, a bad argument or (with the
    /// ERROR policy) missing arguments.
    /// </summary>
    public static FormattedText Format(
        string? text, PluralForms? plural, PluralCount? count, MapField<string, TypedValue> args,
        string rulesLanguage, MissingArgumentPolicy policy, Func<string, string>? restyle = null)
    {
        var category = PluralCategory.Unspecified;
        var formUsed = PluralCategory.Unspecified;
        var explicitZero = false;
        string form;
        if (plural is not null)
        {
            Errors.Require(count is not null, "This text has plural forms, so a count is required: set count or decimal_count.");
            var rules = CldrPluralRules.Embedded.For(rulesLanguage, plural.Ordinal);
            category = rules.Select(count!.Operands);
            if (count.Operands.IsZero && plural.ExplicitZero.Length > 0)
            {
                explicitZero = true;
                form = plural.ExplicitZero;
            }
            else
            {
                (form, formUsed) = FormOf(plural, category);
            }
        }
        else
        {
            form = text ?? "";
        }

        if (restyle is not null)
        {
            form = restyle(form);
        }

        var template = TextTemplate.Parse(form, out var problem)
            ?? throw (restyle is null
                ? Errors.InvalidArgument($"The text is malformed: {problem}.")
                : Errors.FailedPrecondition($"The speech style left the text with a malformed placeholder ({problem}); a rule of the style inserts braces, which it must write as '{{{{' or '}}}}'."));
        var culture = CultureOf(rulesLanguage);
        foreach (var (name, value) in args)
        {
            Errors.Require(
                value.KindCase is not (TypedValue.KindOneofCase.VectorValue or TypedValue.KindOneofCase.BytesValue),
                $"Argument '{name}' is a {value.KindCase} value; placeholders take strings, integers, doubles, booleans or string lists.");
        }

        var missing = new List<string>();
        var result = template.Format(name => Argument(name, args, count, culture), policy, missing);
        if (missing.Count > 0 && policy is MissingArgumentPolicy.Error or MissingArgumentPolicy.Unspecified)
        {
            throw Errors.InvalidArgument($"No argument for placeholder(s) {string.Join(", ", missing.Select(m => "{" + m + "}"))}; pass them in args, or choose missing_argument_policy KEEP or EMPTY.");
        }

        return new FormattedText(result, category, formUsed, explicitZero, missing);
    }

    /// <summary>The number format of a CLDR language; the invariant one when .NET does not know it.</summary>
    public static CultureInfo CultureOf(string language)
    {
        if (Cultures.TryGetValue(language, out var culture))
        {
            return culture;
        }

        // FormatText takes any tag's language, so the cache is bounded like the style cache.
        if (Cultures.Count >= MaxCachedCultures)
        {
            Cultures.Clear();
        }

        return Cultures[language] = Lookup(language);

        // An unknown language throws, which Localize must not pay on every call.
        static CultureInfo Lookup(string language)
        {
            try
            {
                return CultureInfo.GetCultureInfo(language, predefinedOnly: true);
            }
            catch (CultureNotFoundException)
            {
                return CultureInfo.InvariantCulture;
            }
        }
    }

    private static (string Form, PluralCategory Used) FormOf(PluralForms plural, PluralCategory category)
    {
        var form = category switch
        {
            PluralCategory.Zero => plural.Zero,
            PluralCategory.One => plural.One,
            PluralCategory.Two => plural.Two,
            PluralCategory.Few => plural.Few,
            PluralCategory.Many => plural.Many,
            _ => plural.Other,
        };
        return form.Length > 0 ? (form, category) : (plural.Other, PluralCategory.Other);
    }

    private static string? Argument(string name, MapField<string, TypedValue> args, PluralCount? count, CultureInfo culture)
    {
        if (args.TryGetValue(name, out var value))
        {
            return value.KindCase switch
            {
                TypedValue.KindOneofCase.StringValue => value.StringValue,
                TypedValue.KindOneofCase.IntValue => value.IntValue.ToString("N0", culture),
                TypedValue.KindOneofCase.DoubleValue => FormatDouble(value.DoubleValue, culture),
                TypedValue.KindOneofCase.BoolValue => value.BoolValue ? "true" : "false",
                TypedValue.KindOneofCase.StringListValue => string.Join(", ", value.StringListValue.Values),

                // An unset value is "no value": the placeholder is missing.
                _ => null,
            };
        }

        if (name == "count" && count is not null)
        {
            return count.Integer is { } integer ? integer.ToString("N0", culture) : FormatDecimal(count.Decimal!, count.Operands.V, culture);
        }

        return null;
    }

    private static string FormatDouble(double value, CultureInfo culture) =>
        double.IsFinite(value) ? value.ToString("#,0.##########", culture) : value.ToString(culture);

    // The digits as written, with the locale's separators: trailing zeros are significant.
    private static string FormatDecimal(string text, int fractionDigits, CultureInfo culture) =>
        decimal.Parse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture)
            .ToString("N" + fractionDigits.ToString(CultureInfo.InvariantCulture), culture);
}
