using GameSystem.Auth.V1;
using GameSystem.Services.Auth.Internal;
using Grpc.Core;

namespace GameSystem.Services.Auth.Tests;

public abstract partial class AuthContract
{
    // ---- Login ----

    [Fact(Timeout = 30_000)]
    public async Task Login_ByUsernameOrEmailInAnyCase_OpensASessionWithTokens()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);

        var byName = await LoginAsync(mesh, account.Username.ToUpperInvariant());
        var byEmail = await LoginAsync(mesh, account.Email.ToUpperInvariant());

        Assert.Equal(account.AccountId, byName.Account.AccountId);
        Assert.Equal(account.AccountId, byEmail.Account.AccountId);
        Assert.NotEqual(byName.Tokens.SessionId, byEmail.Tokens.SessionId);
        Assert.Equal("Bearer", byName.Tokens.TokenType);
        Assert.StartsWith("rt_", byName.Tokens.RefreshToken, StringComparison.Ordinal);
        Assert.Equal(["player"], byName.Tokens.Scopes);
        Assert.Equal(_time.GetUtcNow().AddMinutes(5), byName.Tokens.AccessTokenExpireTime.ToDateTimeOffset());
        Assert.Equal(_time.GetUtcNow().AddDays(30), byName.Tokens.RefreshTokenExpireTime.ToDateTimeOffset());
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_WithAWrongPasswordOrAnUnknownLogin_FailsUnauthenticated_WithTheSameMessage()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);

        var wrongPassword = await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Username, "wrong password!"));
        var unknown = await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, "nobody-" + account.Username));

        Assert.Equal(wrongPassword.Status.Detail, unknown.Status.Detail);
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_ForADisabledAccount_FailsPrecondition_OnlyWithTheRightPassword()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var account = await RegisterAsync(mesh);
        await mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = account.AccountId, State = AccountState.Disabled, Reason = "cheating" }, admin, cancellationToken: Timeout);

        await FailsAsync(StatusCode.FailedPrecondition, () => LoginAsync(mesh, account.Username), "disabled");
        await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Username, "wrong password!"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_WithScopes_GrantsThatSubset_AndRefusesOthers()
    {
        await using var mesh = await StartAsync();
        await RegisterAsync(mesh, AuthHarness.AdminUsername);
        var player = await RegisterAsync(mesh);

        var narrowed = await LoginAsync(mesh, AuthHarness.AdminUsername, Password, "auth.admin");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => LoginAsync(mesh, player.Username, Password, "auth.admin"), "not granted");

        Assert.Equal(["auth.admin"], narrowed.Tokens.Scopes);
        Assert.Equal("scopes[0]", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_AsAServiceAccount_FailsUnauthenticated()
    {
        await using var mesh = await StartAsync();
        await IssueServiceTokenAsync(mesh, "quest-system", "host-1");

        await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, "svc-quest-system"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_AfterTooManyFailures_IsThrottled_WithARetryDelay_UntilTheWindowEnds()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);
        for (var i = 0; i < 5; i++)
        {
            await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Username, "wrong password!"));
        }

        // Even the right password is refused now: the throttle comes before the check.
        var throttled = await FailsAsync(StatusCode.ResourceExhausted, () => LoginAsync(mesh, account.Email), "try again in");
        var pushback = long.Parse(Assert.Single(throttled.Trailers, t => t.Key == "grpc-retry-pushback-ms").Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(pushback, 1, (long)TimeSpan.FromMinutes(15).TotalMilliseconds);
        Assert.Contains($"{pushback} ms", throttled.Status.Detail, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMilliseconds(pushback));
        Assert.Equal(account.AccountId, (await LoginAsync(mesh, account.Username)).Account.AccountId);
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_ForAnUnknownAccount_IsThrottledTheSameWay()
    {
        await using var mesh = await StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, "ghost-player"));
        }

        var throttled = await FailsAsync(StatusCode.ResourceExhausted, () => LoginAsync(mesh, "ghost-player"));

        Assert.Contains(throttled.Trailers, t => t.Key == "grpc-retry-pushback-ms");
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_ParallelGuesses_CannotPassTheLimit()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
            (await Assert.ThrowsAsync<RpcException>(() => LoginAsync(mesh, account.Username, "wrong password!"))).StatusCode));

        Assert.Equal(5, outcomes.Count(c => c == StatusCode.Unauthenticated));
        Assert.Equal(7, outcomes.Count(c => c == StatusCode.ResourceExhausted));
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_FromOneCallerAddress_IsThrottledAcrossAccounts()
    {
        await using var mesh = await StartAsync(AuthHarness.TestOptions() with { MaxLoginFailuresPerCaller = 3 });

        // The gateway forwards the address it saw, calling as its service account.
        var gateway = (await IssueServiceTokenAsync(mesh, "gateway", "gw-1")).Tokens.AccessToken;
        var from = new Metadata { { "authorization", "Bearer " + gateway }, { "x-forwarded-for", "203.0.113.7, 10.0.0.1" } };
        var elsewhere = new Metadata { { "authorization", "Bearer " + gateway }, { "x-forwarded-for", "198.51.100.2" } };
        for (var i = 0; i < 3; i++)
        {
            await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.LoginAsync(new LoginRequest { Login = NewUsername(), Password = "wrong password!" }, from, cancellationToken: Timeout).AsTask());
        }

        await FailsAsync(StatusCode.ResourceExhausted, () => mesh.Client.LoginAsync(new LoginRequest { Login = NewUsername(), Password = "wrong password!" }, from, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.LoginAsync(new LoginRequest { Login = NewUsername(), Password = "wrong password!" }, elsewhere, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_AnAddressForwardedByAnyoneButAService_IsIgnored()
    {
        await using var mesh = await StartAsync(AuthHarness.TestOptions() with { MaxLoginFailuresPerCaller = 3 });

        // A player naming a victim's address must not lock the victim out (nor dodge the limit by changing it).
        var player = await RegisterAsync(mesh);
        var playerToken = (await LoginAsync(mesh, player.Username)).Tokens.AccessToken;
        foreach (var headers in new[]
        {
            new Metadata { { "x-forwarded-for", "203.0.113.9" } },
            new Metadata { { "authorization", "Bearer " + playerToken }, { "x-forwarded-for", "203.0.113.9" } },
        })
        {
            for (var i = 0; i < 4; i++)
            {
                await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.LoginAsync(new LoginRequest { Login = NewUsername(), Password = "wrong password!" }, headers, cancellationToken: Timeout).AsTask());
            }
        }

        var gateway = (await IssueServiceTokenAsync(mesh, "gateway", "gw-1")).Tokens.AccessToken;
        var victim = new Metadata { { "authorization", "Bearer " + gateway }, { "x-forwarded-for", "203.0.113.9" } };
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.LoginAsync(new LoginRequest { Login = NewUsername(), Password = "wrong password!" }, victim, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_ASuccess_ClearsTheFailureCount()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);
        for (var i = 0; i < 4; i++)
        {
            await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Username, "wrong password!"));
        }

        await LoginAsync(mesh, account.Username);
        for (var i = 0; i < 4; i++)
        {
            await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Username, "wrong password!"));
        }

        await LoginAsync(mesh, account.Username);
    }

    [Fact(Timeout = 30_000)]
    public async Task Login_WithAHashOfOlderParameters_RehashesItWithTheCurrentOnes()
    {
        var store = await CreateStoreAsync();
        var weak = AuthHarness.TestOptions() with { PasswordMemoryKib = 32, PasswordIterations = 1 };
        Account account;
        await using (var old = await AuthHarness.StartAsync(nats, store, _time, weak))
        {
            account = await RegisterAsync(old);
        }

        var stronger = weak with { PasswordMemoryKib = 128, PasswordIterations = 2 };
        await using var mesh = await AuthHarness.StartAsync(nats, store, _time, stronger);
        var before = await StoredHashAsync(mesh, account.AccountId);

        await LoginAsync(mesh, account.Username);
        var after = await StoredHashAsync(mesh, account.AccountId);
        await LoginAsync(mesh, account.Username);

        Assert.Equal((32, 1), (before.MemoryKib, before.Iterations));
        Assert.Equal((128, 2, 1), (after.MemoryKib, after.Iterations, after.Parallelism));
        Assert.NotEqual(before.Salt, after.Salt);
        Assert.Equal("argon2id", after.Algorithm);
        Assert.Equal(after, await StoredHashAsync(mesh, account.AccountId));
    }

    private static async Task<PasswordHashRecord> StoredHashAsync(AuthHarness mesh, string accountId) =>
        AccountRecord.Parser.ParseFrom((await mesh.Store.GetAsync(StoreKeys.Account(accountId), Timeout))!.Value.Span).Password;

    [Fact(Timeout = 30_000)]
    public async Task Login_WithAnEmptyPasswordOrLogin_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        Assert.Equal("login", ViolatedField(await FailsAsync(StatusCode.InvalidArgument, () => LoginAsync(mesh, ""))));
        Assert.Equal("password", ViolatedField(await FailsAsync(StatusCode.InvalidArgument, () => LoginAsync(mesh, "aria", ""))));
    }

    // ---- RefreshToken ----

    [Fact(Timeout = 30_000)]
    public async Task RefreshToken_RotatesTheRefreshToken_AndIssuesANewAccessToken()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        _time.Advance(TimeSpan.FromMinutes(4));

        var refreshed = (await mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout)).Tokens;
        var again = (await mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = refreshed.RefreshToken }, cancellationToken: Timeout)).Tokens;

        Assert.NotEqual(tokens.RefreshToken, refreshed.RefreshToken);
        Assert.NotEqual(tokens.AccessToken, refreshed.AccessToken);
        Assert.Equal(tokens.SessionId, refreshed.SessionId);
        Assert.Equal(tokens.SessionId, again.SessionId);
        Assert.Equal(_time.GetUtcNow().AddMinutes(5), refreshed.AccessTokenExpireTime.ToDateTimeOffset());
        Assert.True((await ValidateAsync(mesh, again.AccessToken, AuthHarness.Bearer(again.AccessToken))).Valid);
    }

    [Fact(Timeout = 30_000)]
    public async Task RefreshToken_ReusingARotatedToken_RevokesTheWholeSession()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);
        var refreshed = (await mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout)).Tokens;
        var admin = await AdminAsync(mesh);

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout).AsTask(), "already used");

        // The thief's and the owner's newer token are both dead, and so are its access tokens.
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = refreshed.RefreshToken }, cancellationToken: Timeout).AsTask(), "revoked");
        Assert.Equal(InvalidTokenReason.Revoked, (await ValidateAsync(mesh, refreshed.AccessToken, admin)).Reason);
        var session = Assert.Single((await mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = account.AccountId, IncludeEnded = true }, admin, cancellationToken: Timeout)).Sessions);
        Assert.Equal("refresh_token_reuse", session.RevokeReason);
        var revoked = Assert.Single(await mesh.EventsAsync(Timeout), e => e.Type == "auth.session.revoked");
        Assert.Equal("refresh_token_reuse", SessionRevoked.Parser.ParseFrom(revoked.Payload).Reason);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not-a-refresh-token")]
    public async Task RefreshToken_Unknown_FailsUnauthenticated(string token)
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = token }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task RefreshToken_AfterTheRefreshLifetime_FailsUnauthenticated()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        _time.Advance(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task RefreshToken_CarriesNewRoles_IntoTheNextAccessToken()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var (account, tokens) = await PlayerAsync(mesh);
        await mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "game_master", Scopes = { "quests.write" } } }, admin, cancellationToken: Timeout);
        await mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player", "game_master" }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout);

        var refreshed = (await mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout)).Tokens;

        Assert.Equal(["player", "quests.write"], refreshed.Scopes);
        var principal = (await ValidateAsync(mesh, refreshed.AccessToken, admin)).Principal;
        Assert.Equal(["game_master", "player"], principal.Roles);
    }

    // ---- Logout ----

    [Fact(Timeout = 30_000)]
    public async Task Logout_EndsTheSession_AtOnceForValidate_AndIsIdempotent()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        var admin = await AdminAsync(mesh);

        var first = await mesh.Client.LogoutAsync(new LogoutRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout);
        var again = await mesh.Client.LogoutAsync(new LogoutRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout);

        Assert.Equal(tokens.SessionId, first.SessionId);
        Assert.Equal(tokens.SessionId, again.SessionId);
        Assert.Equal(InvalidTokenReason.Revoked, (await ValidateAsync(mesh, tokens.AccessToken, admin)).Reason);
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Logout_WithASpentRefreshToken_EndsItsSession()
    {
        await using var mesh = await StartAsync();
        var (_, tokens) = await PlayerAsync(mesh);
        var refreshed = (await mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout)).Tokens;

        await mesh.Client.LogoutAsync(new LogoutRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout);

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = refreshed.RefreshToken }, cancellationToken: Timeout).AsTask(), "revoked");
    }

    [Fact(Timeout = 30_000)]
    public async Task Logout_WithAnUnknownToken_FailsUnauthenticated_AndWithoutOne_InvalidArgument()
    {
        await using var mesh = await StartAsync();

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.LogoutAsync(new LogoutRequest { RefreshToken = "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.LogoutAsync(new LogoutRequest(), cancellationToken: Timeout).AsTask());
    }

    // ---- ListSessions, RevokeSession, RevokeAllSessions ----

    [Fact(Timeout = 30_000)]
    public async Task ListSessions_ListsNewestFirst_InPages_AndHidesEndedOnesUnlessAsked()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);
        var sessions = new List<TokenSet>();
        for (var i = 0; i < 5; i++)
        {
            sessions.Add((await LoginAsync(mesh, account.Username)).Tokens);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var owner = AuthHarness.Bearer(sessions[^1].AccessToken);
        await mesh.Client.LogoutAsync(new LogoutRequest { RefreshToken = sessions[1].RefreshToken }, cancellationToken: Timeout);
        var live = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = account.AccountId, PageSize = 2, PageToken = token }, owner, cancellationToken: Timeout);
            live.AddRange(page.Sessions.Select(s => s.SessionId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        var all = await mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = account.AccountId, IncludeEnded = true }, owner, cancellationToken: Timeout);

        Assert.Equal([sessions[4].SessionId, sessions[3].SessionId, sessions[2].SessionId, sessions[0].SessionId], live);
        Assert.Equal(sessions.Select(s => s.SessionId).Reverse(), all.Sessions.Select(s => s.SessionId));
        Assert.Equal("logout", all.Sessions[3].RevokeReason);
        Assert.Equal("contract-test/1.0", all.Sessions[0].ClientName);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListSessions_OfAnotherPlayer_IsPermissionDenied_AndWithoutAToken_Unauthenticated()
    {
        await using var mesh = await StartAsync();
        var victim = await RegisterAsync(mesh);
        var (_, intruder) = await PlayerAsync(mesh);

        await FailsAsync(StatusCode.PermissionDenied, () => mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = victim.AccountId }, AuthHarness.Bearer(intruder.AccessToken), cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = victim.AccountId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task RevokeSession_StopsItsTokensAtOnce_AndIsIdempotent()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);
        var phone = (await LoginAsync(mesh, account.Username)).Tokens;
        var laptop = (await LoginAsync(mesh, account.Username)).Tokens;
        var owner = AuthHarness.Bearer(laptop.AccessToken);

        var revoked = (await mesh.Client.RevokeSessionAsync(new RevokeSessionRequest { AccountId = account.AccountId, SessionId = phone.SessionId }, owner, cancellationToken: Timeout)).Session;
        var again = (await mesh.Client.RevokeSessionAsync(new RevokeSessionRequest { AccountId = account.AccountId, SessionId = phone.SessionId }, owner, cancellationToken: Timeout)).Session;

        Assert.Equal(_time.GetUtcNow(), revoked.RevokeTime.ToDateTimeOffset());
        Assert.Equal(revoked, again);
        Assert.Equal(InvalidTokenReason.Revoked, (await ValidateAsync(mesh, phone.AccessToken, owner)).Reason);
        Assert.True((await ValidateAsync(mesh, laptop.AccessToken, owner)).Valid);
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = phone.RefreshToken }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task RevokeSession_OfAnotherAccountsSession_IsNotFound()
    {
        await using var mesh = await StartAsync();
        var (_, other) = await PlayerAsync(mesh);
        var (account, tokens) = await PlayerAsync(mesh);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.RevokeSessionAsync(new RevokeSessionRequest { AccountId = account.AccountId, SessionId = other.SessionId }, AuthHarness.Bearer(tokens.AccessToken), cancellationToken: Timeout).AsTask());
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.RevokeSessionAsync(new RevokeSessionRequest { AccountId = account.AccountId, SessionId = "bogus" }, AuthHarness.Bearer(tokens.AccessToken), cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task RevokeAllSessions_SparesTheKeptOne()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);
        var sessions = new List<TokenSet>();
        for (var i = 0; i < 3; i++)
        {
            sessions.Add((await LoginAsync(mesh, account.Username)).Tokens);
        }

        var admin = await AdminAsync(mesh);
        var response = await mesh.Client.RevokeAllSessionsAsync(new RevokeAllSessionsRequest { AccountId = account.AccountId, KeepSessionId = sessions[0].SessionId }, admin, cancellationToken: Timeout);
        var again = await mesh.Client.RevokeAllSessionsAsync(new RevokeAllSessionsRequest { AccountId = account.AccountId, KeepSessionId = sessions[0].SessionId }, admin, cancellationToken: Timeout);

        Assert.Equal(2, response.RevokedSessionCount);
        Assert.Equal(0, again.RevokedSessionCount);
        Assert.True((await ValidateAsync(mesh, sessions[0].AccessToken, admin)).Valid);
        Assert.Equal(InvalidTokenReason.Revoked, (await ValidateAsync(mesh, sessions[2].AccessToken, admin)).Reason);
        var all = await mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = account.AccountId, IncludeEnded = true }, admin, cancellationToken: Timeout);
        Assert.Equal(["admin", "admin"], all.Sessions.Where(s => s.RevokeTime is not null).Select(s => s.RevokeReason));
    }

    // ---- ChangePassword ----

    [Fact(Timeout = 30_000)]
    public async Task ChangePassword_ReplacesIt_AndRevokesEveryOtherSession()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);
        var other = (await LoginAsync(mesh, account.Username)).Tokens;
        var mine = (await LoginAsync(mesh, account.Username)).Tokens;
        var owner = AuthHarness.Bearer(mine.AccessToken);
        var request = new ChangePasswordRequest { AccountId = account.AccountId, CurrentPassword = Password, NewPassword = "a much better passphrase", KeepSessionId = mine.SessionId, RequestId = Guid.NewGuid().ToString() };

        var changed = await mesh.Client.ChangePasswordAsync(request, owner, cancellationToken: Timeout);
        var retried = await mesh.Client.ChangePasswordAsync(request, owner, cancellationToken: Timeout);

        Assert.Equal(1, changed.RevokedSessionCount);
        Assert.Equal(changed, retried);
        Assert.True((await ValidateAsync(mesh, mine.AccessToken, owner)).Valid);
        Assert.Equal(InvalidTokenReason.Revoked, (await ValidateAsync(mesh, other.AccessToken, owner)).Reason);
        await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Username));
        Assert.Equal(account.AccountId, (await LoginAsync(mesh, account.Username, "a much better passphrase")).Account.AccountId);
    }

    [Fact(Timeout = 30_000)]
    public async Task ChangePassword_WithAWrongCurrentPassword_FailsUnauthenticated_AndAWeakNewOne_InvalidArgument()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);
        var owner = AuthHarness.Bearer(tokens.AccessToken);

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.ChangePasswordAsync(new ChangePasswordRequest { AccountId = account.AccountId, CurrentPassword = "not the password", NewPassword = "a much better passphrase", RequestId = Guid.NewGuid().ToString() }, owner, cancellationToken: Timeout).AsTask());
        var weak = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ChangePasswordAsync(new ChangePasswordRequest { AccountId = account.AccountId, CurrentPassword = Password, NewPassword = "short", RequestId = Guid.NewGuid().ToString() }, owner, cancellationToken: Timeout).AsTask());
        var same = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ChangePasswordAsync(new ChangePasswordRequest { AccountId = account.AccountId, CurrentPassword = Password, NewPassword = Password, RequestId = Guid.NewGuid().ToString() }, owner, cancellationToken: Timeout).AsTask());

        Assert.Equal("new_password", ViolatedField(weak));
        Assert.Equal("new_password", ViolatedField(same));
    }

    [Fact(Timeout = 30_000)]
    public async Task ChangePassword_OfAnotherPlayer_IsPermissionDenied()
    {
        await using var mesh = await StartAsync();
        var victim = await RegisterAsync(mesh);
        var (_, intruder) = await PlayerAsync(mesh);

        await FailsAsync(StatusCode.PermissionDenied, () => mesh.Client.ChangePasswordAsync(new ChangePasswordRequest { AccountId = victim.AccountId, CurrentPassword = Password, NewPassword = "a much better passphrase", RequestId = Guid.NewGuid().ToString() }, AuthHarness.Bearer(intruder.AccessToken), cancellationToken: Timeout).AsTask());
    }
}
