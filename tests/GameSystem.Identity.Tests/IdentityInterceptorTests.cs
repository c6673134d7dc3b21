using GameSystem.Auth.V1;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;

namespace GameSystem.Identity.Tests;

/// <summary>
/// The interceptor on a real nats-server, serving methods of auth's contract (public,
/// authenticated and admin-scoped ones) with handlers that report the principal they were given.
/// </summary>
public sealed class IdentityInterceptorTests(NatsServerFixture nats) : IAsyncLifetime
{
    private static readonly byte[] Secret = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..10];
    private TestIssuer? _issuer;
    private SigningKeyProvider? _keys;
    private NatsConnection? _connection;
    private NatsMeshServer? _server;
    private NatsMeshClient? _invoker;
    private int _serviceTokensIssued;
    private int _serviceTokenAttempts;
    private volatile bool _authDown;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private TestIssuer Issuer => _issuer!;

    private AuthServiceClient Client => new(_invoker!);

    public async ValueTask InitializeAsync()
    {
        _issuer = new TestIssuer(_time);
        _keys = new SigningKeyProvider(_issuer.ListAsync, timeProvider: _time);
        _connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        await _connection.ConnectAsync();
        var auth = MeshCatalog.FromAssemblies([typeof(AuthServiceClient).Assembly]).Single(s => s.ServiceInterface == typeof(IAuthService));
        var interceptor = new IdentityServerInterceptor(new AccessTokenValidator(_keys, timeProvider: _time), [auth]);
        _server = new NatsMeshServer(_connection, MeshServerOptions.Default with { SubjectPrefix = _prefix, Interceptors = [interceptor] });
        _server.AddService(MeshServiceDefinition.CreateBuilder(auth.Descriptor)
            .AddUnary(Method<LoginRequest, LoginResponse>(auth, "Login"), (request, context) =>
                ValueTask.FromResult(new LoginResponse { Account = new Account { AccountId = context.GetPrincipal()?.Subject ?? "(none)" } }))
            .AddUnary(Method<GetAccountRequest, GetAccountResponse>(auth, "GetAccount"), (request, context) =>
                ValueTask.FromResult(new GetAccountResponse { Account = new Account { AccountId = context.GetPrincipal()!.Subject, Roles = { context.GetPrincipal()!.Roles } } }))
            .AddUnary(Method<ListAccountsRequest, ListAccountsResponse>(auth, "ListAccounts"), (request, context) =>
                ValueTask.FromResult(new ListAccountsResponse()))
            .AddUnary(Method<IssueServiceTokenRequest, IssueServiceTokenResponse>(auth, "IssueServiceToken"), IssueServiceToken)
            .Build());
        await _server.StartAsync();
        _invoker = new NatsMeshClient(_connection, MeshClientOptions.Default with { SubjectPrefix = _prefix });
    }

    public async ValueTask DisposeAsync()
    {
        await _invoker!.DisposeAsync();
        await _server!.DisposeAsync();
        await _connection!.DisposeAsync();
        _keys!.Dispose();
        _issuer!.Dispose();
    }

    private static MeshMethod<TRequest, TResponse> Method<TRequest, TResponse>(MeshServiceInfo service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        (MeshMethod<TRequest, TResponse>)service.Methods.Single(m => m.Name == name);

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private ValueTask<IssueServiceTokenResponse> IssueServiceToken(IssueServiceTokenRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _serviceTokenAttempts);
        if (_authDown)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "auth's store is down"));
        }

        if (!ServiceTokenProof.Verify(Secret, request.ServiceName, request.InstanceId, request.IssueTime.ToDateTimeOffset(), request.Proof.Span, _time.GetUtcNow()))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "bad proof"));
        }

        Interlocked.Increment(ref _serviceTokensIssued);
        return ValueTask.FromResult(new IssueServiceTokenResponse
        {
            Account = new Account { AccountId = "svc-" + request.ServiceName },
            Tokens = new TokenSet
            {
                AccessToken = Issuer.Sign("svc-" + request.ServiceName, ["service"], "*"),
                AccessTokenExpireTime = Timestamp.FromDateTimeOffset(_time.GetUtcNow().AddMinutes(5)),
            },
        });
    }

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, error.StatusCode);
        return error;
    }

    [Fact(Timeout = 20_000)]
    public async Task PublicMethod_RunsWithoutAToken_AndWithoutAPrincipal()
    {
        var response = await Client.LoginAsync(new LoginRequest { Login = "aria", Password = "correct horse battery" }, cancellationToken: Timeout);

        Assert.Equal("(none)", response.Account.AccountId);
    }

    [Fact(Timeout = 20_000)]
    public async Task PublicMethod_WithABadToken_IsRefused()
    {
        var error = await FailsAsync(StatusCode.Unauthenticated, () => Client.LoginAsync(new LoginRequest { Login = "aria", Password = "x" }, Bearer("garbage"), cancellationToken: Timeout).AsTask());

        Assert.Contains("not a well-formed JWT", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task AuthenticatedMethod_WithoutAToken_IsUnauthenticated_AndTheHandlerNeverRuns()
    {
        var error = await FailsAsync(StatusCode.Unauthenticated, () => Client.GetAccountAsync(new GetAccountRequest { AccountId = "acc-1" }, cancellationToken: Timeout).AsTask());

        Assert.Contains("authorization: Bearer", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task AuthenticatedMethod_WithAValidToken_GivesTheHandlerThePrincipal()
    {
        var response = await Client.GetAccountAsync(new GetAccountRequest { AccountId = "acc-9" }, Bearer(Issuer.Sign("acc-9")), cancellationToken: Timeout);

        Assert.Equal("acc-9", response.Account.AccountId);
        Assert.Equal(["player"], response.Account.Roles);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("Basic YWxhZGRpbjpvcGVuc2VzYW1l")]
    [InlineData("Bearer ")]
    public async Task AuthorizationThatIsNotABearerToken_IsUnauthenticated(string header)
    {
        await FailsAsync(StatusCode.Unauthenticated, () => Client.GetAccountAsync(new GetAccountRequest { AccountId = "acc-1" }, new Metadata { { "authorization", header } }, cancellationToken: Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task ExpiredToken_IsUnauthenticated()
    {
        var token = Issuer.Sign(lifetime: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));

        var error = await FailsAsync(StatusCode.Unauthenticated, () => Client.GetAccountAsync(new GetAccountRequest { AccountId = "acc-1" }, Bearer(token), cancellationToken: Timeout).AsTask());

        Assert.Contains("expired", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task ScopedMethod_WithoutTheScope_IsPermissionDenied_NamingIt()
    {
        var error = await FailsAsync(StatusCode.PermissionDenied, () => Client.ListAccountsAsync(new ListAccountsRequest(), Bearer(Issuer.Sign(scope: "player")), cancellationToken: Timeout).AsTask());

        Assert.Contains("'auth.admin'", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory(Timeout = 20_000)]
    [InlineData("auth.admin")]
    [InlineData("auth.*")]
    [InlineData("*")]
    public async Task ScopedMethod_WithAGrantingScope_Runs(string scope)
    {
        await Client.ListAccountsAsync(new ListAccountsRequest(), Bearer(Issuer.Sign(scope: "player " + scope)), cancellationToken: Timeout);
    }

    [Fact(Timeout = 20_000)]
    public async Task ServiceIdentityInvoker_SendsCallsAsTheServiceAccount_ReusingItsToken()
    {
        using var tokens = new ServiceTokenSource(Client, "quest-system", "host-1", IdentityOptions.Default with { ServiceSecret = Convert.ToBase64String(Secret) }, _time);
        var asService = new AuthServiceClient(new ServiceIdentityInvoker(_invoker!, tokens));

        for (var i = 0; i < 3; i++)
        {
            var response = await asService.GetAccountAsync(new GetAccountRequest { AccountId = "acc-1" }, cancellationToken: Timeout);
            Assert.Equal("svc-quest-system", response.Account.AccountId);
            Assert.Equal(["service"], response.Account.Roles);
        }

        Assert.Equal(1, _serviceTokensIssued);

        // Close to expiry, the next call brings a new token first.
        _time.Advance(TimeSpan.FromMinutes(4.5));
        await asService.GetAccountAsync(new GetAccountRequest { AccountId = "acc-1" }, cancellationToken: Timeout);
        Assert.Equal(2, _serviceTokensIssued);
    }

    [Fact(Timeout = 20_000)]
    public async Task ServiceIdentityInvoker_PassesOnATokenTheCallAlreadyCarries()
    {
        using var tokens = new ServiceTokenSource(Client, "quest-system", "host-1", IdentityOptions.Default with { ServiceSecret = Convert.ToBase64String(Secret) }, _time);
        var asService = new AuthServiceClient(new ServiceIdentityInvoker(_invoker!, tokens));

        var response = await asService.GetAccountAsync(new GetAccountRequest { AccountId = "acc-3" }, Bearer(Issuer.Sign("acc-3")), cancellationToken: Timeout);

        Assert.Equal("acc-3", response.Account.AccountId);
        Assert.Equal(0, _serviceTokensIssued);
    }

    [Fact(Timeout = 20_000)]
    public async Task ServiceTokenSource_WhileAuthFails_AsksAgainOnlyAfterABackoff()
    {
        using var tokens = new ServiceTokenSource(Client, "quest-system", "host-1", IdentityOptions.Default with { ServiceSecret = Convert.ToBase64String(Secret) }, _time);
        _authDown = true;

        await FailsAsync(StatusCode.Unavailable, () => tokens.GetTokenAsync(Timeout).AsTask());
        var meanwhile = await FailsAsync(StatusCode.Unavailable, () => tokens.GetTokenAsync(Timeout).AsTask());
        Assert.Contains("auth's store is down", meanwhile.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, _serviceTokenAttempts);

        _time.Advance(TimeSpan.FromMilliseconds(300));
        await FailsAsync(StatusCode.Unavailable, () => tokens.GetTokenAsync(Timeout).AsTask());
        Assert.Equal(2, _serviceTokenAttempts);

        // The backoff doubled: 300 ms later auth is still not asked.
        _time.Advance(TimeSpan.FromMilliseconds(300));
        await FailsAsync(StatusCode.Unavailable, () => tokens.GetTokenAsync(Timeout).AsTask());
        Assert.Equal(2, _serviceTokenAttempts);

        _authDown = false;
        _time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.NotEmpty(await tokens.GetTokenAsync(Timeout));
        Assert.Equal(1, _serviceTokensIssued);
    }

    [Fact(Timeout = 20_000)]
    public async Task ServiceTokenSource_WhenRenewalFails_KeepsUsingTheTokenHeldUntilItExpires()
    {
        using var tokens = new ServiceTokenSource(Client, "quest-system", "host-1", IdentityOptions.Default with { ServiceSecret = Convert.ToBase64String(Secret) }, _time);
        var first = await tokens.GetTokenAsync(Timeout);
        _authDown = true;

        // Within the renewal minute of a 5-minute token: renewal fails, the held token still serves.
        _time.Advance(TimeSpan.FromMinutes(4.5));
        Assert.Equal(first, await tokens.GetTokenAsync(Timeout));
        Assert.Equal(first, await tokens.GetTokenAsync(Timeout));
        Assert.Equal(2, _serviceTokenAttempts);

        _time.Advance(TimeSpan.FromMinutes(1));
        await FailsAsync(StatusCode.Unavailable, () => tokens.GetTokenAsync(Timeout).AsTask());
    }

    [Fact(Timeout = 20_000)]
    public async Task ServiceTokenSource_WithAWrongSecret_IsRefusedByTheProofCheck()
    {
        using var tokens = new ServiceTokenSource(Client, "quest-system", "host-1", IdentityOptions.Default with { ServiceSecret = Convert.ToBase64String(new byte[32]) }, _time);

        await FailsAsync(StatusCode.Unauthenticated, () => tokens.GetTokenAsync(Timeout).AsTask());
    }

    [Theory(Timeout = 10_000)]
    [InlineData(null, "is not set")]
    [InlineData("***", "not valid base64")]
    [InlineData("AAEC", "holds 3 bytes")]
    public void ServiceSecret_ThatIsMissingOrWeak_IsRefusedWithTheReason(string? secret, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => new ServiceTokenSource(Client, "quest-system", "host-1", IdentityOptions.Default with { ServiceSecret = secret }, _time));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
