using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Identity.Tests;

public sealed class AccessTokenValidatorTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));
    private readonly TestIssuer _issuer;
    private readonly SigningKeyProvider _keys;
    private readonly AccessTokenValidator _validator;

    public AccessTokenValidatorTests()
    {
        _issuer = new TestIssuer(_time);
        _keys = new SigningKeyProvider(_issuer.ListAsync, timeProvider: _time);
        _validator = new AccessTokenValidator(_keys, timeProvider: _time);
    }

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _keys.Dispose();
        _issuer.Dispose();
    }

    [Fact(Timeout = 10_000)]
    public async Task ValidToken_GivesThePrincipalItNames()
    {
        var result = await _validator.ValidateAsync(_issuer.Sign("acc-7", ["player", "game_master"], "player quests.write"), Timeout);

        Assert.True(result.IsValid, result.Reason);
        var principal = result.Principal!;
        Assert.Equal("acc-7", principal.Subject);
        Assert.Equal("aria", principal.Username);
        Assert.Equal("ses-1", principal.SessionId);
        Assert.Equal(["player", "game_master"], principal.Roles);
        Assert.Equal(["player", "quests.write"], principal.Scopes);
        Assert.False(principal.IsService);
        Assert.Equal(_time.GetUtcNow().AddMinutes(5).ToUnixTimeSeconds(), principal.ExpiresAt.ToUnixTimeSeconds());
    }

    [Fact(Timeout = 10_000)]
    public async Task ExpiredToken_IsRefused_OnlyPastTheClockSkew()
    {
        var token = _issuer.Sign(lifetime: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(20));
        Assert.True((await _validator.ValidateAsync(token, Timeout)).IsValid);

        _time.Advance(TimeSpan.FromSeconds(20));
        var result = await _validator.ValidateAsync(token, Timeout);
        Assert.Equal(AccessTokenFailure.Expired, result.Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task TamperedPayload_FailsTheSignature()
    {
        var parts = _issuer.Sign(scope: "player").Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"player\"", "\"*\"", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";

        var result = await _validator.ValidateAsync(forged, Timeout);

        Assert.Equal(AccessTokenFailure.BadSignature, result.Failure);
        Assert.Null(result.Principal);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("other-game", "gamesystem-auth")]
    [InlineData("gamesystem", "someone-else")]
    public async Task WrongAudienceOrIssuer_IsRefused(string audience, string issuer)
    {
        var result = await _validator.ValidateAsync(_issuer.Sign(audience: audience, issuer: issuer), Timeout);

        Assert.Equal(AccessTokenFailure.WrongIssuerOrAudience, result.Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task AlgNone_IsRefusedBeforeAnyKeyIsRead()
    {
        var parts = _issuer.Sign(scope: "*").Split('.');
        var header = Base64UrlEncoder.Encode($"{{\"alg\":\"none\",\"kid\":\"{_issuer.CurrentKeyId}\",\"typ\":\"at+jwt\"}}");

        var unsigned = await _validator.ValidateAsync($"{header}.{parts[1]}.", Timeout);
        var keptSignature = await _validator.ValidateAsync($"{header}.{parts[1]}.{parts[2]}", Timeout);

        Assert.Equal(AccessTokenFailure.Malformed, unsigned.Failure);
        Assert.Equal(AccessTokenFailure.Malformed, keptSignature.Failure);
        Assert.Equal(0, _issuer.Fetches);
    }

    [Fact(Timeout = 10_000)]
    public async Task SymmetricAlgorithmWithThePublicKeyAsSecret_IsRefused()
    {
        var parts = _issuer.Sign().Split('.');
        var header = Base64UrlEncoder.Encode($"{{\"alg\":\"HS256\",\"kid\":\"{_issuer.CurrentKeyId}\",\"typ\":\"at+jwt\"}}");
        var list = await _issuer.ListAsync(Timeout);
        using var hmac = new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes(list.Keys[0].PublicJwk));
        var signature = Base64UrlEncoder.Encode(hmac.ComputeHash(Encoding.ASCII.GetBytes($"{header}.{parts[1]}")));

        var result = await _validator.ValidateAsync($"{header}.{parts[1]}.{signature}", Timeout);

        Assert.Equal(AccessTokenFailure.Malformed, result.Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task NotAnAccessToken_IsRefused()
    {
        var result = await _validator.ValidateAsync(_issuer.Sign(type: "JWT"), Timeout);

        Assert.Equal(AccessTokenFailure.Malformed, result.Failure);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30")]
    public async Task Garbage_IsMalformed(string token)
    {
        var result = await _validator.ValidateAsync(token, Timeout);

        Assert.Equal(AccessTokenFailure.Malformed, result.Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task RotatedKey_IsFetchedOnItsFirstToken_AndUnknownIdsAreRateLimited()
    {
        Assert.True((await _validator.ValidateAsync(_issuer.Sign(), Timeout)).IsValid);
        Assert.Equal(1, _issuer.Fetches);

        // A rotation: the new key is not in the cache yet, but recent fetches hold it back.
        var rotated = _issuer.AddKey();
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(AccessTokenFailure.BadSignature, (await _validator.ValidateAsync(_issuer.Sign(keyId: rotated), Timeout)).Failure);
        Assert.Equal(1, _issuer.Fetches);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True((await _validator.ValidateAsync(_issuer.Sign(keyId: rotated), Timeout)).IsValid);
        Assert.Equal(2, _issuer.Fetches);

        // Made-up key ids do not make a fetch each.
        var parts = _issuer.Sign().Split('.');
        for (var i = 0; i < 20; i++)
        {
            var header = Base64UrlEncoder.Encode($"{{\"alg\":\"ES256\",\"kid\":\"made-up-{i}\",\"typ\":\"at+jwt\"}}");
            var result = await _validator.ValidateAsync($"{header}.{parts[1]}.{parts[2]}", Timeout);
            Assert.Equal(AccessTokenFailure.BadSignature, result.Failure);
        }

        Assert.Equal(2, _issuer.Fetches);
    }

    [Fact(Timeout = 10_000)]
    public async Task RetiredKey_StopsVerifyingAtTheNextFetch()
    {
        var old = _issuer.CurrentKeyId;
        var token = _issuer.Sign(lifetime: TimeSpan.FromHours(1));
        Assert.True((await _validator.ValidateAsync(token, Timeout)).IsValid);

        _issuer.AddKey();
        _issuer.Published.Remove(old);
        _time.Advance(IdentityOptions.Default.KeyRefreshInterval);

        var result = await _validator.ValidateAsync(token, Timeout);
        Assert.Equal(AccessTokenFailure.BadSignature, result.Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task AVerifiedToken_IsNotVerifiedAgain_UntilItExpires()
    {
        var token = _issuer.Sign("acc-9", ["player"], "player", lifetime: TimeSpan.FromMinutes(2));
        for (var i = 0; i < 5; i++)
        {
            var result = await _validator.ValidateAsync(token, Timeout);
            Assert.True(result.IsValid, result.Reason);
            Assert.Equal("acc-9", result.Principal!.Subject);
        }

        Assert.Equal(1, _validator.SignatureChecks);
        Assert.True(_validator.TryGetVerified(("Bearer " + token).AsSpan(7), out var fast));
        Assert.Equal("acc-9", fast.Subject);
        Assert.False(_validator.TryGetVerified(_issuer.Sign("acc-9"), out _));

        // The same token with one payload character changed is another token: verified, refused.
        var parts = token.Split('.');
        var tampered = parts[0] + "." + parts[1][..^2] + (parts[1][^2] == 'A' ? "B" : "A") + parts[1][^1] + "." + parts[2];
        Assert.False((await _validator.ValidateAsync(tampered, Timeout)).IsValid);

        _time.Advance(TimeSpan.FromMinutes(3));
        Assert.False(_validator.TryGetVerified(token, out _));
        Assert.Equal(AccessTokenFailure.Expired, (await _validator.ValidateAsync(token, Timeout)).Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task WithTheCacheOff_EveryCallVerifies()
    {
        var validator = new AccessTokenValidator(_keys, IdentityOptions.Default with { VerifiedTokenCacheSize = 0 }, _time);
        var token = _issuer.Sign();
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await validator.ValidateAsync(token, Timeout)).IsValid);
        }

        Assert.Equal(3, validator.SignatureChecks);
    }

    [Fact(Timeout = 10_000)]
    public async Task AFullCache_KeepsVerifyingCorrectly()
    {
        var validator = new AccessTokenValidator(_keys, IdentityOptions.Default with { VerifiedTokenCacheSize = 4 }, _time);
        var tokens = Enumerable.Range(0, 10).Select(i => _issuer.Sign($"acc-{i}")).ToList();
        for (var round = 0; round < 2; round++)
        {
            foreach (var (token, i) in tokens.Select((t, i) => (t, i)))
            {
                var result = await validator.ValidateAsync(token, Timeout);
                Assert.True(result.IsValid, result.Reason);
                Assert.Equal($"acc-{i}", result.Principal!.Subject);
            }
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task KeysThatCannotBeFetched_AreReportedAsSuch()
    {
        using var keys = new SigningKeyProvider(_ => throw new InvalidOperationException("auth is down"), timeProvider: _time);
        var validator = new AccessTokenValidator(keys, timeProvider: _time);

        var result = await validator.ValidateAsync(_issuer.Sign(), Timeout);

        Assert.Equal(AccessTokenFailure.KeysUnavailable, result.Failure);
    }
}
