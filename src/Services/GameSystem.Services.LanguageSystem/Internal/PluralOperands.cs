using System.Globalization;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// The CLDR plural operands of a number (UTS #35, "Plural Operand Meanings"). A decimal is
/// read from its digits, never through a double, so visible fraction digits survive:
/// <c>1.50</c> has v = 2, f = 50, t = 5, and <c>1.0</c> is not <c>1</c>.
/// </summary>
internal readonly record struct PluralOperands(decimal N, decimal I, int V, int W, decimal F, decimal T, int E)
{
    /// <summary>Digits a decimal may have in all (integer and fraction), so every operand stays exact.</summary>
    public const int MaxDigits = 27;

    /// <summary>True when the number is exactly zero (<c>0</c>, <c>0.0</c> …).</summary>
    public bool IsZero => N == 0m;

    public static PluralOperands FromInteger(long value)
    {
        var n = Math.Abs((decimal)value);
        return new PluralOperands(n, n, 0, 0, 0m, 0m, 0);
    }

    /// <summary>
    /// Reads a number in plain notation, <c>-?[0-9]+(\.[0-9]+)?</c>; with
    /// <paramref name="allowExponent"/> also CLDR's compact notation <c>1.1c6</c> (as CLDR's
    /// sample lists use), where the exponent is operand e.
    /// </summary>
    public static bool TryParse(string text, bool allowExponent, out PluralOperands operands)
    {
        operands = default;
        var span = text.AsSpan();
        if (span.Length > 0 && span[0] == '-')
        {
            span = span[1..];
        }

        var exponent = 0;
        var marker = allowExponent ? span.IndexOfAny('c', 'e') : -1;
        if (marker >= 0)
        {
            if (!int.TryParse(span[(marker + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out exponent) || exponent > MaxDigits)
            {
                return false;
            }

            span = span[..marker];
        }

        var dot = span.IndexOf('.');
        var integerDigits = dot < 0 ? span : span[..dot];
        var fractionDigits = dot < 0 ? [] : span[(dot + 1)..];
        if (integerDigits.Length == 0 || (dot >= 0 && fractionDigits.Length == 0)
            || !IsDigits(integerDigits) || !IsDigits(fractionDigits))
        {
            return false;
        }

        // The exponent moves the decimal point right: 1.1c6 is 1100000, 1.0000001c6 is 1000000.1.
        var shifted = Math.Min(exponent, fractionDigits.Length);
        var integerText = string.Concat(integerDigits, fractionDigits[..shifted]) + new string('0', exponent - shifted);
        var fractionText = fractionDigits[shifted..].ToString();
        integerText = integerText.TrimStart('0');
        if (integerText.Length + fractionText.Length > MaxDigits)
        {
            return false;
        }

        var i = integerText.Length == 0 ? 0m : decimal.Parse(integerText, NumberStyles.None, CultureInfo.InvariantCulture);
        var trimmed = fractionText.TrimEnd('0');
        var f = fractionText.Length == 0 ? 0m : decimal.Parse(fractionText, NumberStyles.None, CultureInfo.InvariantCulture);
        var t = trimmed.Length == 0 ? 0m : decimal.Parse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture);
        var n = fractionText.Length == 0 ? i : i + (f / Pow10(fractionText.Length));
        operands = new PluralOperands(n, i, fractionText.Length, trimmed.Length, f, t, exponent);
        return true;
    }

    /// <summary>The value of an operand letter of the rule syntax (<c>c</c> is a synonym of <c>e</c>).</summary>
    public decimal Get(char operand) => operand switch
    {
        'n' => N,
        'i' => I,
        'v' => V,
        'w' => W,
        'f' => F,
        't' => T,
        'e' or 'c' => E,
        _ => throw new ArgumentOutOfRangeException(nameof(operand), operand, "Not a CLDR plural operand."),
    };

    private static bool IsDigits(ReadOnlySpan<char> digits)
    {
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static decimal Pow10(int exponent)
    {
        var result = 1m;
        for (var k = 0; k < exponent; k++)
        {
            result *= 10m;
        }

        return result;
    }
}
