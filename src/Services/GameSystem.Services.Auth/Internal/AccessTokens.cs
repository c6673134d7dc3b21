using GameSystem.Auth.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Services.Auth.Internal;

/// <summary>What goes into an access token.</summary>
internal sealed record TokenSubject(string AccountId, string Username, string SessionId, IReadOnlyList<string> Roles, IReadOnlyList<string> Scopes);

/// <summary>A signed access token and when it expires.</summary>
internal sealed record IssuedToken(string Token, string TokenId, DateTimeOffset ExpireTime);

/// <summary>
/// ES256 access tokens (RFC 9068 JWT profile): header <c>alg</c> ES256, <c>kid</c>, <c>typ</c>
/// <c>at+jwt</c>; claims <c>iss</c>, <c>aud</c>, <c>sub</c>, <c>sid</c>, <c>jti</c>, <c>iat</c>,
/// <c>nbf</c>, <c>exp</c>, <c>preferred_username</c>, <c>roles</c> (array) and <c>scope</c>
/// (space-separated). The gateway and the runtime's identity interceptor verify them with the
/// keys of ListSigningKeys; <see cref="CheckAsync"/> is the signature, issuer, audience, type
/// and lifetime part of Validate.
/// </summary>
internal sealed class AccessTokens(SigningKeyRing keys, TimeProvider time, string issuer, string audience, TimeSpan lifetime)
{
    public const string TokenType = "at+jwt";

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public TimeSpan Lifetime => lifetime;

    public async ValueTask<IssuedToken> IssueAsync(TokenSubject subject, CancellationToken cancellationToken)
    {
        var key = await keys.CurrentAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        // JWT times are whole seconds: the expiry reported is the one the token carries.
        var issued = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var expires = issued + lifetime;
        var tokenId = Guid.CreateVersion7(now).ToString();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = issued.UtcDateTime,
            NotBefore = issued.UtcDateTime,
            Expires = expires.UtcDateTime,
            TokenType = TokenType,
            SigningCredentials = new SigningCredentials(key.SecurityKey, SigningKeyRing.Algorithm),
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                [JwtRegisteredClaimNames.Sub] = subject.AccountId,
                [JwtRegisteredClaimNames.Sid] = subject.SessionId,
                [JwtRegisteredClaimNames.Jti] = tokenId,
                [JwtRegisteredClaimNames.PreferredUsername] = subject.Username,
                ["roles"] = subject.Roles.ToList(),
                ["scope"] = string.Join(' ', subject.Scopes),
            },
        };
        return new IssuedToken(_handler.CreateToken(descriptor), tokenId, expires);
    }

    /// <summary>The reason <paramref name="token"/> fails (UNSPECIFIED when signature, issuer, audience, type and lifetime hold) and, when it holds, its principal.</summary>
    public async ValueTask<(InvalidTokenReason Reason, Principal? Principal)> CheckAsync(string token, CancellationToken cancellationToken)
    {
        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return (InvalidTokenReason.Malformed, null);
        }

        var accepted = await keys.AcceptedAsync(jwt.Kid is { Length: > 0 } kid ? kid : null, cancellationToken).ConfigureAwait(false);
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = audience,
            ValidTypes = [TokenType],
            ValidAlgorithms = [SigningKeyRing.Algorithm],
            IssuerSigningKeys = accepted.Select(k => (SecurityKey)k.SecurityKey).ToList(),
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            // Lifetime is checked below against the service's clock (TimeProvider), not the machine's.
            ValidateLifetime = false,
            TryAllIssuerSigningKeys = false,
        };
        var result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (result.Exception switch
            {
                SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException or SecurityTokenInvalidAlgorithmException => InvalidTokenReason.BadSignature,
                _ => InvalidTokenReason.Malformed,
            }, null);
        }

        var now = time.GetUtcNow();
        if (!jwt.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Exp, out var exp)
            || !jwt.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Iat, out var iat)
            || !jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Sub, out var sub)
            || !jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Sid, out var sid)
            || !jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Jti, out var jti))
        {
            return (InvalidTokenReason.Malformed, null);
        }

        var principal = new Principal
        {
            AccountId = sub,
            SessionId = sid,
            TokenId = jti,
            Username = jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.PreferredUsername, out var username) ? username : "",
            IssueTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(iat)),
            ExpireTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(exp)),
        };
        principal.Roles.AddRange(jwt.Claims.Where(c => c.Type == "roles").Select(c => c.Value));
        if (jwt.TryGetPayloadValue<string>("scope", out var scope))
        {
            principal.Scopes.AddRange(scope.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        if (DateTimeOffset.FromUnixTimeSeconds(exp) <= now)
        {
            return (InvalidTokenReason.Expired, null);
        }

        if (jwt.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Nbf, out var nbf) && DateTimeOffset.FromUnixTimeSeconds(nbf) > now + SigningKeyRing.Skew)
        {
            return (InvalidTokenReason.Malformed, null);
        }

        return (InvalidTokenReason.Unspecified, principal);
    }
}
