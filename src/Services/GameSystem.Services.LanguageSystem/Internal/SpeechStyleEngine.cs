using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;
using GameSystem.LanguageSystem.V1;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>What applying a style did.</summary>
internal sealed record StyledText(string Text, IReadOnlyList<AppliedRule> AppliedRules);

/// <summary>
/// Rewrites text in a speech style: the built-in register transform, then the style's rules
/// in order. Placeholders (<c>{name}</c>, <c>{{</c>, <c>}}</c>) and markup tags (<c>&lt;b&gt;</c>)
/// are swapped for private-use characters first and restored last, so no rule can change
/// or split them.
/// </summary>
internal sealed partial class SpeechStyleEngine
{
    /// <summary>The id reported for the built-in register transform.</summary>
    public const string BuiltinRuleId = "builtin:register";

    /// <summary>How long one regular expression may run on one text.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    private const int MaxCachedStyles = 256;
    private const char FirstSentinel = '\uE000';
    private const char LastSentinel = '\uF8FF';

    private readonly ConcurrentDictionary<(string Id, long Version, long Created), CompiledStyle> _cache = new();

    /// <summary>The compiled form of a stored style, cached per style version.</summary>
    public CompiledStyle Compile(SpeechStyle style)
    {
        var key = (style.StyleId, style.Version, style.CreateTime?.Seconds * 1_000_000_000L + style.CreateTime?.Nanos ?? 0);
        if (_cache.TryGetValue(key, out var compiled))
        {
            return compiled;
        }

        if (_cache.Count >= MaxCachedStyles)
        {
            // Old versions are never asked for again; starting over is simpler than an LRU.
            _cache.Clear();
        }

        return _cache[key] = CompiledStyle.From(style);
    }

    /// <summary>
    /// Applies <paramref name="style"/> at <paramref name="intensity"/>; interjections are
    /// chosen by a generator seeded from <paramref name="seed"/> and each rule's id, so adding
    /// a rule does not change the choices of the others.
    /// </summary>
    public static StyledText Apply(CompiledStyle style, string text, double intensity, long seed)
    {
        var protectedParts = new List<string>();
        var working = Mask(text, protectedParts);
        var applied = new List<AppliedRule>();
        if (!style.Builtin.IsEmpty)
        {
            var count = 0;
            foreach (var rewrite in style.Builtin)
            {
                working = rewrite.Apply(working, ref count);
            }

            Record(applied, BuiltinRuleId, count);
        }

        foreach (var rule in style.Rules)
        {
            if (intensity < rule.MinIntensity)
            {
                continue;
            }

            var count = 0;
            if (rule.Rewrite is { } rewrite)
            {
                try
                {
                    working = rewrite.Apply(working, ref count);
                }
                catch (RegexMatchTimeoutException)
                {
                    throw Errors.FailedPrecondition($"Rule '{rule.RuleId}' of the speech style took longer than {RegexTimeout.TotalMilliseconds} ms on this text; simplify its pattern (avoid nested quantifiers).");
                }
            }
            else if (rule.Interjection is { } interjection)
            {
                var random = new SeededRandom(seed ^ rule.Seed);
                working = Interject(working, interjection, interjection.Probability * intensity, random, ref count);
            }

            Record(applied, rule.RuleId, count);
        }

        return new StyledText(Unmask(working, protectedParts), applied);
    }

