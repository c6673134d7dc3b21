using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Where the service keeps its state, in three kinds of partition (the part in braces: what
/// changes together in one transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{table:&lt;tag&gt;}</c>, one per locale's string table: its entries, its key index, its
/// <see cref="TableRecord"/> (revision and entry count), the request ids of creates and imports
/// into it and its <c>StringTableChanged</c> outbox. Everything one table write touches is
/// here, so a create, update, delete or a whole import (up to 1,000 entries: 2,000-odd
/// operations, within the store's 4,096) is one all-or-nothing transaction, and the count and
/// revision can never drift from the entries. Tables are where the data and the traffic are,
/// and they spread over the shards one locale each.
/// </para>
/// <para>
/// <c>{locales}</c>, the registry: every <see cref="LocaleRecord"/>, the ordered indexes
/// ListLocales pages (all tags, enabled tags), the index of explicit fallbacks (who falls back
/// to whom), the registry revision every locale change moves, CreateLocale's request ids and the
/// <c>LocaleChanged</c> outbox. A fallback-cycle check reads several locales; the change it
/// guards requires the revision it read at, so check and write are one atomic step. A game has
/// tens of locales, changed rarely: one partition is no hot spot, and lookups read a chain's
/// few records in one round trip.
/// </para>
/// <para>
/// A locale and its table are in different partitions, so DeleteLocale takes steps, each a
/// transaction, ordered so an interruption leaves a state the next call finishes: mark the
/// locale deleting (registry), close its table (table), delete its entries if forced (table,
/// 1,000 a step), remove the locale (registry). A table serves one
/// <see cref="LocaleRecord.Incarnation"/>: a writer that read the locale before a deletion
/// finds the table closed for that incarnation, or opened for a newer one, and never writes
/// into a locale that is gone.
/// </para>
/// <para>
/// <c>{styles}</c>, every speech style with its id index, request ids and
/// <c>SpeechStyleChanged</c> outbox: ListSpeechStyles needs one index, and a style's write and
/// its index entry must change together. Styles are authored content (hundreds, written
/// rarely); reading one is a single-key read.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    private const string Service = "language-system/";

    /// <summary>The partition of the locale registry.</summary>
    public const string LocalesPartition = "locales";

    /// <summary>The partition of the speech styles.</summary>
    public const string StylesPartition = "styles";

    private const string Locales = Service + "{" + LocalesPartition + "}/";
    private const string Styles = Service + "{" + StylesPartition + "}/";

    /// <summary>The registry revision (a counter): moved by every locale change, required by each.</summary>
    public const string RegistryRevision = Locales + "revision";

    /// <summary>Index of every registered tag but <c>default</c> (which always lists first).</summary>
    public const string AllTags = Locales + "tags";

    /// <summary>Index of the enabled registered tags but <c>default</c>.</summary>
    public const string EnabledTags = Locales + "enabled-tags";

    /// <summary>Index of explicit fallbacks, members <c>&lt;fallback&gt;/&lt;tag&gt;</c>: who falls back to a locale.</summary>
    public const string Fallbacks = Locales + "fallbacks";

    /// <summary>The speech-style revision (a counter): moved by every style change, so its events have ids that never repeat.</summary>
    public const string StylesRevision = Styles + "revision";

    /// <summary>Index of every style id.</summary>
    public const string StyleIds = Styles + "ids";

    /// <summary>The partition of a locale's string table.</summary>
    public static string TablePartition(string locale) => "table:" + locale;

    public static string Locale(string tag) => Locales + "locale/" + tag;

    /// <summary>Member of <see cref="Fallbacks"/> for <paramref name="tag"/> falling back to <paramref name="fallback"/>.</summary>
    public static string FallbackMember(string fallback, string tag) => fallback + "/" + tag;

    public static string LocaleRequest(string rpc, string requestId) => Locales + Request(rpc, requestId);

    public static string Table(string locale) => TablePrefix(locale) + "table";

    public static string Entry(string locale, string key) => TablePrefix(locale) + "entry/" + key;

    /// <summary>Index of a table's keys.</summary>
    public static string Keys(string locale) => TablePrefix(locale) + "keys";

    public static string TableRequest(string locale, string rpc, string requestId) => TablePrefix(locale) + Request(rpc, requestId);

    public static string Style(string styleId) => Styles + "style/" + styleId;

    public static string StyleRequest(string rpc, string requestId) => Styles + Request(rpc, requestId);

    private static string TablePrefix(string locale) => Service + "{" + TablePartition(locale) + "}/";

    // The id is client text of any length and alphabet; its hash is always a valid key.
    private static string Request(string rpc, string requestId) =>
        "request/" + rpc + "/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));
}
