using System.Collections.Immutable;
using System.Text;
using GameSystem.LanguageSystem.V1;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// A text with <c>{name}</c> placeholders and <c>{{</c> / <c>}}</c> escapes, parsed once into
/// literal and placeholder parts.
/// </summary>
internal sealed class TextTemplate
{
    private readonly ImmutableArray<(string Text, bool IsPlaceholder)> _parts;

    private TextTemplate(ImmutableArray<(string Text, bool IsPlaceholder)> parts)
    {
        _parts = parts;
        Placeholders = [.. parts.Where(p => p.IsPlaceholder).Select(p => p.Text).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Placeholder names in order of first use.</summary>
    public ImmutableArray<string> Placeholders { get; }

    /// <summary>Parses <paramref name="text"/>; null, with a problem naming the position, when malformed.</summary>
    public static TextTemplate? Parse(string text, out string problem)
    {
        problem = "";
        var parts = ImmutableArray.CreateBuilder<(string, bool)>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{')
            {
                literal.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                literal.Append('}');
                i++;
            }
            else if (c == '}')
            {
                problem = $"unmatched '}}' at index {i} (write '}}}}' for a literal brace)";
                return null;
            }
            else if (c == '{')
            {
                var close = text.IndexOf('}', i + 1);
                var open = text.IndexOf('{', i + 1);
                if (close < 0 || (open >= 0 && open < close))
                {
                    problem = $"'{{' at index {i} is not closed (write '{{{{' for a literal brace)";
                    return null;
                }

                var name = text[(i + 1)..close];
                if (!IsPlaceholderName(name))
                {
                    problem = $"placeholder '{{{name}}}' at index {i} is not a name matching [A-Za-z_][A-Za-z0-9_]*";
                    return null;
                }

                if (literal.Length > 0)
                {
                    parts.Add((literal.ToString(), false));
                    literal.Clear();
                }

                parts.Add((name, true));
                i = close;
            }
            else
            {
                literal.Append(c);
            }
        }

        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), false));
        }

        return new TextTemplate(parts.ToImmutable());
    }

    /// <summary>
    /// Fills the placeholders: <paramref name="resolve"/> gives an argument's text or null when
    /// it has none, then <paramref name="policy"/> decides (ERROR leaves the text unfinished
    /// and lists the missing names for the caller to report).
    /// </summary>
    public string Format(Func<string, string?> resolve, MissingArgumentPolicy policy, List<string> missing)
    {
        var output = new StringBuilder();
        foreach (var (text, isPlaceholder) in _parts)
        {
            if (!isPlaceholder)
            {
                output.Append(text);
                continue;
            }

            if (resolve(text) is { } value)
            {
                output.Append(value);
                continue;
            }

            if (!missing.Contains(text))
            {
                missing.Add(text);
            }

            if (policy == MissingArgumentPolicy.Keep)
            {
                output.Append('{').Append(text).Append('}');
            }
        }

        return output.ToString();
    }

    private static bool IsPlaceholderName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
