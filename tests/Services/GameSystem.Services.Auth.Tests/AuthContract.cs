using Bogus;
using GameSystem.Auth.V1;
using GameSystem.Mesh;
using GameSystem.State;
using GameSystem.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace GameSystem.Services.Auth.Tests;

/// <summary>The auth contract through the generated client over nats-server, behind the identity interceptor, run once per state store.</summary>
public abstract partial class AuthContract(NatsServerFixture nats)
{
    private const string Password = "correct horse battery";
    private static readonly Faker Faker = new() { Random = new Randomizer(20261202) };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<AuthHarness> StartAsync(AuthOptions? options = null) =>
        await AuthHarness.StartAsync(nats, await CreateStoreAsync(), _time, options ?? AuthHarness.TestOptions());

    private static string NewUsername() =>
        (Faker.Internet.UserName().Replace("'", "", StringComparison.Ordinal) + Faker.Random.AlphaNumeric(4)).ToLowerInvariant() is var name && name.Length > 32 ? name[..32] : name;

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, error.StatusCode);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The field a google.rpc.BadRequest detail of <paramref name="error"/> names.</summary>
    private static string ViolatedField(RpcException error)
    {
        var detail = Assert.Single(error.GetRpcStatus().Details);
        return Assert.Single(detail.Unpack<Google.Rpc.BadRequest>().FieldViolations).Field;
    }

    private static async Task<Account> RegisterAsync(AuthHarness mesh, string? username = null, string? email = null, string password = Password)
    {
        username ??= NewUsername();
        var response = await mesh.Client.RegisterAsync(
            new RegisterRequest { Username = username, Email = email ?? $"{username}@{Faker.Internet.DomainName()}", Password = password, RequestId = Guid.NewGuid().ToString() },
            cancellationToken: Timeout);
        return response.Account;
    }

    private static async Task<LoginResponse> LoginAsync(AuthHarness mesh, string login, string password = Password, params string[] scopes)
    {
        var request = new LoginRequest { Login = login, Password = password, ClientName = "contract-test/1.0" };
        request.Scopes.AddRange(scopes);
        return await mesh.Client.LoginAsync(request, cancellationToken: Timeout);
    }

    /// <summary>A registered, logged-in player: its account and tokens.</summary>
    private static async Task<(Account Account, TokenSet Tokens)> PlayerAsync(AuthHarness mesh)
    {
        var account = await RegisterAsync(mesh);
        return (account, (await LoginAsync(mesh, account.Username)).Tokens);
    }

    /// <summary>Call options of an administrator (scope auth.admin via role admin), registered on first use.</summary>
    private static async Task<Metadata> AdminAsync(AuthHarness mesh)
    {
        try
        {
            await RegisterAsync(mesh, AuthHarness.AdminUsername);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
        }

        return AuthHarness.Bearer((await LoginAsync(mesh, AuthHarness.AdminUsername)).Tokens.AccessToken);
    }

    private static async Task<ValidateResponse> ValidateAsync(AuthHarness mesh, string token, Metadata caller, params string[] requiredScopes)
    {
        var request = new ValidateRequest { AccessToken = token };
        request.RequiredScopes.AddRange(requiredScopes);
        return await mesh.Client.ValidateAsync(request, caller, cancellationToken: Timeout);
    }

    // ---- Register ----

    [Fact(Timeout = 30_000)]
    public async Task Register_CreatesAnActivePlayer_WithoutTokensOrSecrets()
    {
        await using var mesh = await StartAsync();
        var username = NewUsername();

        var account = await RegisterAsync(mesh, username);

        Assert.StartsWith("acc-", account.AccountId, StringComparison.Ordinal);
        Assert.Equal(username, account.Username);
        Assert.Equal(username, account.DisplayName);
        Assert.Equal(["player"], account.Roles);
        Assert.Equal(AccountState.Active, account.State);
        Assert.Equal(1, account.Version);
        Assert.Equal(_time.GetUtcNow(), account.CreateTime.ToDateTimeOffset());
        Assert.Equal(account.CreateTime, account.PasswordUpdateTime);
        Assert.Null(account.LastLoginTime);
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_RetriedWithTheSameRequestId_ReturnsTheFirstAccount()
    {
        await using var mesh = await StartAsync();
        var username = NewUsername();
        var request = new RegisterRequest { Username = username, Email = username + "@example.com", Password = Password, RequestId = Guid.NewGuid().ToString() };

        var first = (await mesh.Client.RegisterAsync(request, cancellationToken: Timeout)).Account;
        var retry = (await mesh.Client.RegisterAsync(request, cancellationToken: Timeout)).Account;

        Assert.Equal(first, retry);
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_ReusingARequestIdForAnotherAccount_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        var id = Guid.NewGuid().ToString();
        await mesh.Client.RegisterAsync(new RegisterRequest { Username = NewUsername(), Email = "a@example.com", Password = Password, RequestId = id }, cancellationToken: Timeout);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.RegisterAsync(new RegisterRequest { Username = NewUsername(), Email = "b@example.com", Password = Password, RequestId = id }, cancellationToken: Timeout).AsTask(), "different");

        Assert.Equal("request_id", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_WhenTheUsernameIsTakenInAnyCase_FailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        var username = NewUsername();
        await RegisterAsync(mesh, username);

        await FailsAsync(StatusCode.AlreadyExists, () => RegisterAsync(mesh, username.ToUpperInvariant()), "is taken");
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_WhenTheEmailIsTakenInAnyCase_FailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        await RegisterAsync(mesh, email: "Aria.Stone@Example.com");

        await FailsAsync(StatusCode.AlreadyExists, () => RegisterAsync(mesh, email: "aria.stone@example.COM"), "already belongs");
    }

    [Theory(Timeout = 30_000)]
    [InlineData("ab", "player@example.com", Password, "username", "3-32 characters")]
    [InlineData("this-username-is-far-too-long-for-us", "player@example.com", Password, "username", "3-32 characters")]
    [InlineData("bad name", "player@example.com", Password, "username", "only letters")]
    [InlineData("svc-time-manager", "player@example.com", Password, "username", "service accounts")]
    [InlineData("", "player@example.com", Password, "username", "is required")]
    [InlineData("aria", "not-an-email", Password, "email", "not an e-mail")]
    [InlineData("aria", "two@@example.com", Password, "email", "not an e-mail")]
    [InlineData("aria", "", Password, "email", "is required")]
    [InlineData("aria", "player@example.com", "short", "password", "10-128 characters")]
    [InlineData("aria", "player@example.com", "", "password", "is required")]
    [InlineData("aria-stone", "player@example.com", "ARIA-STONE", "password", "must not be the username")]
    public async Task Register_WithAnInvalidField_FailsInvalidArgument_NamingIt(string username, string email, string password, string field, string mention)
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(
            StatusCode.InvalidArgument,
            () => mesh.Client.RegisterAsync(new RegisterRequest { Username = username, Email = email, Password = password, RequestId = Guid.NewGuid().ToString() }, cancellationToken: Timeout).AsTask(),
            mention);

        Assert.Equal(field, ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_WithAPasswordOf129Characters_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => RegisterAsync(mesh, password: new string('p', 129)), "got 129");

        Assert.Equal("password", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_WithoutARequestId_FailsInvalidArgument()
    {
        await using var mesh = await StartAsync();

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.RegisterAsync(new RegisterRequest { Username = NewUsername(), Email = "x@example.com", Password = Password }, cancellationToken: Timeout).AsTask());

        Assert.Equal("request_id", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_AConfiguredAdministrator_GetsRoleAdmin()
    {
        await using var mesh = await StartAsync();

        var admin = await RegisterAsync(mesh, AuthHarness.AdminUsername.ToUpperInvariant());

        Assert.Equal(["player", "admin"], admin.Roles);
    }

    [Fact(Timeout = 30_000)]
    public async Task Register_RecordsAccountRegistered_InTheOutbox()
    {
        await using var mesh = await StartAsync();

        var account = await RegisterAsync(mesh);

        var registered = Assert.Single(await mesh.EventsAsync(Timeout), e => e.Type == "auth.account.registered");
        var payload = AccountRegistered.Parser.ParseFrom(registered.Payload);
        Assert.Equal($"accounts/{account.AccountId}", registered.Subject);
        Assert.Equal(account.AccountId, payload.AccountId);
        Assert.Equal(account.Username, payload.Username);
    }

    // ---- GetAccount, UpdateAccount: owner or auth.admin ----

    [Fact(Timeout = 30_000)]
    public async Task GetAccount_ByItsOwner_ReturnsIt()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);

        var read = (await mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = account.AccountId }, AuthHarness.Bearer(tokens.AccessToken), cancellationToken: Timeout)).Account;

        Assert.Equal(account.AccountId, read.AccountId);
        Assert.Equal(_time.GetUtcNow(), read.LastLoginTime.ToDateTimeOffset());
    }

    [Fact(Timeout = 30_000)]
    public async Task GetAccount_OfAnotherPlayer_IsPermissionDenied_ButAnAdminMayReadIt()
    {
        await using var mesh = await StartAsync();
        var (victim, _) = await PlayerAsync(mesh);
        var (_, intruder) = await PlayerAsync(mesh);
        var admin = await AdminAsync(mesh);

        await FailsAsync(StatusCode.PermissionDenied, () => mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = victim.AccountId }, AuthHarness.Bearer(intruder.AccessToken), cancellationToken: Timeout).AsTask(), "auth.admin");
        var read = (await mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = victim.AccountId }, admin, cancellationToken: Timeout)).Account;

        Assert.Equal(victim.Username, read.Username);
    }

    [Fact(Timeout = 30_000)]
    public async Task GetAccount_WithoutAToken_IsUnauthenticated()
    {
        await using var mesh = await StartAsync();
        var account = await RegisterAsync(mesh);

        await FailsAsync(StatusCode.Unauthenticated, () => mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = account.AccountId }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task GetAccount_Missing_IsNotFound_AndAMalformedIdIsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);

        await FailsAsync(StatusCode.NotFound, () => mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = "acc-0000" }, admin, cancellationToken: Timeout).AsTask(), "acc-0000");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.GetAccountAsync(new GetAccountRequest { AccountId = "Robert'); DROP" }, admin, cancellationToken: Timeout).AsTask());
        Assert.Equal("account_id", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateAccount_ChangesDisplayNameAndEmail_AndMovesTheEmailClaim()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);
        var owner = AuthHarness.Bearer(tokens.AccessToken);
        var changes = new Account { AccountId = account.AccountId, DisplayName = "Aria of the Vale", Email = "new-" + account.Email };

        var updated = (await mesh.Client.UpdateAccountAsync(new UpdateAccountRequest { Account = changes, UpdateMask = new() { Paths = { "display_name", "email" } }, ExpectedVersion = 1 }, owner, cancellationToken: Timeout)).Account;
        var login = await LoginAsync(mesh, "new-" + account.Email);

        Assert.Equal("Aria of the Vale", updated.DisplayName);
        Assert.Equal(2, updated.Version);
        Assert.Equal(account.AccountId, login.Account.AccountId);
        await FailsAsync(StatusCode.Unauthenticated, () => LoginAsync(mesh, account.Email));
        // The old e-mail is free again.
        await RegisterAsync(mesh, email: account.Email);
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateAccount_WithAStaleVersion_IsAborted_AndAnUnknownPathIsInvalidArgument()
    {
        await using var mesh = await StartAsync();
        var (account, tokens) = await PlayerAsync(mesh);
        var owner = AuthHarness.Bearer(tokens.AccessToken);

        await FailsAsync(StatusCode.Aborted, () => mesh.Client.UpdateAccountAsync(new UpdateAccountRequest { Account = new Account { AccountId = account.AccountId, DisplayName = "x" }, UpdateMask = new() { Paths = { "display_name" } }, ExpectedVersion = 7 }, owner, cancellationToken: Timeout).AsTask(), "version 1");
        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.UpdateAccountAsync(new UpdateAccountRequest { Account = new Account { AccountId = account.AccountId, Username = "renamed" }, UpdateMask = new() { Paths = { "username" } }, ExpectedVersion = 1 }, owner, cancellationToken: Timeout).AsTask(), "'username' cannot be updated");
        Assert.Equal("update_mask", ViolatedField(error));
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateAccount_ToAnEmailOfAnotherAccount_FailsAlreadyExists()
    {
        await using var mesh = await StartAsync();
        var other = await RegisterAsync(mesh);
        var (account, tokens) = await PlayerAsync(mesh);

        await FailsAsync(StatusCode.AlreadyExists, () => mesh.Client.UpdateAccountAsync(new UpdateAccountRequest { Account = new Account { AccountId = account.AccountId, Email = other.Email.ToUpperInvariant() }, UpdateMask = new() { Paths = { "email" } }, ExpectedVersion = 1 }, AuthHarness.Bearer(tokens.AccessToken), cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task UpdateAccount_OfAnotherPlayer_IsPermissionDenied()
    {
        await using var mesh = await StartAsync();
        var victim = await RegisterAsync(mesh);
        var (_, intruder) = await PlayerAsync(mesh);

        await FailsAsync(StatusCode.PermissionDenied, () => mesh.Client.UpdateAccountAsync(new UpdateAccountRequest { Account = new Account { AccountId = victim.AccountId, DisplayName = "pwned" }, UpdateMask = new() { Paths = { "display_name" } }, ExpectedVersion = 1 }, AuthHarness.Bearer(intruder.AccessToken), cancellationToken: Timeout).AsTask());
    }

    // ---- ListAccounts ----

    [Fact(Timeout = 60_000)]
    public async Task ListAccounts_PagesInUsernameOrder()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var names = Enumerable.Range(0, 7).Select(_ => NewUsername()).ToList();
        foreach (var name in names)
        {
            await RegisterAsync(mesh, name);
        }

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await mesh.Client.ListAccountsAsync(new ListAccountsRequest { PageSize = 3, PageToken = token }, admin, cancellationToken: Timeout);
            Assert.True(page.Accounts.Count <= 3);
            seen.AddRange(page.Accounts.Select(a => a.Username));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal([.. names.Append(AuthHarness.AdminUsername).Order(StringComparer.Ordinal)], seen);
    }

    [Fact(Timeout = 30_000)]
    public async Task ListAccounts_FiltersByPrefixOfUsernameOrEmail_RoleAndState()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var byName = await RegisterAsync(mesh, "zed-one", "first@example.com");
        var byEmail = await RegisterAsync(mesh, "quinn", "zed-mail@example.com");
        var disabled = await RegisterAsync(mesh, "zed-two", "second@example.com");
        await mesh.Client.SetAccountStateAsync(new SetAccountStateRequest { AccountId = disabled.AccountId, State = AccountState.Disabled, Reason = "test" }, admin, cancellationToken: Timeout);

        var prefixed = await mesh.Client.ListAccountsAsync(new ListAccountsRequest { Prefix = "ZED" }, admin, cancellationToken: Timeout);
        var admins = await mesh.Client.ListAccountsAsync(new ListAccountsRequest { Role = "admin" }, admin, cancellationToken: Timeout);
        var disabledOnes = await mesh.Client.ListAccountsAsync(new ListAccountsRequest { State = AccountState.Disabled }, admin, cancellationToken: Timeout);
        var activeZeds = await mesh.Client.ListAccountsAsync(new ListAccountsRequest { Prefix = "zed", State = AccountState.Active }, admin, cancellationToken: Timeout);

        Assert.Equal([byName.AccountId, disabled.AccountId, byEmail.AccountId], prefixed.Accounts.Select(a => a.AccountId));
        Assert.Equal([AuthHarness.AdminUsername], admins.Accounts.Select(a => a.Username));
        Assert.Equal([disabled.AccountId], disabledOnes.Accounts.Select(a => a.AccountId));
        Assert.Equal([byName.AccountId, byEmail.AccountId], activeZeds.Accounts.Select(a => a.AccountId));
    }

    [Fact(Timeout = 30_000)]
    public async Task ListAccounts_WithAForeignPageToken_OrAPlayersToken_Fails()
    {
        await using var mesh = await StartAsync();
        var admin = await AdminAsync(mesh);
        var (_, player) = await PlayerAsync(mesh);

        var error = await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListAccountsAsync(new ListAccountsRequest { PageToken = "bm90IG91cnM=" }, admin, cancellationToken: Timeout).AsTask());
        Assert.Equal("page_token", ViolatedField(error));
        await FailsAsync(StatusCode.InvalidArgument, () => mesh.Client.ListAccountsAsync(new ListAccountsRequest { PageSize = 201 }, admin, cancellationToken: Timeout).AsTask(), "1-200");
        await FailsAsync(StatusCode.PermissionDenied, () => mesh.Client.ListAccountsAsync(new ListAccountsRequest(), AuthHarness.Bearer(player.AccessToken), cancellationToken: Timeout).AsTask(), "auth.admin");
    }
}
