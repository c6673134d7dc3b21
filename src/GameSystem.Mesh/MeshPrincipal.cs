using System.Collections.Immutable;
using Grpc.Core;

namespace GameSystem.Mesh;

/// <summary>
/// The verified identity of a caller: what the runtime's identity interceptor read from an
/// access token whose signature, issuer, audience and lifetime it checked itself. Handlers
/// read it with <see cref="MeshPrincipalExtensions.GetPrincipal"/>; nothing else a caller
/// sends (an "actor" header, a player id in a request) is an identity.
/// </summary>
/// <param name="Subject">The account id (<c>sub</c>), e.g. <c>acc-…</c>, or <c>svc-time-manager</c> for a service.</param>
/// <param name="Username">The account's username, when the token names it.</param>
/// <param name="SessionId">The auth session the token belongs to (<c>sid</c>).</param>
/// <param name="Roles">Roles held when the token was issued.</param>
/// <param name="Scopes">Scopes granted to the token.</param>
/// <param name="TokenId">The token's unique id (<c>jti</c>), for audit logs.</param>
/// <param name="ExpiresAt">When the token stops being valid.</param>
public sealed record MeshPrincipal(
    string Subject,
    string? Username,
    string? SessionId,
    ImmutableArray<string> Roles,
    ImmutableArray<string> Scopes,
    string TokenId,
    DateTimeOffset ExpiresAt)
{
    /// <summary>The role that marks a service account, which only auth's IssueServiceToken grants.</summary>
    public const string ServiceRole = "service";

    /// <summary>True for a service account (role <see cref="ServiceRole"/>): another service calling.</summary>
    public bool IsService => Roles.Contains(ServiceRole, StringComparer.Ordinal);

    /// <summary>True when one of <see cref="Scopes"/> grants <paramref name="scope"/> (see <see cref="Grants"/>).</summary>
    public bool HasScope(string scope)
    {
        foreach (var granted in Scopes)
        {
            if (Grants(granted, scope))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The first of <paramref name="required"/> this principal lacks, or null when it holds them all.</summary>
    public string? FirstMissingScope(IEnumerable<string> required)
    {
        ArgumentNullException.ThrowIfNull(required);
        foreach (var scope in required)
        {
            if (!HasScope(scope))
            {
                return scope;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a granted scope covers a required one: equal, <c>*</c> (every scope), or a
    /// dotted prefix ending in <c>.*</c> (<c>payment.*</c> covers <c>payment.read</c> and
    /// <c>payment.admin.refund</c>, not <c>payments.read</c> or <c>payment</c>).
    /// </summary>
    public static bool Grants(string granted, string required)
    {
        ArgumentNullException.ThrowIfNull(granted);
        ArgumentNullException.ThrowIfNull(required);
        if (granted == "*" || string.Equals(granted, required, StringComparison.Ordinal))
        {
            return true;
        }

        return granted.EndsWith(".*", StringComparison.Ordinal)
            && required.Length > granted.Length - 1
            && required.StartsWith(granted.AsSpan(0, granted.Length - 1), StringComparison.Ordinal);
    }
}

/// <summary>Reads and records the verified caller of a call on its <see cref="ServerCallContext"/>.</summary>
public static class MeshPrincipalExtensions
{
    private static readonly object Key = new();

    /// <summary>
    /// The caller the runtime verified, or null when the call carried no token (a public
    /// method, or a server run without the identity interceptor).
    /// </summary>
    public static MeshPrincipal? GetPrincipal(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(Key, out var principal) ? (MeshPrincipal)principal : null;
    }

    /// <summary>
    /// Records the verified caller. Only the identity interceptor calls this, after checking
    /// the token: a principal set from anything unverified is a forged identity.
    /// </summary>
    public static void SetVerifiedPrincipal(this ServerCallContext context, MeshPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(principal);
        context.UserState[Key] = principal;
    }
}
