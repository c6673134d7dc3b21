using GameSystem.LanguageSystem.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// The locales a call has read (each a <see cref="LocaleRecord"/>, or known to be absent),
/// and the fallback rules over them. A call loads only what its chains walk through:
/// <see cref="Missing"/> says which tags to read next, so a lookup reads a few records rather
/// than the whole registry. <c>default</c> that was never written reads as its initial settings.
/// </summary>
internal sealed class LocaleRegistry
{
    private static readonly Timestamp Epoch = new();
    private readonly Dictionary<string, LocaleRecord?> _known = new(StringComparer.Ordinal);
    private readonly bool _complete;

    /// <param name="complete">True when every registered locale is (or will be) added, so a tag never added is absent.</param>
    public LocaleRegistry(bool complete = false) => _complete = complete;

    /// <summary>A complete registry of <paramref name="locales"/> (and <c>default</c>): for rules over a known set.</summary>
    public static LocaleRegistry Of(IEnumerable<Locale> locales)
    {
        var registry = new LocaleRegistry(complete: true);
        foreach (var locale in locales)
        {
            registry.Add(locale.Tag, new LocaleRecord { Locale = locale });
        }

        return registry;
    }

    /// <summary>The settings <c>default</c> has until it is first changed.</summary>
    public static Locale InitialDefault(Timestamp now) => new()
    {
        Tag = LocaleTags.Default,
        DisplayName = "Default",
        NativeName = "Default",
        Direction = TextDirection.LeftToRight,
        IsDefault = true,
        Version = 1,
        CreateTime = now,
        UpdateTime = now,
    };

    /// <summary>Records what the store holds for <paramref name="tag"/> (null: not registered).</summary>
    public void Add(string tag, LocaleRecord? record) => _known[tag] = record;

    public bool Knows(string tag) => _complete || _known.ContainsKey(tag);

    /// <summary>The record of a registered tag; null when not registered (or, for <c>default</c>, never written).</summary>
    public LocaleRecord? Record(string tag) =>
        _known.TryGetValue(tag, out var record) ? record
        : _complete ? null
        : throw new InvalidOperationException($"Locale '{tag}' was not loaded; load LocaleRegistry.Missing first.");

    /// <summary>The settings of a registered locale (always some for <c>default</c>); null when not registered.</summary>
    public Locale? Find(string tag) => Record(tag)?.Locale ?? (tag == LocaleTags.Default ? InitialDefault(Epoch) : null);

    /// <summary>True when the locale is registered and enabled, so its table is searched.</summary>
    public bool IsSearched(string tag) => Find(tag) is { Disabled: false };

    /// <summary>
    /// The CLDR language whose plural rules and number format apply to a locale's text: its
    /// <c>rules_language</c>, else the tag's language subtag; <c>en</c> for <c>default</c>.
    /// Works for unregistered tags too (their language subtag).
    /// </summary>
    public string RulesLanguageOf(string tag)
    {
        if (Find(tag) is { RulesLanguage.Length: > 0 } locale)
        {
            return locale.RulesLanguage;
        }

        return tag == LocaleTags.Default ? "en" : LocaleTags.LanguageOf(tag);
    }

    /// <summary>
    /// The tags to read before <see cref="Chain"/> of <paramref name="start"/> (or
    /// <see cref="CycleIf"/> from it, under <paramref name="proposed"/>) can answer: the first
    /// step of the walk not read yet, with its parents (read ahead: most chains follow
    /// parents), and <c>default</c>. Empty when everything is known.
    /// </summary>
    public List<string> Missing(string start, (string Tag, string Fallback)? proposed = null)
    {
        var missing = new List<string>();
        if (!Knows(LocaleTags.Default))
        {
            missing.Add(LocaleTags.Default);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var current = start; current != LocaleTags.Default && seen.Add(current);)
        {
            if (!Knows(current) && proposed?.Tag != current)
            {
                for (string? tag = current; tag is not null; tag = LocaleTags.Parent(tag))
                {
                    if (!Knows(tag))
                    {
                        missing.Add(tag);
                    }
                }

                break;
            }

            if (Next(current, proposed).Next is not { } next)
            {
                break;
            }

            current = next;
        }

        return missing;
    }

    /// <summary>
    /// The fallback chain of a canonical tag: the tag, then each locale's explicit fallback or
    /// parent, then <c>default</c>; no duplicates.
    /// </summary>
    public List<FallbackStep> Chain(string tag)
    {
        var steps = new List<FallbackStep>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reason = FallbackReason.Requested;
        string? current = tag;
        while (current is { } step && step != LocaleTags.Default && seen.Add(step))
        {
            steps.Add(new FallbackStep { Locale = step, Reason = reason, Searched = IsSearched(step) });
            (current, reason) = Next(step, null);
        }

        steps.Add(new FallbackStep
        {
            Locale = LocaleTags.Default,
            Reason = tag == LocaleTags.Default ? FallbackReason.Requested : FallbackReason.Default,
            Searched = true,
        });
        return steps;
    }

    /// <summary>The tags of <see cref="Chain"/> whose tables are searched, in chain order.</summary>
    public List<string> SearchedChain(string tag) => [.. Chain(tag).Where(s => s.Searched).Select(s => s.Locale)];

    /// <summary>
    /// The path of the cycle that giving <paramref name="tag"/> the explicit fallback
    /// <paramref name="fallback"/> would close (<c>fr → fr-CA → fr</c>), or null when none would.
    /// </summary>
    public string? CycleIf(string tag, string fallback)
    {
        var path = new List<string> { tag };
        var seen = new HashSet<string>(StringComparer.Ordinal) { tag };
        for (string? current = fallback; current is not null && current != LocaleTags.Default;)
        {
            path.Add(current);
            if (!seen.Add(current))
            {
                return string.Join(" -> ", path);
            }

            current = Next(current, (tag, fallback)).Next;
        }

        return null;
    }

    private (string? Next, FallbackReason Reason) Next(string current, (string Tag, string Fallback)? proposed)
    {
        var explicitFallback = proposed is { } change && change.Tag == current ? change.Fallback : Find(current)?.FallbackLocale;
        return string.IsNullOrEmpty(explicitFallback)
            ? (LocaleTags.Parent(current), FallbackReason.Parent)
            : (explicitFallback, FallbackReason.Explicit);
    }
}
