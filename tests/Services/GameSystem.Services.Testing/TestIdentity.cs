using System.Collections.Immutable;
using System.Security.Cryptography;
using Bogus;
using GameSystem.Auth.V1;
using GameSystem.Events;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Services.Auth;
using GameSystem.State;
using GameSystem.Testing;
using AuthService = GameSystem.Services.Auth.AuthService;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.Testing;

/// <summary>
/// Caller identity for a contract suite, as a deployment has it: the real auth served on the
/// suite's nats-server and store, the runtime's <see cref="IdentityServerInterceptor"/> verifying
/// auth's ES256 tokens against the keys auth publishes (serve a service behind it with
/// <see cref="ServiceMesh"/>), and real tokens for the callers a test needs: an operator holding a
/// scope, a player, a service account, or nobody (<see cref="TestCaller.Anonymous"/>).
/// </summary>
/// <remarks>
/// Scopes are granted the way an operator grants them: the root administrator (a username in
/// <see cref="AuthOptions.Administrators"/>, so role <c>admin</c>) defines a role holding the scope
/// (PutRole) and gives it to a fresh account (SetAccountRoles), which then logs in. Service
/// tokens come from IssueServiceToken through <see cref="ServiceTokenSource"/>, as a host gets its own.
/// </remarks>
public sealed class TestIdentity : IAsyncDisposable
{
    /// <summary>The username that becomes an administrator when it registers.</summary>
    public const string RootUsername = "root-operator";

    private const string Password = "correct horse battery";

    /// <summary>Every generated contract: one interceptor serves whichever service a suite runs.</summary>
    private static readonly ImmutableArray<MeshServiceInfo> Contracts = MeshCatalog.FromAssemblies([typeof(IAuthService).Assembly]);

    private readonly ServiceMesh _mesh;
    private readonly SigningKeyProvider _keys;
    private readonly AccessTokenValidator _validator;
    private readonly IdentityOptions _options;
    private readonly Faker _faker = new() { Random = new Randomizer(20261203) };
    private readonly SemaphoreSlim _rootGate = new(1, 1);
    private TestCaller? _root;
    private int _accounts;

    private TestIdentity(ServiceMesh mesh, SigningKeyProvider keys, AccessTokenValidator validator, IdentityServerInterceptor interceptor, IdentityOptions options)
    {
        _mesh = mesh;
        _keys = keys;
        _validator = validator;
        _options = options;
        Interceptor = interceptor;
        Auth = new AuthServiceClient(mesh.Invoker);
    }

    /// <summary>The identity interceptor a host installs, verifying against this auth's keys; give it to <see cref="ServiceMesh.StartAsync(NatsServerFixture, string, Func{IMeshCallInvoker, IReadOnlyList{object}}, Func{IMeshCallInvoker, MeshServerInterceptor})"/>.</summary>
    public IdentityServerInterceptor Interceptor { get; }

    /// <summary>A client of auth that sends no token of its own.</summary>
    public AuthServiceClient Auth { get; }

    /// <summary>auth's options for tests: a fresh key-encryption key and service secret, <see cref="RootUsername"/> as administrator, and Argon2 cheap enough to run hundreds of times.</summary>
    public static AuthOptions TestAuthOptions() => AuthOptions.Default with
    {
        KeyEncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ServiceSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        PasswordMemoryKib = 64,
        PasswordIterations = 1,
        Administrators = [RootUsername],
    };

    /// <summary>Serves auth (<see cref="TestAuthOptions"/>) on <paramref name="nats"/>, keeping its accounts and keys in <paramref name="store"/>.</summary>
    public static Task<TestIdentity> StartAsync(NatsServerFixture nats, IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(nats);
        return StartAsync(nats.Url, store);
    }

    /// <summary>As <see cref="StartAsync(NatsServerFixture, IStateStore)"/>, on the nats-server at <paramref name="natsUrl"/>.</summary>
    public static async Task<TestIdentity> StartAsync(string natsUrl, IStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var authOptions = TestAuthOptions();
        var options = IdentityOptions.Default with { Issuer = authOptions.Issuer, Audience = authOptions.Audience, ServiceSecret = authOptions.ServiceSecret };
        var auth = new AuthService(store, new EventOutbox("auth", TimeProvider.System), TimeProvider.System, NullLogger<AuthService>.Instance, Options.Create(authOptions));
        SigningKeyProvider? keys = null;
        AccessTokenValidator? validator = null;
        IdentityServerInterceptor? interceptor = null;
        var mesh = await ServiceMesh.StartAsync(natsUrl, "auth", _ => [auth], invoker =>
        {
            keys = new SigningKeyProvider(new AuthServiceClient(invoker), options, TimeProvider.System);
            validator = new AccessTokenValidator(keys, options, TimeProvider.System);
            return interceptor = new IdentityServerInterceptor(validator, Contracts);
        }).ConfigureAwait(false);
        return new TestIdentity(mesh, keys!, validator!, interceptor!, options);
    }

