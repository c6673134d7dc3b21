using System.Collections.Immutable;
using GameSystem.Mesh;

namespace GameSystem.Cli.Internal;

/// <summary>
/// The services gs knows: the generated catalog of GameSystem.Contracts, never a list kept
/// here. Finds a service or rpc by the name a user types, and suggests the closest names.
/// </summary>
internal sealed class ServiceDirectory(ImmutableArray<MeshServiceInfo> services)
{
    public static ServiceDirectory Contracts { get; } =
        new(MeshCatalog.FromAssemblies([typeof(GameSystem.Common.V1.TypedValue).Assembly]));

    public ImmutableArray<MeshServiceInfo> Services { get; } = services;

    /// <summary>The mesh name in any case, with or without dashes (<c>time-manager</c>, <c>TimeManager</c>), or the proto full name.</summary>
    public MeshServiceInfo FindService(string name)
    {
        var key = Key(name);
        var found = Services.FirstOrDefault(s => Key(s.Name) == key || s.FullName.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (found is not null)
        {
            return found;
        }

        var close = Closest(name, Services.Select(s => s.Name));
        throw new UsageException(close.IsEmpty
            ? $"unknown service '{name}'; the services are: {string.Join(", ", Services.Select(s => s.Name))}."
            : $"unknown service '{name}'; did you mean {string.Join(" or ", close)}?");
    }

    /// <summary>The rpc name in any case, with or without dashes: <c>CreateClock</c>, <c>create-clock</c>.</summary>
    public static MeshMethod FindMethod(MeshServiceInfo service, string name)
    {
        var key = Key(name);
        var found = service.Methods.FirstOrDefault(m => Key(m.Name) == key);
        if (found is not null)
        {
            return found;
        }

        var close = Closest(name, service.Methods.Select(m => m.Name));
        throw new UsageException(close.IsEmpty
            ? $"{service.Name} has no method '{name}'; its methods are: {string.Join(", ", service.Methods.Select(m => m.Name))}."
            : $"{service.Name} has no method '{name}'; did you mean {string.Join(" or ", close)}?");
    }

    /// <summary>Names within a few edits of <paramref name="typed"/>, or containing it, best first.</summary>
    private static ImmutableArray<string> Closest(string typed, IEnumerable<string> names)
    {
        var key = Key(typed);
        return [.. names
            .Select(n => (Name: n, Distance: Distance(key, Key(n)), Contains: key.Length >= 3 && Key(n).Contains(key, StringComparison.Ordinal)))
            .Where(c => c.Distance <= Math.Max(2, key.Length / 3) || c.Contains)
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(3)
            .Select(c => c.Name)];
    }

    private static string Key(string name) =>
        string.Concat(name.Where(char.IsAsciiLetterOrDigit)).ToLowerInvariant();

    // Levenshtein distance over two short names.
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
