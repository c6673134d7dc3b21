using System.Globalization;
using System.Text;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// The text form of DURATION values: <c>&lt;number&gt;&lt;unit&gt;</c> parts with the units
/// <c>d</c>, <c>h</c>, <c>m</c>, <c>s</c> and <c>ms</c>, largest first, each at most once
/// (<c>250ms</c>, <c>1m30s</c>, <c>1.5h</c>), at millisecond precision.
/// </summary>
internal static class DurationText
{
    /// <summary>The longest duration a setting holds: ten years of days.</summary>
    public const long MaxMilliseconds = 3650L * 24 * 3600 * 1000;

    private static readonly (string Unit, long Milliseconds)[] Units =
    [
        ("d", 24L * 3600 * 1000),
        ("h", 3600L * 1000),
        ("m", 60L * 1000),
        ("s", 1000),
        ("ms", 1),
    ];

    /// <summary>Parses <paramref name="text"/>; null (with the reason in <paramref name="problem"/>) when it is not a duration.</summary>
    public static long? Parse(string text, out string problem)
    {
        problem = "";
        if (text.Length == 0 || text.Length > 64)
        {
            problem = "a duration is 1-64 characters";
            return null;
        }

        decimal total = 0;
        var lastUnit = -1;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (!decimal.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                problem = $"expected a number at position {start + 1}";
                return null;
            }

            var unit = UnitAt(text, i);
            if (unit < 0)
            {
                problem = $"expected a unit (d, h, m, s or ms) at position {i + 1}";
                return null;
            }

            if (unit <= lastUnit)
            {
                problem = "units go from largest to smallest, each at most once (e.g. 1h30m)";
                return null;
            }

            lastUnit = unit;
            i += Units[unit].Unit.Length;
            total += amount * Units[unit].Milliseconds;
            if (total > MaxMilliseconds)
            {
                problem = "a duration is at most 3650d";
                return null;
            }
        }

        if (total != decimal.Truncate(total))
        {
            problem = "a duration is precise to the millisecond, no finer";
            return null;
        }

        return (long)total;
    }

    /// <summary>The canonical text of <paramref name="milliseconds"/>: its non-zero parts, largest first; <c>0s</c> for zero.</summary>
    public static string Format(long milliseconds)
    {
        if (milliseconds == 0)
        {
            return "0s";
        }

        var text = new StringBuilder();
        foreach (var (unit, size) in Units)
        {
            var count = milliseconds / size;
            if (count > 0)
            {
                text.Append(count.ToString(CultureInfo.InvariantCulture)).Append(unit);
                milliseconds -= count * size;
            }
        }

        return text.ToString();
    }

    private static int UnitAt(string text, int position)
    {
        if (position >= text.Length)
        {
            return -1;
        }

        // "ms" before "m": the longer unit wins.
        if (string.CompareOrdinal(text, position, "ms", 0, 2) == 0)
        {
            return 4;
        }

        return Array.FindIndex(Units, u => u.Unit.Length == 1 && u.Unit[0] == text[position]);
    }
}