    /// <summary>A newly registered player, logged in: its subject is its account id, its scopes those of role <c>player</c>.</summary>
    public async Task<TestCaller> PlayerAsync(CancellationToken cancellationToken = default)
    {
        var account = await RegisterAsync(NewUsername(), cancellationToken).ConfigureAwait(false);
        return await LoginAsync(account.Username, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A newly registered operator whose one role holds <paramref name="scope"/> and nothing else (e.g. <c>settings.admin</c>).</summary>
    public async Task<TestCaller> OperatorAsync(string scope, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        var root = (await RootAsync(cancellationToken).ConfigureAwait(false)).Headers;
        var roleId = $"operator_{Interlocked.Increment(ref _accounts)}";
        await Auth.PutRoleAsync(new PutRoleRequest { Role = new Role { RoleId = roleId, Description = $"Test operators holding {scope}", Scopes = { scope } } }, root, cancellationToken: cancellationToken).ConfigureAwait(false);
        var account = await RegisterAsync(NewUsername(), cancellationToken).ConfigureAwait(false);
        await Auth.SetAccountRolesAsync(new SetAccountRolesRequest { AccountId = account.AccountId, Roles = { roleId }, ExpectedVersion = account.Version }, root, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await LoginAsync(account.Username, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The service account <c>svc-<paramref name="serviceName"/></c>, with the token a host of that service obtains (IssueServiceToken, proved with the mesh's service secret).</summary>
    public async Task<TestCaller> ServiceAsync(string serviceName, CancellationToken cancellationToken = default)
    {
        using var tokens = new ServiceTokenSource(Auth, serviceName, $"{serviceName}-test-{Interlocked.Increment(ref _accounts)}", _options);
        return await VerifiedAsync(await tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _mesh.DisposeAsync().ConfigureAwait(false);
        _keys.Dispose();
        _rootGate.Dispose();
    }

    /// <summary>The administrator (role <c>admin</c>, every scope), registered on first use.</summary>
    private async Task<TestCaller> RootAsync(CancellationToken cancellationToken)
    {
        await _rootGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_root is null)
            {
                await RegisterAsync(RootUsername, cancellationToken).ConfigureAwait(false);
                _root = await LoginAsync(RootUsername, cancellationToken).ConfigureAwait(false);
            }

            return _root;
        }
        finally
        {
            _rootGate.Release();
        }
    }

    private async Task<Account> RegisterAsync(string username, CancellationToken cancellationToken)
    {
        var request = new RegisterRequest { Username = username, Email = $"{username}@{_faker.Internet.DomainName()}", Password = Password, RequestId = Guid.NewGuid().ToString() };
        return (await Auth.RegisterAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false)).Account;
    }

    private async Task<TestCaller> LoginAsync(string username, CancellationToken cancellationToken)
    {
        var login = await Auth.LoginAsync(new LoginRequest { Login = username, Password = Password, ClientName = "contract-test/1.0" }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await VerifiedAsync(login.Tokens.AccessToken, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The caller <paramref name="token"/> verifies to, by the interceptor's own validator: a test never holds a token the services would refuse.</summary>
    private async Task<TestCaller> VerifiedAsync(string token, CancellationToken cancellationToken)
    {
        var validation = await _validator.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        return validation.IsValid
            ? TestCaller.Verified(validation.Principal!, token)
            : throw new InvalidOperationException($"auth issued a token its own keys do not verify: {validation.Reason}.");
    }

    /// <summary>A username auth accepts (3-32 of [a-z0-9_.-]), unique within this identity.</summary>
    private string NewUsername()
    {
        var name = new string([.. _faker.Internet.UserName().ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')]);
        var suffix = "-" + Interlocked.Increment(ref _accounts);
        return (name.Length > 24 ? name[..24] : name.PadRight(3, 'x')) + suffix;
    }
}
