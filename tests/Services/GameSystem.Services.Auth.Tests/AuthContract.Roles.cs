using GameSystem.Auth.V1;
using Grpc.Core;

namespace GameSystem.Services.Auth.Tests;

public abstract partial class AuthContract
{
    // ---- Roles ----

    [Fact(Timeout = 30_000)]
    public async Task Roles_TheBuiltInOnesExist_OnAFreshStore()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);

        var roles = await mesh.Client.ListRolesAsync(new ListRolesRequest(), admin, cancellationToken: Timeout);

        Assert.Equal(["admin", "player"], roles.Roles.Select(r => r.RoleId));
        Assert.Equal(["*"], roles.Roles[0].Scopes);
        Assert.Equal(["player"], roles.Roles[1].Scopes);
    }

    [Fact(Timeout = 30_000)]
    public async Task PutRole_Creates_ThenReplacesOnlyAtTheExpectedVersion()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);

        var created = (await mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "game_master", Description = "Runs events", Scopes = { "quests.write", "world.*" } } }, admin, cancellationToken: Timeout)).Role;
        await FailsAsync(StatusCode.AlreadyExists, () => mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "game_master" } }, admin, cancellationToken: Timeout).AsTask(), "expected_version 1");
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "game_master" }, ExpectedVersion = 5 }, admin, cancellationToken: Timeout).AsTask());
        var replaced = (await mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "game_master", Scopes = { "quests.write" } }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout)).Role;
        var read = (await mesh.Client.GetRoleAsync(new GetRoleRequest { RoleId = "game_master" }, admin, cancellationToken: Timeout)).Role;

        Assert.Equal(1, created.Version);
        Assert.Equal(2, replaced.Version);
        Assert.Equal(replaced, read);
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "ghost" }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout).AsTask());
    }

    [Theory(Timeout = 30_000)]
    [InlineData("service", "x", "role.role_id", "reserved")]
    [InlineData("Game Master", "x", "role.role_id", "lower-case")]
    [InlineData("moderator", "Not A Scope", "role.scopes[0]", "not a scope")]
    public async Task PutRole_WithAnInvalidRole_FailsInvalidArgument(string roleId, string scope, string field, string mention)
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = roleId, Scopes = { scope } } }, admin, cancellationToken: Timeout).AsTask(), mention);

        Assert.Equal(field, ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task PutRole_ByAPlayer_IsPermissionDenied()
    {
        await using var mesh = await StartAsync();
        var (_, player) = await PlayerAsync(mesh);

        await FailsAsync(StatusCode.PermissionDenied, () => mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "root", Scopes = { "*" } } }, AuthHarness.Bearer(player.AccessToken), cancellationToken: Timeout).AsTask(), "auth.admin");
    }

    [Fact(Timeout = 30_000)]
    public async Task GetRole_Missing_IsNotFound()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetRoleAsync(new GetRoleRequest { RoleId = "ghost" }, admin, cancellationToken: Timeout).AsTask(), "ghost");
    }

    [Fact(Timeout = 30_000)]
    public async Task ListRoles_PagesByRoleId_AndFiltersByScope()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var ids = Enumerable.Range(0, 5).Select(i => $"role_{Faker.Random.AlphaNumeric(6).ToLowerInvariant()}").ToList();
        foreach (var id in ids)
        {
            await mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = id, Scopes = { id == ids[2] ? "chat.moderate" : "chat.read" } } }, admin, cancellationToken: Timeout);
        }

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListRolesAsync(new ListRolesRequest { PageSize = 2, PageToken = token }, admin, cancellationToken: Timeout);
            seen.AddRange(page.Roles.Select(r => r.RoleId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        var moderators = await mesh.Client.ListRolesAsync(new ListRolesRequest { Scope = "chat.moderate" }, admin, cancellationToken: Timeout);

        Assert.Equal([.. ids.Append("admin").Append("player").Order(StringComparer.Ordinal)], seen);
        Assert.Equal([ids[2]], moderators.Roles.Select(r => r.RoleId));
    }

    [Fact(Timeout = 30_000)]
    public async Task DeleteRole_WhileHeld_FailsPrecondition_ThenDeletes_AndAMissingOneIsFine()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var account = await RegisterAsync(mesh);
        await mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "tester", Scopes = { "qa.*" } } }, admin, cancellationToken: Timeout);
        var held = (await mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player", "tester" }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout)).Account;

        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.DeleteRoleAsync(new DeleteRoleRequest { RoleId = "tester" }, admin, cancellationToken: Timeout).AsTask(), account.AccountId);
        await mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player" }, ExpectedVersion = held.Version }, admin, cancellationToken: Timeout);
        var deleted = await mesh.Client.DeleteRoleAsync(new DeleteRoleRequest { RoleId = "tester" }, admin, cancellationToken: Timeout);
        var again = await mesh.Client.DeleteRoleAsync(new DeleteRoleRequest { RoleId = "tester" }, admin, cancellationToken: Timeout);

        Assert.True(deleted.Deleted);
        Assert.False(again.Deleted);
        await FailsAsync(StatusCode.FailedPrecondition, () => mesh.Client.DeleteRoleAsync(new DeleteRoleRequest { RoleId = "player" }, admin, cancellationToken: Timeout).AsTask(), "built in");
    }

    // ---- SetAccountRoles ----

    [Fact(Timeout = 30_000)]
    public async Task SetAccountRoles_ReplacesTheRoles_AndRecordsAccountRolesChanged()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var account = await RegisterAsync(mesh);
        await mesh.Client.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = "game_master", Scopes = { "quests.write" } } }, admin, cancellationToken: Timeout);

        var changed = (await mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player", "game_master" }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout)).Account;
        var holders = await mesh.Client.ListAccountsAsync(new ListAccountsRequest { Role = "game_master" }, admin, cancellationToken: Timeout);

        Assert.Equal(["game_master", "player"], changed.Roles);
        Assert.Equal(2, changed.Version);
        Assert.Equal([account.AccountId], holders.Accounts.Select(a => a.AccountId));
        var evt = Assert.Single(await mesh.EventsAsync(Timeout), e => e.Type == "auth.account.roles_changed");
        Assert.Equal(["game_master", "player"], AccountRolesChanged.Parser.ParseFrom(evt.Payload).Roles);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetAccountRoles_ARoleThatDoesNotExist_IsNotFound_TheServiceRoleInvalid_AStaleVersionAborted()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var account = await RegisterAsync(mesh);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "ghost" }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout).AsTask(), "ghost");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player", "service" }, ExpectedVersion = 1 }, admin, cancellationToken: Timeout).AsTask(), "reserved");
        Assert.Equal("roles[1]", ViolatedField(error));
        await FailsAsync(StatusCode.Aborted, () => mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player" }, ExpectedVersion = 9 }, admin, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task SetAccountRoles_WithRevokeSessions_EndsTheSessions()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var (account, tokens) = await PlayerAsync(mesh);

        await mesh.Client.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { "player", "admin" }, ExpectedVersion = 1, RevokeSessions = true }, admin, cancellationToken: Timeout);

        Assert.Equal(InvalidTokenReason.Revoked, (await ValidateAsync(mesh, tokens.AccessToken, admin)).Reason);
    }

    // ---- SetAccountState ----

    [Fact(Timeout = 30_000)]
    public async Task SetAccountState_Disabling_RevokesSessions_AndReEnablingAllowsLoginAgain()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var (account, tokens) = await PlayerAsync(mesh);

        var disabled = (await mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = account.AccountId, State = AccountState.Disabled, Reason = "botting" }, admin, cancellationToken: Timeout)).Account;
        var sessions = await mesh.Client.ListSessionsAsync(new ListSessionsRequest { AccountId = account.AccountId, IncludeEnded = true }, admin, cancellationToken: Timeout);
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }, cancellationToken: Timeout).AsTask());
        var enabled = (await mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = account.AccountId, State = AccountState.Active }, admin, cancellationToken: Timeout)).Account;

        Assert.Equal(AccountState.Disabled, disabled.State);
        Assert.Equal("account_disabled", Assert.Single(sessions.Sessions).RevokeReason);
        Assert.Equal(AccountState.Active, enabled.State);
        await LoginAsync(mesh, account.Username);
        var events = await mesh.EventsAsync(Timeout);
        Assert.Equal([AccountState.Disabled, AccountState.Active], events.Where(e => e.Type == "auth.account.state_changed").Select(e => AccountStateChanged.Parser.ParseFrom(e.Payload).State));
        Assert.Equal("botting", AccountStateChanged.Parser.ParseFrom(events.First(e => e.Type == "auth.account.state_changed").Payload).Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task SetAccountState_DisablingWithoutAReason_FailsInvalidArgument_AndAMissingAccountIsNotFound()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var account = await RegisterAsync(mesh);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = account.AccountId, State = AccountState.Disabled }, admin, cancellationToken: Timeout).AsTask());
        Assert.Equal("reason", ViolatedField(error));
        await FailsAsync(StatusCode.NotFound, () => mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = "acc-missing", State = AccountState.Disabled, Reason = "x" }, admin, cancellationToken: Timeout).AsTask());
    }

    // ---- No secret in logs or responses ----

    [Fact(Timeout = 60_000)]
    public async Task Secrets_NeverAppearInLogsOrResponses()
    {
        await using var mesh = await StartAsync();
        const string first = "first secret passphrase";
        const string second = "second secret passphrase";
        var responses = new List<Google.Protobuf.IMessage>();
        var registered = await mesh.Client.RegisterAsync(new RegisterRequest { Username = "secret-keeper", Email = "keeper@example.com", Password = first, RequestId = Guid.NewGuid().ToString() }, cancellationToken: Timeout);
        responses.Add(registered);
        var login = await LoginAsync(mesh, "secret-keeper", first);
        responses.Add(login);
        await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, "secret-keeper", second));
        var refreshed = await mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = login.Tokens.RefreshToken }, cancellationToken: Timeout);
        responses.Add(refreshed);
        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = login.Tokens.RefreshToken }, cancellationToken: Timeout).AsTask());
        var again = await LoginAsync(mesh, "secret-keeper", first);
        var owner = AuthHarness.Bearer(again.Tokens.AccessToken);
        responses.Add(await mesh.Client.ChangePasswordAsync(new ChangePasswordRequest { AccountId = registered.Account.AccountId, CurrentPassword = first, NewPassword = second, KeepSessionId = again.Tokens.SessionId, RequestId = Guid.NewGuid().ToString() }, owner, cancellationToken: Timeout));
        responses.Add(await mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = registered.Account.AccountId }, owner, cancellationToken: Timeout));
        _time.Advance(TimeSpan.FromDays(31));
        await mesh.Service.RotateSigningKeyIfDueAsync(Timeout);
        responses.Add(await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout));

        var stored = Services.Auth.Internal.AccountRecord.Parser.ParseFrom((await mesh.Store.GetAsync(Services.Auth.Internal.StoreKeys.Account(registered.Account.AccountId), Timeout))!.Value.Span);
        var refreshTokens = new[] { login.Tokens.RefreshToken, refreshed.Tokens.RefreshToken, again.Tokens.RefreshToken };
        var secrets = new List<string> { first, second, Convert.ToBase64String(stored.Password.Hash.Span), Convert.ToHexString(stored.Password.Hash.Span), Convert.ToBase64String(stored.Password.Salt.Span), mesh.Options.KeyEncryptionKey, mesh.Options.ServiceSecret };
        secrets.AddRange(await PrivateScalarsAsync(mesh));
        var logs = mesh.Logger.All;
        var answers = string.Join('\n', responses.Select(r => r.ToString()));
        // A refresh token is returned once, by the call that issued it, and never again.
        var otherAnswers = string.Join('\n', responses.Where(r => r is not LoginResponse and not RefreshTokenResponse).Select(r => r.ToString()));

        Assert.NotEmpty(mesh.Logger.Lines);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logs, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(secret, answers, StringComparison.OrdinalIgnoreCase);
        }

        foreach (var token in refreshTokens)
        {
            Assert.DoesNotContain(token, logs, StringComparison.Ordinal);
            Assert.DoesNotContain(token, otherAnswers, StringComparison.Ordinal);
        }

        Assert.Equal(1, answers.Split(login.Tokens.RefreshToken).Length - 1);
        Assert.DoesNotContain("\"d\"", answers, StringComparison.Ordinal);
    }

    /// <summary>The private scalars of every signing key, in the encodings a leak would show them (base64url as in a JWK, base64, hex).</summary>
    private static async Task<List<string>> PrivateScalarsAsync(AuthHarness mesh)
    {
        var scalars = new List<string>();
        foreach (var key in (await mesh.Client.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: Timeout)).Keys)
        {
            // Decrypted here from the stored record with the configured key, as an operator could: the service has no way to hand it out.
            var record = Services.Auth.Internal.SigningKeyRecord.Parser.ParseFrom((await mesh.Store.GetAsync(Services.Auth.Internal.StoreKeys.SigningKey(key.KeyId), Timeout))!.Value.Span);
            var sealedKey = record.EncryptedPrivateKey.ToByteArray();
            var d = new byte[sealedKey.Length - 28];
            using (var aes = new System.Security.Cryptography.AesGcm(Convert.FromBase64String(mesh.Options.KeyEncryptionKey), 16))
            {
                aes.Decrypt(sealedKey.AsSpan(0, 12), sealedKey.AsSpan(12, d.Length), sealedKey.AsSpan(12 + d.Length), d, System.Text.Encoding.UTF8.GetBytes(key.KeyId));
            }

            Assert.Equal(32, d.Length);
            scalars.Add(System.Buffers.Text.Base64Url.EncodeToString(d));
            scalars.Add(Convert.ToBase64String(d));
            scalars.Add(Convert.ToHexString(d));
        }

        Assert.NotEmpty(scalars);
        return scalars;
    }
}
