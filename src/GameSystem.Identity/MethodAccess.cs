using GameSystem.Mesh;
using GameSystem.Mesh.Contracts.V1;
using Grpc.Core;

namespace GameSystem.Identity;

/// <summary>
/// What <see cref="MethodAccess.CheckAsync"/> decided for one call: the verified caller (when a
/// token was sent and verified) and, when refused, the status and the message to answer.
/// </summary>
/// <param name="Principal">The caller whose token verified; null when none was sent or it did not verify.</param>
/// <param name="Refusal"><see cref="StatusCode.OK"/> when the call may go on; else UNAUTHENTICATED, PERMISSION_DENIED or UNAVAILABLE (auth's keys could not be fetched).</param>
/// <param name="Message">Why it was refused, for the caller; empty when allowed.</param>
/// <param name="MissingScope">The first required scope the token lacks, when that is why.</param>
/// <param name="TokenRejected">True when a token was sent and did not verify (malformed, tampered, expired, foreign).</param>
public readonly record struct AccessDecision(MeshPrincipal? Principal, StatusCode Refusal, string Message, string? MissingScope, bool TokenRejected)
{
    /// <summary>True when the call may go on.</summary>
    public bool IsAllowed => Refusal == StatusCode.OK;
}

/// <summary>
/// The one implementation of a contract's access rule, used by the servers' interceptor and by
/// the gateway alike: verifies the <c>Bearer</c> token (from the validator's cache when it was
/// verified before: no await), then checks <c>access</c> (public, authenticated, internal to
/// services) and <c>required_scopes</c>.
/// </summary>
public static class MethodAccess
{
    /// <summary>The scheme an <c>authorization</c> value must start with.</summary>
    public const string BearerPrefix = "Bearer ";

    /// <summary>Decides whether a call of <paramref name="method"/> carrying <paramref name="authorization"/> (the whole header value, or null) may go on.</summary>
    public static ValueTask<AccessDecision> CheckAsync(AccessTokenValidator validator, MeshMethod method, string? authorization, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(method);
        if (authorization is null)
        {
            return ValueTask.FromResult(Decide(method, null));
        }

        if (!authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return ValueTask.FromResult(new AccessDecision(null, StatusCode.Unauthenticated, "The authorization metadata must be 'Bearer <access token>'.", null, true));
        }

        var token = authorization.AsSpan(BearerPrefix.Length).Trim();
        return validator.TryGetVerified(token, out var principal)
            ? ValueTask.FromResult(Decide(method, principal))
            : VerifyAsync(validator, method, token.ToString(), cancellationToken);
    }

    private static async ValueTask<AccessDecision> VerifyAsync(AccessTokenValidator validator, MeshMethod method, string token, CancellationToken cancellationToken)
    {
        var validation = await validator.ValidateAsync(token, cancellationToken).ConfigureAwait(false);

        // A caller with a bad token is told so, even on a public method: it meant to be someone.
        return validation.IsValid
            ? Decide(method, validation.Principal!)
            : new AccessDecision(
                null,
                validation.Failure == AccessTokenFailure.KeysUnavailable ? StatusCode.Unavailable : StatusCode.Unauthenticated,
                $"Access token rejected: {validation.Reason}.",
                null,
                validation.Failure != AccessTokenFailure.KeysUnavailable);
    }

    private static AccessDecision Decide(MeshMethod method, MeshPrincipal? principal)
    {
        switch (method.Access)
        {
            case MeshAccess.Public:
                break;
            case MeshAccess.Internal when principal is { IsService: false }:
                return Refuse(principal, StatusCode.PermissionDenied, $"{method.Name} is internal: only services may call it, and '{principal.Subject}' is not a service account.");
            default:
                if (principal is null)
                {
                    return Refuse(null, StatusCode.Unauthenticated, $"{method.Name} needs an access token: send 'authorization: Bearer <token>' metadata (auth's Login issues one).");
                }

                break;
        }

        if (method.RequiredScopes.IsEmpty)
        {
            return new AccessDecision(principal, StatusCode.OK, "", null, false);
        }

        if (principal is null)
        {
            return new AccessDecision(null, StatusCode.Unauthenticated, $"{method.Name} needs an access token with scope '{method.RequiredScopes[0]}'.", method.RequiredScopes[0], false);
        }

        return principal.FirstMissingScope(method.RequiredScopes) is { } missing
            ? new AccessDecision(principal, StatusCode.PermissionDenied, $"{method.Name} requires scope '{missing}', which the token of '{principal.Subject}' does not hold.", missing, false)
            : new AccessDecision(principal, StatusCode.OK, "", null, false);
    }

    private static AccessDecision Refuse(MeshPrincipal? principal, StatusCode code, string message) => new(principal, code, message, null, false);
}
