using GameSystem.LanguageSystem.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Every registered locale, held in one store entry so that a change to any locale is one
/// expected-version write of the whole set: a fallback cycle check and the write it guards
/// can never interleave with another instance's change. A game has tens of locales, not
/// thousands, so the set stays small. Stored as a <see cref="ListLocalesResponse"/>
/// (repeated <see cref="Locale"/>) to stay forward compatible with new locale fields.
/// </summary>
internal sealed class LocaleRegistry
{
    private readonly SortedDictionary<string, Locale> _locales;

    private LocaleRegistry(SortedDictionary<string, Locale> locales) => _locales = locales;

    /// <summary>Locales ordered by tag, <c>default</c> first.</summary>
    public IEnumerable<Locale> Locales => _locales.Values;

    /// <summary>A registry holding only the <c>default</c> locale, created at <paramref name="now"/>.</summary>
    public static LocaleRegistry Initial(Timestamp now)
    {
        var registry = new LocaleRegistry(new SortedDictionary<string, Locale>(DefaultFirst.Instance));
        registry.Put(new Locale
        {
            Tag = LocaleTags.Default,
            DisplayName = "Default",
            NativeName = "Default",
            Direction = TextDirection.LeftToRight,
            IsDefault = true,
            Version = 1,
            CreateTime = now,
            UpdateTime = now,
        });
        return registry;
    }

    public static LocaleRegistry Parse(ReadOnlyMemory<byte> bytes)
    {
        var stored = ListLocalesResponse.Parser.ParseFrom(bytes.Span);
        var locales = new SortedDictionary<string, Locale>(DefaultFirst.Instance);
        foreach (var locale in stored.Locales)
        {
            locales[locale.Tag] = locale;
        }

        return new LocaleRegistry(locales);
    }

    public byte[] ToBytes()
    {
        var stored = new ListLocalesResponse();
        stored.Locales.AddRange(_locales.Values);
        return stored.ToByteArray();
    }

    public Locale? Find(string tag) => _locales.GetValueOrDefault(tag);

    public void Put(Locale locale) => _locales[locale.Tag] = locale;

    public bool Remove(string tag) => _locales.Remove(tag);

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

    /// <summary>Locales whose explicit <c>fallback_locale</c> is <paramref name="tag"/>.</summary>
    public IEnumerable<string> FallingBackTo(string tag) =>
        _locales.Values.Where(l => l.FallbackLocale == tag).Select(l => l.Tag);

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

    /// <summary>The order of <see cref="Locales"/>: <c>default</c> first, then ordinal.</summary>
    public static int CompareTags(string x, string y) => DefaultFirst.Instance.Compare(x, y);

    /// <summary>Ordinal order with <c>default</c> before every tag, as ListLocales promises.</summary>
    private sealed class DefaultFirst : IComparer<string>
    {
        public static readonly DefaultFirst Instance = new();

        public int Compare(string? x, string? y) =>
            x == y ? 0
            : x == LocaleTags.Default ? -1
            : y == LocaleTags.Default ? 1
            : string.CompareOrdinal(x, y);
    }
}
