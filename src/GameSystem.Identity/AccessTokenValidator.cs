using System.Collections.Concurrent;
using System.Collections.Immutable;
using GameSystem.Mesh;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Identity;

/// <summary>Why an access token did not verify.</summary>
public enum AccessTokenFailure
{
    /// <summary>It verified.</summary>
    None,

    /// <summary>Not a well-formed signed JWT (including unsigned <c>alg: none</c> tokens and other algorithms than ES256).</summary>
    Malformed,

    /// <summary>The signature does not verify with any key auth publishes (tampered, or signed by a retired key).</summary>
    BadSignature,

    /// <summary>Past its <c>exp</c> (or before its <c>nbf</c>), beyond the allowed clock skew.</summary>
    Expired,

    /// <summary>Issued by someone else, or for another audience.</summary>
    WrongIssuerOrAudience,

    /// <summary>The keys could not be fetched from auth, so nothing can be verified now.</summary>
    KeysUnavailable,
}

/// <summary>The outcome of verifying a token: a principal, or why not.</summary>
/// <param name="Principal">The verified caller; null when <paramref name="Failure"/> is not <see cref="AccessTokenFailure.None"/>.</param>
/// <param name="Failure">Why it did not verify.</param>
/// <param name="Reason">A message for the caller (never the token itself).</param>
public readonly record struct AccessTokenValidation(MeshPrincipal? Principal, AccessTokenFailure Failure, string Reason)
{
    /// <summary>True when the token verified.</summary>
    public bool IsValid => Failure == AccessTokenFailure.None;

    internal static AccessTokenValidation Fail(AccessTokenFailure failure, string reason) => new(null, failure, reason);
}

/// <summary>
/// Verifies auth's access tokens locally: ES256 signature by a published key, <c>typ</c>
/// <c>at+jwt</c>, issuer, audience, and lifetime, with Microsoft.IdentityModel's JWT handler.
/// It does not ask auth whether the session was revoked: a revoked session's tokens verify
/// here until they expire (minutes); auth's Validate answers revocation at once.
/// </summary>
public sealed class AccessTokenValidator
{
    private const string Algorithm = SecurityAlgorithms.EcdsaSha256;
    private readonly SigningKeyProvider _keys;
    private readonly IdentityOptions _options;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    // Tokens verified before, by their exact text: a caller sends the same token for minutes.
    private readonly ConcurrentDictionary<string, Verified> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Verified>.AlternateLookup<ReadOnlySpan<char>> _verifiedBySpan;
    private long _signatureChecks;

    /// <summary>Signatures checked so far (tests see the cache work through it).</summary>
    internal long SignatureChecks => Interlocked.Read(ref _signatureChecks);

    /// <summary>Creates a validator over the keys of <paramref name="keys"/>.</summary>
    public AccessTokenValidator(SigningKeyProvider keys, IdentityOptions? options = null, TimeProvider? timeProvider = null)
    {
        _keys = keys ?? throw new ArgumentNullException(nameof(keys));
        _options = options ?? IdentityOptions.Default;
        _time = timeProvider ?? TimeProvider.System;
        _verifiedBySpan = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// The principal of <paramref name="token"/> when it was verified before, is still within its
    /// lifetime and its key is still among the fresh keys held: no signature check, no string, no
    /// await. False when only <see cref="ValidateAsync"/> can say.
    /// </summary>
    public bool TryGetVerified(ReadOnlySpan<char> token, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MeshPrincipal? principal)
    {
        principal = null;
        if (!_verifiedBySpan.TryGetValue(token, out var known)
            || !_keys.TryFindHeld(known.KeyId, out var key) || !ReferenceEquals(key, known.Key)
            || Expired(known.ValidFrom, known.ValidTo) is not null)
        {
            return false;
        }

        principal = known.Principal;
        return true;
    }

    /// <summary>Verifies <paramref name="token"/> (without the <c>Bearer </c> prefix).</summary>
    public async ValueTask<AccessTokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0 || token.Length > _options.MaxTokenBytes)
        {
            return AccessTokenValidation.Fail(AccessTokenFailure.Malformed, token.Length == 0 ? "the access token is empty" : $"the access token is longer than {_options.MaxTokenBytes} bytes");
        }

        if (TryGetVerified(token, out var verified))
        {
            return new AccessTokenValidation(verified, AccessTokenFailure.None, string.Empty);
        }

