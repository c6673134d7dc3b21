namespace GameSystem.Mesh.Nats;

/// <summary>The subject scheme: <c>{prefix}.{proto package}.{Service}.{Method}</c>.</summary>
public static class MeshSubjects
{
    /// <summary>The prefix used unless configured otherwise.</summary>
    public const string DefaultPrefix = "gs";

    /// <summary>True when <paramref name="prefix"/> is one NATS subject token: not empty, no dots, wildcards or whitespace.</summary>
    public static bool IsValidPrefix(string prefix) =>
        !string.IsNullOrEmpty(prefix) && !prefix.Any(c => c is '.' or '*' or '>' || char.IsWhiteSpace(c));

    /// <summary>The subject a method is served on.</summary>
    public static string For(string prefix, MeshMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return $"{prefix}.{method.ServiceFullName}.{method.Name}";
    }

    /// <summary>The wildcard one service listens on (one token per method).</summary>
    public static string ServiceWildcard(string prefix, string serviceFullName) => $"{prefix}.{serviceFullName}.*";

    /// <summary>
    /// The subject on which clients announce the cancellation of a unary call; every
    /// instance of the service hears it, and the one running the call cancels it. It lies
    /// under the service's subjects (<c>{prefix}.{package}.{Service}.></c>), so one
    /// permission covers both, but has two more tokens, so the method wildcard misses it.
    /// </summary>
    public static string Cancel(string prefix, string serviceFullName) => $"{prefix}.{serviceFullName}._mesh.cancel";

    /// <summary>The queue group shared by the instances of a service.</summary>
    public static string QueueGroup(string serviceFullName) => serviceFullName;
}
