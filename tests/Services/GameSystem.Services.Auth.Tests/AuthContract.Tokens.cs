using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using GameSystem.Auth.V1;
using GameSystem.Identity;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Services.Auth.Tests;

public abstract partial class AuthContract
{
    private static JsonElement Part(string token, int index) =>
        JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[index])).RootElement;

    private static string WithPart(string token, int index, string json)
    {
        var parts = token.Split('.');
        parts[index] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        return string.Join('.', parts);
    }

    // ---- Token format and ListSigningKeys ----

    [Fact(Timeout = 30_000)]
    public async Task AccessToken_IsAnES256AtJwt_WithTheDocumentedClaims_VerifiableWithThePublishedJwk()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);
        var key = Assert.Single((await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout)).Keys);

        var header = Part(tokens.AccessToken, 0);
        var payload = Part(tokens.AccessToken, 1);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();

        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        Assert.Equal(key.KeyId, header.GetProperty("kid").GetString());
        Assert.Equal("at+jwt", header.GetProperty("typ").GetString());
        Assert.Equal("gamesystem-auth", payload.GetProperty("iss").GetString());
        Assert.Equal("gamesystem", payload.GetProperty("aud").GetString());
        Assert.Equal(account.AccountId, payload.GetProperty("sub").GetString());
        Assert.Equal(tokens.SessionId, payload.GetProperty("sid").GetString());
        Assert.False(string.IsNullOrEmpty(payload.GetProperty("jti").GetString()));
        Assert.Equal(now, payload.GetProperty("iat").GetInt64());
        Assert.Equal(now, payload.GetProperty("nbf").GetInt64());
        Assert.Equal(now + 300, payload.GetProperty("exp").GetInt64());
        Assert.Equal(account.Username, payload.GetProperty("preferred_username").GetString());
        Assert.Equal(JsonValueKind.Array, payload.GetProperty("roles").ValueKind);
        Assert.Equal(["player"], payload.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("player", payload.GetProperty("scope").GetString());

        var verified = await new JsonWebTokenHandler().ValidateTokenAsync(tokens.AccessToken, new TokenValidationParameters
        {
            IssuerSigningKey = new JsonWebKey(key.PublicJwk),
            ValidIssuer = "gamesystem-auth",
            ValidAudience = "gamesystem",
            ValidateLifetime = false,
        });
        Assert.True(verified.IsValid, verified.Exception?.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListSigningKeys_PublishesOnlyThePublicHalf_AsAnEcJwk()
    {
        await using var mesh = await StartAsync();

        var key = Assert.Single((await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout)).Keys);
        var jwk = JsonDocument.Parse(key.PublicJwk).RootElement;

        Assert.Equal(["kty", "crv", "x", "y", "kid", "alg", "use"], jwk.EnumerateObject().Select(p => p.Name));
        Assert.Equal("EC", jwk.GetProperty("kty").GetString());
        Assert.Equal("P-256", jwk.GetProperty("crv").GetString());
        Assert.Equal(32, Base64Url.DecodeFromChars(jwk.GetProperty("x").GetString()).Length);
        Assert.Equal(32, Base64Url.DecodeFromChars(jwk.GetProperty("y").GetString()).Length);
        Assert.Equal(key.KeyId, jwk.GetProperty("kid").GetString());
        Assert.Equal("ES256", jwk.GetProperty("alg").GetString());
        Assert.Equal("sig", jwk.GetProperty("use").GetString());
        Assert.Equal("ES256", key.Algorithm);
        Assert.Null(key.RetireTime);
    }

    [Fact(Timeout = 30_000)]
    public async Task SigningKey_FirstStartOfTwoInstances_MakesOneKey()
    {
        var store = await CreateStoreAsync();
        var options = AuthHarness.TestOptions();
        await using var first = await AuthHarness.StartAsync(nats, store, _time, options);
        await using var second = await AuthHarness.StartAsync(nats, store, _time, options);

        var keys = await Task.WhenAll(
            Enumerable.Range(0, 6).Select(i => (i % 2 == 0 ? first : second).Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout).AsTask()));

        Assert.Single(keys.SelectMany(k => k.Keys).Select(k => k.KeyId).Distinct());
    }

    [Fact(Timeout = 30_000)]
    public async Task SigningKey_StoredUnderAnotherKeyEncryptionKey_IsRefusedWithAClearMessage()
    {
        var store = await CreateStoreAsync();
        await using (var first = await AuthHarness.StartAsync(nats, store, _time, AuthHarness.TestOptions()))
        {
            await first.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => AuthHarness.StartAsync(nats, store, _time, AuthHarness.TestOptions()));

        Assert.Contains("GameSystem:Auth:KeyEncryptionKey", error.Message, StringComparison.Ordinal);
    }

    // ---- Validate ----

    [Fact(Timeout = 30_000)]
    public async Task Validate_AFreshToken_IsValid_WithItsPrincipal()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);

        var response = await ValidateAsync(mesh, tokens.AccessToken, AuthHarness.Bearer(tokens.AccessToken), "player");

        Assert.True(response.Valid);
        Assert.Equal(InvalidTokenReason.Unspecified, response.Reason);
        Assert.Equal(account.AccountId, response.Principal.AccountId);
        Assert.Equal(account.Username, response.Principal.Username);
        Assert.Equal(tokens.SessionId, response.Principal.SessionId);
        Assert.Equal(["player"], response.Principal.Roles);
        Assert.Equal(["player"], response.Principal.Scopes);
        Assert.Equal(tokens.AccessTokenExpireTime, response.Principal.ExpireTime);
        Assert.False(string.IsNullOrEmpty(response.Principal.TokenId));
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_WithoutARequiredScope_IsInsufficientScope_NamingIt_WithThePrincipal()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);

        var response = await ValidateAsync(mesh, tokens.AccessToken, AuthHarness.Bearer(tokens.AccessToken), "player", "payment.admin");

        Assert.False(response.Valid);
        Assert.Equal(InvalidTokenReason.InsufficientScope, response.Reason);
        Assert.Equal(["payment.admin"], response.MissingScopes);
        Assert.Equal(account.AccountId, response.Principal.AccountId);
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_AnExpiredToken_IsExpired()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        _time.Advance(TimeSpan.FromMinutes(5));
        var admin = await AdminAsync(mesh);

        var response = await ValidateAsync(mesh, tokens.AccessToken, admin);

        Assert.Equal(InvalidTokenReason.Expired, response.Reason);
        Assert.Null(response.Principal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_ATamperedPayload_IsBadSignature()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        var payload = Part(tokens.AccessToken, 1).GetRawText().Replace("\"player\"", "\"*\"", StringComparison.Ordinal);

        var response = await ValidateAsync(mesh, WithPart(tokens.AccessToken, 1, payload), AuthHarness.Bearer(tokens.AccessToken), "*");

        Assert.False(response.Valid);
        Assert.Equal(InvalidTokenReason.BadSignature, response.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_AnUnsignedAlgNoneToken_IsRejected()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        var parts = WithPart(tokens.AccessToken, 0, "{\"alg\":\"none\",\"typ\":\"at+jwt\"}").Split('.');
        var unsigned = parts[0] + "." + parts[1] + ".";

        var response = await ValidateAsync(mesh, unsigned, AuthHarness.Bearer(tokens.AccessToken));

        Assert.False(response.Valid);
        Assert.Contains(response.Reason, new[] { InvalidTokenReason.Malformed, InvalidTokenReason.BadSignature });
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_ATokenForAnotherAudience_IsRejected()
    {
        var store = await CreateStoreAsync();
        var options = AuthHarness.TestOptions();
        await using var mesh = await AuthHarness.StartAsync(nats, store, _time, options);
        await using var elsewhere = await AuthHarness.StartAsync(nats, store, _time, options with { Audience = "another-mesh" });
        var account = await RegisterAsync(mesh);
        var foreign = (await LoginAsync(elsewhere, account.Username)).Tokens;
        var (_, tokens) = await PlayerAsync(mesh);

        var response = await ValidateAsync(mesh, foreign.AccessToken, AuthHarness.Bearer(tokens.AccessToken));

        Assert.False(response.Valid);
        Assert.Equal(InvalidTokenReason.Malformed, response.Reason);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    public async Task Validate_NotAJwt_IsMalformed(string token)
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);

        Assert.Equal(InvalidTokenReason.Malformed, (await ValidateAsync(mesh, token, AuthHarness.Bearer(tokens.AccessToken))).Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_AnEmptyToken_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => ValidateAsync(mesh, "", AuthHarness.Bearer(tokens.AccessToken)));

        Assert.Equal("access_token", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_ATokenOfADisabledAccount_IsAccountDisabled_AtOnce()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var (account, tokens) = await PlayerAsync(mesh);

        await mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = account.AccountId, State = AccountState.Disabled, Reason = "chargeback" }, admin, cancellationToken: Timeout);

        Assert.Equal(InvalidTokenReason.AccountDisabled, (await ValidateAsync(mesh, tokens.AccessToken, admin)).Reason);
    }

    // ---- Rotation ----

    [Fact(Timeout = 30_000)]
    public async Task SigningKey_IsRotatedOnSchedule_ByTheBackgroundService()
    {
        await using var mesh = await StartAsync();
        var first = Assert.Single((await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout)).Keys);

        _time.Advance(TimeSpan.FromDays(30));
        ListSigningKeysResponse keys;
        do
        {
            // One check interval at a time: the rotation's wait may start after any one advance.
            _time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(20, Timeout);
            keys = await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout);
        }
        while (keys.Keys.Count < 2);

        Assert.Equal(first.KeyId, keys.Keys[1].KeyId);
        Assert.NotEqual(first.KeyId, keys.Keys[0].KeyId);

        // The rotation logs after its transaction commits, so a reader can see the key first.
        var logged = $"Signing key {keys.Keys[0].KeyId} now signs";
        for (var wait = 0; wait < 250 && !mesh.Logger.Lines.Any(l => l.Contains(logged, StringComparison.Ordinal)); wait++)
        {
            await Task.Delay(20, Timeout);
        }

        Assert.Contains(mesh.Logger.Lines, l => l.Contains(logged, StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task SigningKey_Rotated_OverlapsUntilItsTokensExpire_ThenIsNeitherListedNorAccepted()
    {
        await using var mesh = await StartAsync(AuthHarness.TestOptions() with { SigningKeyCheckInterval = TimeSpan.FromDays(365) });
        var account = await RegisterAsync(mesh);
        var old = Assert.Single((await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout)).Keys);
        _time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromMinutes(1));
        var signedByOld = (await LoginAsync(mesh, account.Username)).Tokens;
        _time.Advance(TimeSpan.FromMinutes(1));

        var rotatedTo = await mesh.Service.RotateSigningKeyIfDueAsync(Timeout);
        var rotatedAt = _time.GetUtcNow();
        var signedByNew = (await LoginAsync(mesh, account.Username)).Tokens;
        var during = await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout);
        var validDuring = await ValidateAsync(mesh, signedByOld.AccessToken, AuthHarness.Bearer(signedByNew.AccessToken));

        Assert.NotNull(rotatedTo);
        Assert.Equal(rotatedTo, Part(signedByNew.AccessToken, 0).GetProperty("kid").GetString());
        Assert.Equal([rotatedTo, old.KeyId], during.Keys.Select(k => k.KeyId));
        Assert.Equal(rotatedAt + TimeSpan.FromMinutes(6), during.Keys[1].RetireTime.ToDateTimeOffset());
        Assert.Null(during.Keys[0].RetireTime);
        Assert.True(validDuring.Valid);
        Assert.Null(await mesh.Service.RotateSigningKeyIfDueAsync(Timeout));

        _time.Advance(TimeSpan.FromMinutes(6));
        var fresh = (await LoginAsync(mesh, account.Username)).Tokens;
        var after = await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout);
        var retired = await ValidateAsync(mesh, signedByOld.AccessToken, AuthHarness.Bearer(fresh.AccessToken));

        Assert.Equal([rotatedTo], after.Keys.Select(k => k.KeyId));
        Assert.Equal(InvalidTokenReason.BadSignature, retired.Reason);
    }

    // ---- IssueServiceToken ----

    private static async Task<IssueServiceTokenResponse> IssueServiceTokenAsync(AuthHarness mesh, string service, string instance, DateTimeOffset? at = null, byte[]? secret = null)
    {
        return await mesh.Client.IssueServiceTokenAsync(ServiceTokenRequest(mesh, service, instance, at, secret), cancellationToken: Timeout);
    }

    private static IssueServiceTokenRequest ServiceTokenRequest(AuthHarness mesh, string service, string instance, DateTimeOffset? at, byte[]? secret)
    {
        var issueTime = DateTimeOffset.FromUnixTimeSeconds((at ?? mesh.Time.GetUtcNow()).ToUnixTimeSeconds());
        var proof = ServiceTokenProof.Compute(secret ?? Convert.FromBase64String(mesh.Options.ServiceSecret), service, instance, issueTime);
        return new IssueServiceTokenRequest { ServiceName = service, InstanceId = instance, IssueTime = Timestamp.FromDateTimeOffset(issueTime), Proof = ByteString.CopyFrom(proof) };
    }

    [Fact(Timeout = 30_000)]
    public async Task IssueServiceToken_CreatesTheServiceAccountOnce_AndASessionPerInstance()
    {
        await using var mesh = await StartAsync();

        var first = await IssueServiceTokenAsync(mesh, "quest-system", "host-1");
        var again = await IssueServiceTokenAsync(mesh, "quest-system", "host-1");
        var other = await IssueServiceTokenAsync(mesh, "quest-system", "host-2");
        var principal = (await ValidateAsync(mesh, first.Tokens.AccessToken, AuthHarness.Bearer(again.Tokens.AccessToken), "quests.write")).Principal;

        Assert.Equal("svc-quest-system", first.Account.AccountId);
        Assert.Equal(["service"], first.Account.Roles);
        Assert.Equal(first.Tokens.SessionId, again.Tokens.SessionId);
        Assert.NotEqual(first.Tokens.SessionId, other.Tokens.SessionId);
        Assert.Equal("", first.Tokens.RefreshToken);
        Assert.Equal(["*"], first.Tokens.Scopes);
        Assert.Equal(["service"], principal.Roles);
        Assert.Single(await mesh.EventsAsync(Timeout), e => e.Type == "auth.account.registered");
        // A service token passes the admin methods' required scope.
        Assert.NotEmpty((await mesh.Client.ListAccountsAsync(new ListAccountsRequest(), AuthHarness.Bearer(first.Tokens.AccessToken), cancellationToken: Timeout)).Accounts);
    }

    [Fact(Timeout = 30_000)]
    public async Task IssueServiceToken_WithAWrongProof_OrAStaleIssueTime_FailsUnauthenticated()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.Unauthenticated, () => IssueServiceTokenAsync(mesh, "quest-system", "host-1", secret: new byte[32]), "does not verify");
        await FailsAsync(StatusCode.Unauthenticated, () => IssueServiceTokenAsync(mesh, "quest-system", "host-1", at: _time.GetUtcNow().AddSeconds(-61)), "from auth's clock");
        await FailsAsync(StatusCode.Unauthenticated, () => IssueServiceTokenAsync(mesh, "quest-system", "host-1", at: _time.GetUtcNow().AddSeconds(61)), "from auth's clock");
        var tampered = ServiceTokenRequest(mesh, "quest-system", "host-1", null, null);
        tampered.ServiceName = "payment";
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.IssueServiceTokenAsync(tampered, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task IssueServiceToken_WithoutAConfiguredSecret_FailsPrecondition_AndABadNameIsInvalidArgument()
    {
        await using var unconfigured = await StartAsync(AuthHarness.TestOptions() with { ServiceSecret = "" });

        await FailsAsync(StatusCode.FailedPrecondition, () => unconfigured.Client.IssueServiceTokenAsync(ServiceTokenRequest(unconfigured, "quest-system", "host-1", null, new byte[32]), cancellationToken: Timeout).AsTask(), "ServiceSecret");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => unconfigured.Client.IssueServiceTokenAsync(ServiceTokenRequest(unconfigured, "Quest_System", "host-1", null, new byte[32]), cancellationToken: Timeout).AsTask());
        Assert.Equal("service_name", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task IssueServiceToken_ForADisabledServiceAccount_FailsPrecondition()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        await IssueServiceTokenAsync(mesh, "quest-system", "host-1");
        await mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = "svc-quest-system", State = AccountState.Disabled, Reason = "compromised host" }, admin, cancellationToken: Timeout);

        await FailsAsync(StatusCode.FailedPrecondition, () => IssueServiceTokenAsync(mesh, "quest-system", "host-1"), "disabled");
    }
}
