namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Where the service keeps its state. Entries of one table share a prefix so a table (or
/// the keys of a table under a key prefix) lists with one store prefix; the counters live
/// apart from the entries so listing a table never returns them.
/// </summary>
internal static class StoreKeys
{
    /// <summary>The registry of every locale (one entry, see <see cref="LocaleRegistry"/>).</summary>
    public const string Registry = "language-system/locales";

    /// <summary>The prefix of every string entry of every table.</summary>
    public const string EntriesPrefix = "language-system/entries/";

    /// <summary>The prefix of every speech style.</summary>
    public const string StylesPrefix = "language-system/styles/";

    /// <summary>The prefix of one locale's string table.</summary>
    public static string TablePrefix(string locale) => EntriesPrefix + locale + "/";

    public static string Entry(string locale, string key) => TablePrefix(locale) + key;

    /// <summary>The table revision counter, bumped after every write that changed the table.</summary>
    public static string Revision(string locale) => "language-system/table-revisions/" + locale;

    /// <summary>The entry counter of a table, changed after each entry created or deleted.</summary>
    public static string Count(string locale) => "language-system/string-counts/" + locale;

    public static string Style(string styleId) => StylesPrefix + styleId;
}
