using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// SplitMix64: a tiny generator whose output is fixed by its seed on every platform and
/// runtime version (unlike <see cref="Random"/>, whose algorithm is not part of its
/// contract), so a seed reproduces a speech style's choices anywhere.
/// </summary>
internal sealed class SeededRandom(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    /// <summary>A seed derived from text, stable across processes (unlike <see cref="string.GetHashCode()"/>).</summary>
    public static long SeedOf(params string[] parts)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', parts)));
        return BinaryPrimitives.ReadInt64LittleEndian(hash);
    }

    public ulong NextUInt64()
    {
        unchecked
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>A double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>An integer in [0, <paramref name="count"/>).</summary>
    public int Next(int count) => (int)(NextUInt64() % (ulong)count);
}
