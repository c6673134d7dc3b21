using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using GameSystem.Router.V1;

namespace GameSystem.Routing;

/// <summary>
/// Chooses a route's backend by weight: for a split key, by weighted rendezvous hashing
/// (each backend scores the key, <c>-weight / ln(u)</c> with <c>u</c> uniform in (0, 1) from
/// SHA-256 of the backend id and the key; the highest score wins); without one, at random.
/// </summary>
/// <remarks>
/// What the sticky choice guarantees, over the eligible backends (not disabled, weight &gt; 0):
/// <list type="number">
/// <item>Deterministic: the same key and the same backend ids and weights give the same backend on
/// every instance and after every restart; the order of the backends in the route does not matter.</item>
/// <item>Proportional: a key lands on a backend with probability weight / (sum of eligible weights).</item>
/// <item>Monotone: after any weight change a key moves from X to Y only if X's weight went down
/// (or X was disabled) or Y's went up (or Y was enabled). Keys never move between two backends
/// whose weights both stayed the same, and disabling one backend moves only its own keys.</item>
/// <item>Minimal for one change: when one backend's share changes from p to q and the others keep
/// their relative weights (any two-backend cut-over step, e.g. NATS 10 % → 20 %), exactly the keys
/// in |q - p| move, all to or from that backend. When several backends change at once, keys
/// still move only to or from changed backends, but more than the net change may move.</item>
/// </list>
/// The hash does not include the route: routes with the same backend ids and weights send a
/// given player to the same side, so a feature cut over route by route stays consistent for them.
/// </remarks>
public static class BackendPicker
{
    /// <summary>The eligible backend <paramref name="splitKey"/> lands on; null when none is eligible.</summary>
    public static Backend? Sticky(IReadOnlyList<Backend> backends, string splitKey)
    {
        Backend? best = null;
        var bestScore = double.NegativeInfinity;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        foreach (var backend in backends)
        {
            if (!IsEligible(backend))
            {
                continue;
            }

            var score = backend.Weight / -Math.Log(Uniform(backend.BackendId, splitKey, digest));
            if (score > bestScore || (score == bestScore && string.CompareOrdinal(backend.BackendId, best!.BackendId) < 0))
            {
                best = backend;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>An eligible backend drawn at random by weight; null when none is eligible.</summary>
    public static Backend? Random(IReadOnlyList<Backend> backends, Random random)
    {
        long total = 0;
        foreach (var backend in backends)
        {
            total += IsEligible(backend) ? backend.Weight : 0;
        }

        if (total == 0)
        {
            return null;
        }

        var draw = random.NextInt64(total);
        foreach (var backend in backends)
        {
            if (IsEligible(backend))
            {
                draw -= backend.Weight;
                if (draw < 0)
                {
                    return backend;
                }
            }
        }

        throw new InvalidOperationException("The weighted draw ran past the last backend.");
    }

    /// <summary>True when the backend can get traffic.</summary>
    public static bool IsEligible(Backend backend) => !backend.Disabled && backend.Weight > 0;

    /// <summary>A number in (0, 1) fixed by the backend id and the key.</summary>
    private static double Uniform(string backendId, string splitKey, Span<byte> digest)
    {
        var input = Encoding.UTF8.GetBytes(backendId + "\n" + splitKey);
        SHA256.HashData(input, digest);

        // 53 random bits, centred in their interval so neither 0 nor 1 can come out.
        var bits = BinaryPrimitives.ReadUInt64BigEndian(digest) >> 11;
        return (bits + 0.5) / (1UL << 53);
    }
}