        // Not verified before, or no longer servable from the cache (expired, its key retired,
        // or the keys held are due a refresh): verified in full, and remembered again if valid.
        _verified.TryRemove(token, out _);

        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException)
        {
            return AccessTokenValidation.Fail(AccessTokenFailure.Malformed, "the access token is not a well-formed JWT");
        }

        // Only what auth signs is accepted: a token that names another algorithm (none, HS256
        // with the public key as secret, …) is refused before any key is looked at.
        if (jwt.Alg != Algorithm || string.IsNullOrEmpty(jwt.Kid) || jwt.IsEncrypted)
        {
            return AccessTokenValidation.Fail(AccessTokenFailure.Malformed, $"the access token must be signed with {Algorithm} and name its key (kid)");
        }

        SecurityKey? key;
        try
        {
            key = await _keys.FindAsync(jwt.Kid, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return AccessTokenValidation.Fail(AccessTokenFailure.KeysUnavailable, "auth's signing keys could not be fetched; retry");
        }

        if (key is null)
        {
            return AccessTokenValidation.Fail(AccessTokenFailure.BadSignature, "the access token is signed by a key auth does not publish (retired or unknown)");
        }

        Interlocked.Increment(ref _signatureChecks);
        var result = await _handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [Algorithm],
            ValidTypes = ["at+jwt"],
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            RequireSignedTokens = true,
            RequireExpirationTime = true,

            // Lifetime is checked below against the injected clock.
            ValidateLifetime = false,
            TryAllIssuerSigningKeys = false,
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return result.Exception switch
            {
                SecurityTokenInvalidIssuerException or SecurityTokenInvalidAudienceException =>
                    AccessTokenValidation.Fail(AccessTokenFailure.WrongIssuerOrAudience, $"the access token is not issued by {_options.Issuer} for {_options.Audience}"),
                SecurityTokenInvalidTypeException =>
                    AccessTokenValidation.Fail(AccessTokenFailure.Malformed, "the token is not an access token (typ at+jwt)"),
                _ => AccessTokenValidation.Fail(AccessTokenFailure.BadSignature, "the access token's signature does not verify"),
            };
        }

        if (Expired(jwt.ValidFrom, jwt.ValidTo) is { } expired)
        {
            return expired;
        }

        if (string.IsNullOrEmpty(jwt.Subject))
        {
            return AccessTokenValidation.Fail(AccessTokenFailure.Malformed, "the access token names no subject");
        }

        var principal = new MeshPrincipal(
            jwt.Subject,
            Claim(jwt, "preferred_username"),
            Claim(jwt, "sid"),
            [.. jwt.Claims.Where(c => c.Type == "roles").Select(c => c.Value)],
            Claim(jwt, "scope") is { } scope ? [.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)] : ImmutableArray<string>.Empty,
            jwt.Id,
            new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
        Remember(token, new Verified(principal, jwt.Kid, key, jwt.ValidFrom, jwt.ValidTo));
        return new AccessTokenValidation(principal, AccessTokenFailure.None, string.Empty);
    }

    private AccessTokenValidation? Expired(DateTime validFrom, DateTime validTo)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return validTo == DateTime.MinValue || now > validTo + _options.ClockSkew || (validFrom != DateTime.MinValue && now < validFrom - _options.ClockSkew)
            ? AccessTokenValidation.Fail(AccessTokenFailure.Expired, "the access token has expired; refresh it")
            : null;
    }

    private void Remember(string token, Verified verified)
    {
        if (_options.VerifiedTokenCacheSize <= 0)
        {
            return;
        }

        if (_verified.Count >= _options.VerifiedTokenCacheSize)
        {
            // Full: forget what has expired; if that frees too little, start over (the next
            // call of each caller verifies its token once more).
            var now = _time.GetUtcNow().UtcDateTime;
            foreach (var (held, entry) in _verified)
            {
                if (now > entry.ValidTo + _options.ClockSkew)
                {
                    _verified.TryRemove(held, out _);
                }
            }

            if (_verified.Count >= _options.VerifiedTokenCacheSize * 3 / 4)
            {
                _verified.Clear();
            }
        }

        _verified[token] = verified;
    }

    private sealed record Verified(MeshPrincipal Principal, string KeyId, SecurityKey Key, DateTime ValidFrom, DateTime ValidTo);

    private static string? Claim(JsonWebToken jwt, string name) =>
        jwt.TryGetPayloadValue<string>(name, out var value) && value.Length > 0 ? value : null;
}
