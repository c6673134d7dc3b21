using GameSystem.Auth.V1;
using GameSystem.Services.Auth.Internal;
using Grpc.Core;

namespace GameSystem.Services.Auth;

public sealed partial class AuthService
{
    /// <inheritdoc/>
    /// <remarks>
    /// Signature (a key still accepted), issuer, audience, type and expiry first, then the
    /// store: the account active, the session not revoked or ended. So a revocation or a
    /// disabled account takes effect for Validate at once; services validating locally with
    /// ListSigningKeys see it when the token expires.
    /// </remarks>
    public async ValueTask<ValidateResponse> ValidateAsync(ValidateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.AccessToken.Length > 0, "access_token", "is required: the access token as received, without 'Bearer '.");
        Errors.Require(request.AccessToken.Length <= 16 * 1024, "access_token", $"is {request.AccessToken.Length} characters; an access token of auth is far shorter.");
        for (var i = 0; i < request.RequiredScopes.Count; i++)
        {
            Errors.Require(AccountRules.IsValidScope(request.RequiredScopes[i]), $"required_scopes[{i}]", $"'{request.RequiredScopes[i]}' is not a scope: dotted lower-case words, optionally ending in .* (or * alone).");
        }

        var cancellationToken = context.CancellationToken;
        var (reason, principal) = await _tokens.CheckAsync(request.AccessToken, cancellationToken).ConfigureAwait(false);
        if (reason != InvalidTokenReason.Unspecified)
        {
            return new ValidateResponse { Reason = reason };
        }

        var read = await _store.GetManyAsync([StoreKeys.Session(principal!.SessionId), StoreKeys.Account(principal.AccountId)], cancellationToken).ConfigureAwait(false);
        var account = read[1] is { } accountEntry ? AccountRecord.Parser.ParseFrom(accountEntry.Value.Span).Account : null;
        if (account is null || account.State != AccountState.Active)
        {
            return new ValidateResponse { Reason = InvalidTokenReason.AccountDisabled };
        }

        var session = read[0] is { } sessionEntry ? SessionRecord.Parser.ParseFrom(sessionEntry.Value.Span).Session : null;
        if (session is null || session.AccountId != principal.AccountId || session.RevokeTime is not null || session.ExpireTime.ToDateTimeOffset() <= UtcNow)
        {
            return new ValidateResponse { Reason = InvalidTokenReason.Revoked };
        }

        var response = new ValidateResponse { Principal = principal };
        response.MissingScopes.AddRange(request.RequiredScopes.Where(s => !AccountRules.Covers(principal.Scopes, s)));
        response.Valid = response.MissingScopes.Count == 0;
        response.Reason = response.Valid ? InvalidTokenReason.Unspecified : InvalidTokenReason.InsufficientScope;
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<ListSigningKeysResponse> ListSigningKeysAsync(ListSigningKeysRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var keys = await _keys.AcceptedAsync(wantedKeyId: null, context.CancellationToken).ConfigureAwait(false);
        var response = new ListSigningKeysResponse();
        foreach (var key in keys)
        {
            response.Keys.Add(new SigningKey
            {
                KeyId = key.Record.KeyId,
                Algorithm = key.Record.Algorithm,
                PublicJwk = SigningKeyRing.PublicJwk(key.Record),
                ActivateTime = key.Record.ActivateTime,
                RetireTime = key.Record.RetireTime,
            });
        }

        return response;
    }
}