    /// <summary>Checks a rule set as written; the first problem found, or null.</summary>
    public static string? Validate(IReadOnlyList<SpeechRule> rules)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < rules.Count; index++)
        {
            var rule = rules[index];
            var where = $"rules[{index}]";
            if (rule.RuleId.Length is 0 or > 64)
            {
                return $"{where}.rule_id is required (1-64 characters)";
            }

            if (!ids.Add(rule.RuleId))
            {
                return $"{where}.rule_id '{rule.RuleId}' is used by an earlier rule; rule ids must be unique within a style";
            }

            if (rule.RuleId.StartsWith("builtin:", StringComparison.Ordinal))
            {
                return $"{where}.rule_id '{rule.RuleId}': ids starting with 'builtin:' are reserved";
            }

            if (!(rule.MinIntensity is >= 0 and <= 1))
            {
                return $"{where}.min_intensity must be 0.0-1.0; got {rule.MinIntensity}";
            }

            switch (rule.KindCase)
            {
                case SpeechRule.KindOneofCase.Substitution:
                    if (rule.Substitution.Match.Trim().Length == 0)
                    {
                        return $"{where}.substitution.match is required";
                    }

                    break;
                case SpeechRule.KindOneofCase.Pattern:
                    if (rule.Pattern.Pattern.Length is 0 or > 500)
                    {
                        return $"{where}.pattern.pattern is required, at most 500 characters";
                    }

                    try
                    {
                        _ = Rewrite.FromPattern(rule.Pattern);
                    }
                    catch (ArgumentException e)
                    {
                        return $"{where}.pattern.pattern '{rule.Pattern.Pattern}' is not a valid .NET regular expression: {e.Message}";
                    }

                    break;
                case SpeechRule.KindOneofCase.Interjection:
                    if (rule.Interjection.Phrases.Count == 0 || rule.Interjection.Phrases.Any(p => p.Trim().Length == 0))
                    {
                        return $"{where}.interjection.phrases needs at least one phrase, none blank";
                    }

                    if (!(rule.Interjection.Probability is >= 0 and <= 1))
                    {
                        return $"{where}.interjection.probability must be 0.0-1.0; got {rule.Interjection.Probability}";
                    }

                    if (!Enum.IsDefined(rule.Interjection.Position))
                    {
                        return $"{where}.interjection.position {(int)rule.Interjection.Position} is not an InterjectionPosition";
                    }

                    break;
                default:
                    return $"{where} must set exactly one of substitution, pattern or interjection";
            }
        }

        return null;
    }

    private static void Record(List<AppliedRule> applied, string ruleId, int count)
    {
        if (count > 0)
        {
            applied.Add(new AppliedRule { RuleId = ruleId, Applications = count });
        }
    }

    private static string Mask(string text, List<string> protectedParts)
    {
        // Private-use characters already in the text are masked too, so a sentinel is never ambiguous.
        return ProtectedPattern().Replace(text, match =>
        {
            protectedParts.Add(match.Value);
            return ((char)(FirstSentinel + protectedParts.Count - 1)).ToString();
        });
    }

    private static string Unmask(string text, List<string> protectedParts)
    {
        var output = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            // A private-use character a rule wrote itself (not one of ours) stays as written.
            if (IsSentinel(c) && c - FirstSentinel < protectedParts.Count)
            {
                output.Append(protectedParts[c - FirstSentinel]);
            }
            else
            {
                output.Append(c);
            }
        }

        return output.ToString();
    }

    private static bool IsSentinel(char c) => c is >= FirstSentinel and <= LastSentinel;

    private static string Interject(string text, Interjection rule, double probability, SeededRandom random, ref int count)
    {
        var positions = new List<(int Index, bool Before)>();
        var trimmedStart = text.Length - text.AsSpan().TrimStart().Length;
        var end = EndOfSentence(text, text.AsSpan().TrimEnd().Length);
        switch (rule.Position)
        {
            case InterjectionPosition.UtteranceEnd:
                positions.Add((end, false));
                break;
            case InterjectionPosition.SentenceStart:
                positions.Add((trimmedStart, true));
                positions.AddRange(SentenceBreaks().Matches(text).Select(m => (m.Index + m.Length, true)).Where(p => p.Item1 < text.AsSpan().TrimEnd().Length));
                break;
            case InterjectionPosition.SentenceEnd:
                positions.AddRange(SentenceBreaks().Matches(text).Where(m => m.Index + m.Length < text.Length).Select(m => (m.Index, false)));
                positions.Add((end, false));
                break;
            default:
                positions.Add((trimmedStart, true));
                break;
        }

        // Decide every position in reading order (one draw each), then insert from the end.
        var inserts = new List<(int Index, string Text)>();
        foreach (var (index, before) in positions.Distinct())
        {
            var take = random.NextDouble() < probability;
            var phrase = rule.Phrases[random.Next(rule.Phrases.Count)].Trim();
            if (take)
            {
                inserts.Add((index, before ? phrase + " " : (phrase[0] is ',' or ';' or ':' or '.' or '!' or '?' ? phrase : " " + phrase)));
            }
        }

        var output = new StringBuilder(text);
        foreach (var (index, insert) in inserts.OrderByDescending(i => i.Index))
        {
            output.Insert(index, insert);
            count++;
        }

        return output.ToString();
    }

    /// <summary>Where the sentence ending at <paramref name="end"/> ends before its final punctuation.</summary>
    private static int EndOfSentence(string text, int end)
    {
        while (end > 0 && text[end - 1] is '.' or '!' or '?' or '…')
        {
            end--;
        }

        return end;
    }

    // A sentence ends at . ! ? or … followed by whitespace; the match is the punctuation and the space.
    [GeneratedRegex(@"[.!?…]+\s+", RegexOptions.CultureInvariant)]
    private static partial Regex SentenceBreaks();

    [GeneratedRegex(@"\{\{|\}\}|\{[^{}]*\}|<[^<>]*>|[\uE000-\uF8FF]", RegexOptions.CultureInvariant)]
    private static partial Regex ProtectedPattern();

    /// <summary>A style ready to apply: the built-in rewrites of its register and its compiled rules.</summary>
    internal sealed record CompiledStyle(ImmutableArray<Rewrite> Builtin, ImmutableArray<CompiledRule> Rules)
    {
        public static CompiledStyle From(SpeechStyle style)
        {
            var builtin = style.DisableBuiltinRegisterRules ? [] : BuiltinRegisters.For(LocaleTags.LanguageOf(style.Locale), style.Register);
            var rules = style.Rules.Select(r => new CompiledRule(
                r.RuleId,
                SeededRandom.SeedOf(r.RuleId),
                r.MinIntensity,
                r.KindCase switch
                {
                    SpeechRule.KindOneofCase.Substitution => Rewrite.FromSubstitution(r.Substitution),
                    SpeechRule.KindOneofCase.Pattern => Rewrite.FromPattern(r.Pattern),
                    _ => null,
                },
                r.KindCase == SpeechRule.KindOneofCase.Interjection ? r.Interjection : null));
            return new CompiledStyle(builtin, [.. rules]);
        }
    }

    /// <summary>One rule of a style, compiled; <paramref name="Seed"/> is its id's share of the seed of its interjection choices.</summary>
    internal sealed record CompiledRule(string RuleId, long Seed, double MinIntensity, Rewrite? Rewrite, Interjection? Interjection);

    /// <summary>A regular expression and what each match becomes, applied between protected parts only.</summary>
    internal sealed class Rewrite(Regex regex, Func<Match, string> replace)
    {
        private const string WordStart = @"(?<![\p{L}\p{N}_]|\p{L}['’])";
        private const string WordEnd = @"(?![\p{L}\p{N}_]|['’]\p{L})";

        /// <summary>A word or phrase: whitespace matches any run of whitespace, either apostrophe matches.</summary>
        public static Rewrite FromSubstitution(WordSubstitution substitution)
        {
            var words = substitution.Match.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                .Select(w => string.Concat(Regex.Escape(w).Select(c => c is '\'' or '’' ? "['’]" : c.ToString())));
            var core = string.Join(@"\s+", words);
            var pattern = substitution.MatchInsideWords ? core : WordStart + core + WordEnd;
            var options = RegexOptions.CultureInvariant | (substitution.CaseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase);

            // An escaped phrase between fixed lookarounds cannot backtrack badly; only authors'
            // own patterns need the timeout (which a busy machine could otherwise trip).
            var regex = new Regex(pattern, options, Regex.InfiniteMatchTimeout);
            var replacement = substitution.Replacement;
            return substitution.CaseSensitive
                ? new Rewrite(regex, _ => replacement)
                : new Rewrite(regex, m => FollowCase(m.Value, replacement));
        }

        public static Rewrite FromPattern(PatternReplacement pattern)
        {
            var options = RegexOptions.CultureInvariant | (pattern.IgnoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
            var regex = new Regex(pattern.Pattern, options, RegexTimeout);
            var replacement = pattern.Replacement;
            return new Rewrite(regex, m => m.Result(replacement));
        }

        /// <summary>A built-in rewrite whose replacement takes the case of the match.</summary>
        public static Rewrite Builtin(string pattern, string replacement) =>
            new(new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, Regex.InfiniteMatchTimeout), m => FollowCase(m.Value, replacement));

        /// <summary>A built-in word or phrase substitution.</summary>
        public static Rewrite Word(string match, string replacement) =>
            FromSubstitution(new WordSubstitution { Match = match, Replacement = replacement });

        /// <summary>
        /// Rewrites the text, counting the matches that changed something. The regex sees the
        /// whole text (protected parts as single non-letter characters), so anchors and
        /// lookarounds keep their context; a match that would swallow a protected part is left as is.
        /// </summary>
        public string Apply(string text, ref int count)
        {
            var changes = 0;
            var result = regex.Replace(text, m =>
            {
                if (m.Value.Any(IsSentinel))
                {
                    return m.Value;
                }

                var replaced = replace(m);
                if (!string.Equals(replaced, m.Value, StringComparison.Ordinal))
                {
                    changes++;
                }

                return replaced;
            });
            count += changes;
            return result;
        }

        /// <summary>The replacement in the case of the match: UPPERCASE, Capitalised or lowercase.</summary>
        internal static string FollowCase(string match, string replacement)
        {
            var letters = match.Where(char.IsLetter).ToArray();
            if (letters.Length == 0 || !replacement.Any(char.IsLetter))
            {
                return replacement;
            }

            if (letters.Length > 1 && letters.All(char.IsUpper))
            {
                return replacement.ToUpperInvariant();
            }

            var lower = replacement.ToLowerInvariant();
            if (char.IsUpper(letters[0]))
            {
                var first = lower.IndexOf(lower.First(char.IsLetter));
                return lower[..first] + char.ToUpperInvariant(lower[first]) + lower[(first + 1)..];
            }

            return lower;
        }
    }
}
