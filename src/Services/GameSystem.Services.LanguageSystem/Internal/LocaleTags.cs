using System.Text;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// BCP 47 (RFC 5646) language tags: well-formedness, canonical case and the parent used by
/// fallback chains. Grandfathered tags are not accepted: a game's locales do not need them.
/// </summary>
internal static class LocaleTags
{
    /// <summary>The reserved root locale that ends every fallback chain.</summary>
    public const string Default = "default";

    /// <summary>The longest tag accepted, so a tag always fits in a state key.</summary>
    public const int MaxLength = 64;

    /// <summary>
    /// Checks <paramref name="input"/> (which may use <c>_</c> for <c>-</c>) and returns its
    /// canonical form, <c>fr_ca</c> → <c>fr-CA</c>, <c>zh-hant-tw</c> → <c>zh-Hant-TW</c>;
    /// <c>default</c> in any case is the root locale. Null, with <paramref name="problem"/>, when malformed.
    /// </summary>
    public static string? Canonicalize(string input, out string problem)
    {
        problem = "";
        if (string.Equals(input, Default, StringComparison.OrdinalIgnoreCase))
        {
            return Default;
        }

        if (input.Length is 0 or > MaxLength)
        {
            problem = input.Length == 0 ? "the tag is empty" : $"the tag is longer than {MaxLength} characters";
            return null;
        }

        var subtags = input.Replace('_', '-').Split('-');
        var output = new StringBuilder(input.Length);
        var index = 0;

        // language: 2-3 letters with up to three 3-letter extlangs, or 4-8 letters.
        var language = subtags[index];
        if (!IsAlpha(language, 2, 8))
        {
            problem = $"'{language}' is not a language subtag (2-8 letters)";
            return null;
        }

        Append(output, language.ToLowerInvariant());
        index++;
        if (language.Length <= 3)
        {
            for (var extlangs = 0; extlangs < 3 && index < subtags.Length && IsAlpha(subtags[index], 3, 3); extlangs++)
            {
                Append(output, subtags[index++].ToLowerInvariant());
            }
        }

        if (index < subtags.Length && IsAlpha(subtags[index], 4, 4))
        {
            var script = subtags[index++];
            Append(output, char.ToUpperInvariant(script[0]) + script[1..].ToLowerInvariant());
        }

        if (index < subtags.Length && (IsAlpha(subtags[index], 2, 2) || IsDigits(subtags[index], 3)))
        {
            Append(output, subtags[index++].ToUpperInvariant());
        }

        var variants = new HashSet<string>(StringComparer.Ordinal);
        while (index < subtags.Length && IsVariant(subtags[index]))
        {
            var variant = subtags[index++].ToLowerInvariant();
            if (!variants.Add(variant))
            {
                problem = $"the variant '{variant}' appears twice";
                return null;
            }

            Append(output, variant);
        }

        var singletons = new HashSet<char>();
        while (index < subtags.Length && subtags[index].Length == 1 && char.IsAsciiLetterOrDigit(subtags[index][0]))
        {
            var singleton = char.ToLowerInvariant(subtags[index][0]);
            var privateUse = singleton == 'x';
            if (!privateUse && !singletons.Add(singleton))
            {
                problem = $"the extension '{singleton}' appears twice";
                return null;
            }

            Append(output, singleton.ToString());
            index++;
            var start = index;
            while (index < subtags.Length && IsAlphanumeric(subtags[index], privateUse ? 1 : 2, 8))
            {
                Append(output, subtags[index++].ToLowerInvariant());
            }

            if (index == start)
            {
                problem = $"the singleton '{singleton}' must be followed by at least one subtag";
                return null;
            }

            if (privateUse)
            {
                break;
            }
        }

        if (index < subtags.Length)
        {
            problem = subtags[index].Length == 0 ? "it has an empty subtag" : $"'{subtags[index]}' is not valid at position {index + 1}";
            return null;
        }

        return output.ToString();
    }

    /// <summary>
    /// The tag with its last subtag removed (and a singleton left dangling, as RFC 4647
    /// lookup does): <c>zh-Hant-TW</c> → <c>zh-Hant</c>; null for a bare language or <c>default</c>.
    /// </summary>
    public static string? Parent(string canonical)
    {
        var cut = canonical.LastIndexOf('-');
        if (cut < 0 || canonical == Default)
        {
            return null;
        }

        var parent = canonical[..cut];
        var previous = parent.LastIndexOf('-');
        if (previous >= 0 && parent.Length - previous - 1 == 1)
        {
            parent = parent[..previous];
        }

        return parent;
    }

    /// <summary>The language subtag of a canonical tag (<c>zh-Hant-TW</c> → <c>zh</c>).</summary>
    public static string LanguageOf(string canonical)
    {
        var cut = canonical.IndexOf('-', StringComparison.Ordinal);
        return cut < 0 ? canonical : canonical[..cut];
    }

    private static void Append(StringBuilder output, string subtag)
    {
        if (output.Length > 0)
        {
            output.Append('-');
        }

        output.Append(subtag);
    }

    private static bool IsVariant(string subtag) =>
        IsAlphanumeric(subtag, 5, 8) || (subtag.Length == 4 && char.IsAsciiDigit(subtag[0]) && IsAlphanumeric(subtag, 4, 4));

    private static bool IsAlpha(string subtag, int min, int max) =>
        subtag.Length >= min && subtag.Length <= max && subtag.All(char.IsAsciiLetter);

    private static bool IsDigits(string subtag, int length) =>
        subtag.Length == length && subtag.All(char.IsAsciiDigit);

    private static bool IsAlphanumeric(string subtag, int min, int max) =>
        subtag.Length >= min && subtag.Length <= max && subtag.All(char.IsAsciiLetterOrDigit);
}
