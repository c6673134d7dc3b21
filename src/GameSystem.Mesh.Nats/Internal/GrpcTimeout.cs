using System.Globalization;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// The <c>grpc-timeout</c> header format of the gRPC HTTP/2 protocol: at most 8 ASCII
/// digits followed by a unit (H, M, S, m, u, n).
/// </summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    public static string Format(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return "0n";
        }

        // Pick the finest unit that fits in 8 digits, rounding up so a deadline never
        // arrives earlier than the caller asked.
        var ticks = timeout.Ticks;
        var nanos = ticks * 100;
        if (nanos <= MaxValue)
        {
            return nanos.ToString(CultureInfo.InvariantCulture) + "n";
        }

        var micros = Ceiling(ticks, TimeSpan.TicksPerMicrosecond);
        if (micros <= MaxValue)
        {
            return micros.ToString(CultureInfo.InvariantCulture) + "u";
        }

        var millis = Ceiling(ticks, TimeSpan.TicksPerMillisecond);
        if (millis <= MaxValue)
        {
            return millis.ToString(CultureInfo.InvariantCulture) + "m";
        }

        var seconds = Ceiling(ticks, TimeSpan.TicksPerSecond);
        if (seconds <= MaxValue)
        {
            return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        }

        var minutes = Ceiling(ticks, TimeSpan.TicksPerMinute);
        if (minutes <= MaxValue)
        {
            return minutes.ToString(CultureInfo.InvariantCulture) + "M";
        }

        return Math.Min(Ceiling(ticks, TimeSpan.TicksPerHour), MaxValue).ToString(CultureInfo.InvariantCulture) + "H";
    }

    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9
            || !long.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        long? ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * TimeSpan.TicksPerMicrosecond,
            'n' => amount / 100,
            _ => null,
        };
        if (ticks is null)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks.Value);
        return true;
    }

    private static long Ceiling(long ticks, long unit) => (ticks + unit - 1) / unit;
}
