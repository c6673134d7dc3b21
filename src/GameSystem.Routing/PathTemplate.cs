using System.Collections.Immutable;

namespace GameSystem.Routing;

/// <summary>
/// A parsed google.api.http path template: <c>/</c>-separated segments, each a literal, <c>*</c>
/// (one segment), <c>**</c> (the rest of the path, zero or more segments; last only) or a
/// variable <c>{name}</c> / <c>{name=segments}</c> that captures what its segments match, and
/// an optional <c>:verb</c> at the end. <see cref="Matches"/> looks at segments only, so
/// <c>{id}</c> and <c>*</c> are the same pattern; <see cref="TryMatch"/> also says where each
/// variable's value lies in the path (the gateway binds them to request fields).
/// </summary>
public sealed class PathTemplate
{
    /// <summary>The longest template accepted, in characters.</summary>
    public const int MaxLength = 512;

    private const string LiteralPunctuation = "-._~!$&'()+,;=@%";

    private PathTemplate(string text, ImmutableArray<string?> segments, bool endsWithRest, string verb, ImmutableArray<PathVariable> variables)
    {
        Text = text;
        Variables = variables;
        Segments = segments;
        EndsWithRest = endsWithRest;
        Verb = verb;
        LiteralPrefix = segments.TakeWhile(s => s is not null).Count();
        Pattern = "/" + string.Join('/', segments.Select(s => s ?? "*")) + (endsWithRest ? (segments.Length > 0 ? "/**" : "**") : "") + (verb.Length > 0 ? ":" + verb : "");
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>The segments before any trailing <c>**</c>: a literal, or null for one wildcard segment.</summary>
    public ImmutableArray<string?> Segments { get; }

    /// <summary>True when the template ends with <c>**</c> (also <c>{x=**}</c> or <c>{x=a/**}</c>).</summary>
    public bool EndsWithRest { get; }

    /// <summary>The variables in the order they appear, with the segments each one captures.</summary>
    public ImmutableArray<PathVariable> Variables { get; }

    /// <summary>The custom verb after the last <c>:</c>; empty when none.</summary>
    public string Verb { get; }

    /// <summary>Literal segments before the first wildcard: "the longer literal prefix" that breaks ties.</summary>
    public int LiteralPrefix { get; }

    /// <summary>
    /// The template with variables replaced by the wildcards they stand for: two templates with
    /// the same pattern match exactly the same paths (<c>/v1/{id}</c> and <c>/v1/*</c>).
    /// </summary>
    public string Pattern { get; }

    /// <summary>Parses <paramref name="text"/>; null with <paramref name="problem"/> saying what is wrong.</summary>
    public static PathTemplate? Parse(string text, out string problem)
    {
        problem = "";
        if (text.Length is 0 or > MaxLength)
        {
            problem = $"must be 1-{MaxLength} characters";
            return null;
        }

        if (text[0] != '/')
        {
            problem = "must start with '/', e.g. '/v1/players/*/quests'";
            return null;
        }

        // The verb is after the last ':' that is outside braces and after the last '/'.
        var body = text[1..];
        var verb = "";
        var colon = LastColonOutsideBraces(body);
        if (colon >= 0)
        {
            verb = body[(colon + 1)..];
            body = body[..colon];
            if (!IsLiteral(verb))
            {
                problem = $"has the verb ':{verb}', which must be a non-empty literal of letters, digits and -._~";
                return null;
            }
        }

        var segments = ImmutableArray.CreateBuilder<string?>();
        var rest = false;
        var variables = new HashSet<string>(StringComparer.Ordinal);
        var bound = ImmutableArray.CreateBuilder<PathVariable>();
        foreach (var token in SplitOutsideBraces(body))
        {
            if (rest)
            {
                problem = "has '**' before its last segment; '**' matches the rest of the path and must come last";
                return null;
            }

            if (token.StartsWith('{'))
            {
                if (!token.EndsWith('}'))
                {
                    problem = $"has the unclosed variable '{token}'";
                    return null;
                }

                var inner = token[1..^1];
                var equals = inner.IndexOf('=', StringComparison.Ordinal);
                var name = equals < 0 ? inner : inner[..equals];
                if (!IsFieldPath(name))
                {
                    problem = $"has the variable '{token}', whose name must be a field path such as 'player_id' or 'quest.id'";
                    return null;
                }

                if (!variables.Add(name))
                {
                    problem = $"binds the variable '{name}' twice";
                    return null;
                }

                var pattern = equals < 0 ? "*" : inner[(equals + 1)..];
                if (pattern.Length == 0 || pattern.Contains('{', StringComparison.Ordinal) || pattern.Contains('}', StringComparison.Ordinal))
                {
                    problem = $"has the variable '{token}', whose pattern after '=' must be segments without variables, e.g. '*' or 'quests/**'";
                    return null;
                }

                var first = segments.Count;
                foreach (var inside in pattern.Split('/'))
                {
                    if (rest)
                    {
                        problem = "has '**' before its last segment; '**' matches the rest of the path and must come last";
                        return null;
                    }

                    if (!AddSegment(inside, segments, ref rest, out problem))
                    {
                        return null;
                    }
                }

                bound.Add(new PathVariable(name, first, segments.Count - first, rest));
                continue;
            }

            if (!AddSegment(token, segments, ref rest, out problem))
            {
                return null;
            }
        }

        return new PathTemplate(text, segments.ToImmutable(), rest, verb, bound.ToImmutable());
    }

    /// <summary>True when <paramref name="path"/> (a request path without query string) matches.</summary>
    public bool Matches(string path) => Walk(path, [], out _);

    /// <summary>
    /// Matches <paramref name="path"/> (a request path as received, without query string) and
    /// puts where each of <see cref="Variables"/> lies in it into <paramref name="values"/> (as
    /// many ranges as there are variables), still percent-encoded: a variable's segments with the
    /// slashes between them, and for one that ends in <c>**</c>, everything to the verb.
    /// </summary>
    public bool TryMatch(ReadOnlySpan<char> path, Span<Range> values)
    {
        if (values.Length < Variables.Length)
        {
            throw new ArgumentException($"The template has {Variables.Length} variables; {values.Length} ranges were given.", nameof(values));
        }

        if (Variables.IsEmpty)
        {
            return Walk(path, [], out _);
        }

        Span<Range> segments = Segments.Length <= 32 ? stackalloc Range[Segments.Length] : new Range[Segments.Length];
        if (!Walk(path, segments, out var rest))
        {
            return false;
        }

        for (var i = 0; i < Variables.Length; i++)
        {
            var variable = Variables[i];
            var start = variable.SegmentCount > 0 ? segments[variable.FirstSegment].Start : rest.Start;
            var end = variable.EndsWithRest ? rest.End : segments[variable.FirstSegment + variable.SegmentCount - 1].End;
            values[i] = start..end;
        }

        return true;
    }

    // Matches segment by segment; when segments is not empty, fills it with where each fixed
    // segment lies in the path, and rest with what '**' took (empty, at the end, when nothing).
    private bool Walk(ReadOnlySpan<char> path, Span<Range> segments, out Range rest)
    {
        rest = default;
        if (path.IsEmpty || path[0] != '/')
        {
            return false;
        }

        var span = path[1..];
        if (Verb.Length > 0)
        {
            // The verb ends the last segment: '/v1/things/abc:cancel'.
            if (span.Length < Verb.Length + 1 || !span.EndsWith(Verb, StringComparison.Ordinal) || span[span.Length - Verb.Length - 1] != ':')
            {
                return false;
            }

            span = span[..(span.Length - Verb.Length - 1)];
        }

        rest = (span.Length + 1)..(span.Length + 1);

        // '/' alone has no segment: only '/**' matches it.
        if (span.IsEmpty)
        {
            return Segments.Length == 0 && EndsWithRest;
        }

        var index = 0;
        foreach (var range in span.Split('/'))
        {
            var segment = span[range];
            if (index == Segments.Length)
            {
                // More segments than the fixed ones: only '**' takes them, and none may be empty.
                if (!EndsWithRest || span[range.Start.Value..].IndexOf("//", StringComparison.Ordinal) >= 0 || span[^1] == '/')
                {
                    return false;
                }

                rest = (range.Start.Value + 1)..(span.Length + 1);
                return true;
            }

            var literal = Segments[index];
            if (segment.IsEmpty || (literal is not null && !segment.SequenceEqual(literal)))
            {
                return false;
            }

            if (!segments.IsEmpty)
            {
                segments[index] = (range.Start.Value + 1)..(range.End.Value + 1);
            }

            index++;
        }

        // '**' also matches no segment at all.
        return index == Segments.Length;
    }

    private static bool AddSegment(string token, ImmutableArray<string?>.Builder segments, ref bool rest, out string problem)
    {
        problem = "";
        switch (token)
        {
            case "**":
                rest = true;
                return true;
            case "*":
                segments.Add(null);
                return true;
            case "":
                problem = "has an empty segment ('//' or a trailing '/')";
                return false;
            default:
                if (!IsLiteral(token))
                {
                    problem = $"has the segment '{token}', which is neither '*', '**', a {{variable}} nor a literal of letters, digits and -._~!$&'()+,;=@%";
                    return false;
                }

                segments.Add(token);
                return true;
        }
    }

    private static bool IsLiteral(string token) =>
        token.Length > 0 && token.All(c => char.IsAsciiLetterOrDigit(c) || LiteralPunctuation.Contains(c, StringComparison.Ordinal));

    private static bool IsFieldPath(string name) =>
        name.Length > 0 && name.Split('.').All(part => part.Length > 0 && (char.IsAsciiLetter(part[0]) || part[0] == '_') && part.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'));

    private static int LastColonOutsideBraces(string body)
    {
        var depth = 0;
        var last = -1;
        for (var i = 0; i < body.Length; i++)
        {
            switch (body[i])
            {
                case '{':
                    depth++;
                    break;
                case '}':
                    depth--;
                    break;
                case '/':
                    last = -1;
                    break;
                case ':' when depth == 0:
                    last = i;
                    break;
            }
        }

        return last;
    }

    private static List<string> SplitOutsideBraces(string body)
    {
        var tokens = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '{')
            {
                depth++;
            }
            else if (body[i] == '}')
            {
                depth--;
            }
            else if (body[i] == '/' && depth == 0)
            {
                tokens.Add(body[start..i]);
                start = i + 1;
            }
        }

        tokens.Add(body[start..]);
        return tokens;
    }
}

/// <summary>
/// A variable of a path template: the request field it binds (a dotted path) and the fixed
/// segments it captures, <c>{id}</c> one, <c>{name=shelves/*/books/*}</c> four, <c>{path=**}</c>
/// none but the rest of the path.
/// </summary>
/// <param name="FieldPath">The field path, e.g. <c>account.account_id</c>.</param>
/// <param name="FirstSegment">Index of its first fixed segment in <see cref="PathTemplate.Segments"/>.</param>
/// <param name="SegmentCount">How many fixed segments it captures.</param>
/// <param name="EndsWithRest">True when it ends with <c>**</c> and so also takes the rest of the path.</param>
public readonly record struct PathVariable(string FieldPath, int FirstSegment, int SegmentCount, bool EndsWithRest)
{
    /// <summary>True when it captures exactly one segment, whose value is fully percent-decoded (a multi-segment value keeps <c>%2F</c>).</summary>
    public bool IsSingleSegment => SegmentCount == 1 && !EndsWithRest;
}
