using System.Globalization;
using System.Text;

namespace GameSystem.State;

/// <summary>Builds index members that sort like the values they stand for.</summary>
public static class StateIndex
{
    /// <summary>
    /// A fixed-width, UTC, sortable form of <paramref name="time"/> to 100 ns
    /// (<c>2026-12-01T22:52:56.1234567Z</c>): members starting with it sort in time order.
    /// </summary>
    public static string SortableTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A fixed-width form of <paramref name="value"/> (20 digits, offset so negatives sort
    /// first): members starting with it sort in numeric order.
    /// </summary>
    public static string SortableNumber(long value) =>
        unchecked((ulong)value ^ 0x8000_0000_0000_0000UL).ToString("D20", CultureInfo.InvariantCulture);

    /// <summary>The value of a <see cref="SortableNumber"/> form.</summary>
    /// <exception cref="FormatException">The text is not 20 digits.</exception>
    public static long ParseSortableNumber(ReadOnlySpan<char> sortable) =>
        sortable.Length == 20 && ulong.TryParse(sortable, NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            ? unchecked((long)(offset ^ 0x8000_0000_0000_0000UL))
            : throw new FormatException($"'{sortable}' is not a sortable number (20 digits).");
}

/// <summary>
/// Compares strings in Unicode code point order, which is the order of their UTF-8 bytes and so
/// the order Redis gives sorted-set members of equal score. (Ordinal UTF-16 order differs for
/// characters above U+FFFF against U+E000–U+FFFF.)
/// </summary>
internal sealed class CodePointComparer : IComparer<string>
{
    public static CodePointComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        var length = Math.Min(x.Length, y.Length);
        for (var i = 0; i < length; i++)
        {
            int a = x[i], b = y[i];
            if (a != b)
            {
                // Surrogates (D800-DFFF) encode code points above FFFF, so they sort after E000-FFFF.
                if (a >= 0xD800 && b >= 0xD800)
                {
                    a += a >= 0xE000 ? -0x800 : 0x2000;
                    b += b >= 0xE000 ? -0x800 : 0x2000;
                }

                return a - b;
            }
        }

        return x.Length - y.Length;
    }
}

/// <summary>The members an index query covers, resolved from its bounds, prefix and page token.</summary>
/// <param name="Lower">Members must be at or after this (null: no bound).</param>
/// <param name="LowerExclusive">True when <paramref name="Lower"/> itself is excluded.</param>
/// <param name="Upper">Members must be before this (exclusive; null: no bound).</param>
/// <param name="Prefix">Members must start with this (null: any).</param>
internal sealed record IndexRange(string? Lower, bool LowerExclusive, string? Upper, string? Prefix)
{
    private const string TokenPrefix = "i1";

    /// <summary>True when no member can be in range.</summary>
    public bool IsEmpty => Lower is not null && Upper is not null && CodePointComparer.Instance.Compare(Lower, Upper) >= 0;

    public bool Contains(string member)
    {
        var comparer = CodePointComparer.Instance;
        if (Lower is not null)
        {
            var c = comparer.Compare(member, Lower);
            if (c < 0 || (c == 0 && LowerExclusive))
            {
                return false;
            }
        }

        return (Upper is null || comparer.Compare(member, Upper) < 0)
            && (Prefix is null || member.StartsWith(Prefix, StringComparison.Ordinal));
    }

    public static IndexRange Resolve(StateIndexQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        StateKeys.ValidatePageSize(query.PageSize);
        if (query.From is not null)
        {
            StateKeys.ValidateMember(query.From, nameof(query.From));
        }

        if (query.To is not null)
        {
            StateKeys.ValidateMember(query.To, nameof(query.To));
        }

        if (query.Prefix is not null)
        {
            StateKeys.ValidateMember(query.Prefix, nameof(query.Prefix));
        }

        var comparer = CodePointComparer.Instance;
        string? lower = query.From;
        var lowerExclusive = false;
        if (query.Prefix is not null && (lower is null || comparer.Compare(query.Prefix, lower) > 0))
        {
            lower = query.Prefix;
        }

        string? upper = query.To;
        if (query.Prefix is not null && Successor(query.Prefix) is { } end && (upper is null || comparer.Compare(end, upper) < 0))
        {
            upper = end;
        }

        if (query.PageToken is not null)
        {
            var (descending, last) = DecodeToken(query.PageToken);
            if (descending != query.Descending)
            {
                throw new ArgumentException($"The page token continues a{(descending ? " descending" : "n ascending")} query; this query is {(query.Descending ? "descending" : "ascending")}.", nameof(query));
            }

            if (descending)
            {
                if (upper is null || comparer.Compare(last, upper) < 0)
                {
                    upper = last;
                }
            }
            else if (lower is null || comparer.Compare(last, lower) >= 0)
            {
                lower = last;
                lowerExclusive = true;
            }
        }

        return new IndexRange(lower, lowerExclusive, upper, query.Prefix);
    }

    public static string EncodeToken(bool descending, string lastMember) =>
        TokenPrefix + (descending ? "d" : "a") + Convert.ToBase64String(Encoding.UTF8.GetBytes(lastMember)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The smallest string after every string starting with <paramref name="prefix"/> (null: none).</summary>
    internal static string? Successor(string prefix)
    {
        var runes = prefix.EnumerateRunes().ToList();
        while (runes.Count > 0)
        {
            var last = runes[^1].Value;
            runes.RemoveAt(runes.Count - 1);
            if (last < 0x10FFFF)
            {
                var next = last + 1 == 0xD800 ? 0xE000 : last + 1;
                var builder = new StringBuilder();
                runes.ForEach(r => builder.Append(r.ToString()));
                return builder.Append(new Rune(next).ToString()).ToString();
            }
        }

        return null;
    }

    private static (bool Descending, string Last) DecodeToken(string token)
    {
        if (token.Length > TokenPrefix.Length + 1 && token.StartsWith(TokenPrefix, StringComparison.Ordinal) && token[TokenPrefix.Length] is 'a' or 'd')
        {
            var body = token[(TokenPrefix.Length + 1)..].Replace('-', '+').Replace('_', '/');
            body = body.PadRight(body.Length + ((4 - (body.Length % 4)) % 4), '=');
            try
            {
                var last = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(body));
                if (last.Length > 0)
                {
                    return (token[TokenPrefix.Length] == 'd', last);
                }
            }
            catch (FormatException)
            {
            }
            catch (ArgumentException)
            {
            }
        }

        throw new ArgumentException("The page token was not returned by this store's QueryIndexAsync.", nameof(token));
    }
}
