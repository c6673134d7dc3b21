using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using GameSystem.Auth.V1;
using GameSystem.Events;
using GameSystem.Services.Auth.Internal;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.Auth;

/// <summary>
/// auth: accounts with Argon2id password hashes, sessions with rotating refresh tokens, ES256
/// access tokens whose signing keys rotate on schedule, service tokens for the mesh's own
/// services, roles and scopes. Every change is one store transaction (see
/// <see cref="StoreKeys"/>) holding the change, its uniqueness claims and index updates, the
/// request id that makes it safe to retry and its domain event. No secret (password, hash,
/// refresh token, private key) is ever logged or returned.
/// </summary>
public sealed partial class AuthService : IAuthService, IHostedService, IDisposable
{
    /// <summary>The built-in role every registered account holds.</summary>
    public const string PlayerRole = "player";

    /// <summary>The built-in role with every scope.</summary>
    public const string AdminRole = "admin";

    /// <summary>The reserved role of service accounts; no request may grant or define it.</summary>
    public const string ServiceRole = Mesh.MeshPrincipal.ServiceRole;

    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<AuthService> _logger;
    private readonly AuthOptions _options;
    private readonly PasswordHasher _passwords;
    private readonly SigningKeyRing _keys;
    private readonly AccessTokens _tokens;
    private readonly LoginThrottle _throttle;
    private readonly KeyRotation _rotation;
    private readonly byte[] _serviceSecret;
    private readonly HashSet<string> _administrators;

    /// <summary>Creates the service over a state store, publishing its events through <paramref name="outbox"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid (a missing or malformed <see cref="AuthOptions.KeyEncryptionKey"/>, say).</exception>
    public AuthService(IStateStore store, EventOutbox outbox, TimeProvider timeProvider, ILogger<AuthService> logger, IOptions<AuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _options.EnsureValid();
        _store = store;
        _outbox = outbox;
        _time = timeProvider;
        _logger = logger;
        _passwords = new PasswordHasher(_options.PasswordParameters);
        _keys = new SigningKeyRing(store, timeProvider, _options.KeyEncryptionKeyBytes(), _options.SigningKeyRotation, _options.AccessTokenLifetime);
        _tokens = new AccessTokens(_keys, timeProvider, _options.Issuer, _options.Audience, _options.AccessTokenLifetime);
        _throttle = new LoginThrottle(store, timeProvider, _options.LoginFailureWindow);
        _rotation = new KeyRotation(_keys, timeProvider, _options.SigningKeyCheckInterval, logger);
        _serviceSecret = _options.ServiceSecretBytes();
        _administrators = new HashSet<string>(_options.Administrators.Select(AccountRules.Normalize), StringComparer.Ordinal);
    }

    /// <summary>
    /// Makes the first signing key if the store has none, checks that the stored keys decrypt
    /// with the configured key-encryption key (refusing to start otherwise), and starts the
    /// rotation. The host calls this once the service is served.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stored keys were encrypted under another key-encryption key.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _keys.CurrentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (StateStoreUnavailableException ex)
        {
            // The first call that needs a key makes or loads it once the store is back.
            LogKeysDeferred(_logger, ex);
        }

        await _rotation.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the rotation; a due rotation happens on the next start or on another instance.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _rotation.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public void Dispose()
    {
        _rotation.Dispose();
        _keys.Dispose();
        CryptographicOperations.ZeroMemory(_serviceSecret);
    }

    /// <summary>Rotates the signing key now if it is due (what the background rotation does every check interval).</summary>
    internal ValueTask<string?> RotateSigningKeyIfDueAsync(CancellationToken cancellationToken) => _keys.RotateIfDueAsync(cancellationToken);

    private DateTimeOffset UtcNow => _time.GetUtcNow();

    private Timestamp Now() => Timestamp.FromDateTimeOffset(UtcNow);

    private string NewId(string prefix) => prefix + Guid.CreateVersion7(UtcNow).ToString("N");

    private static void ValidateAccountId(string accountId, string field)
    {
        Errors.Require(accountId.Length > 0, field, "is required: the account id, e.g. 'acc-0190…' (from Register or GetAccount).");
        Errors.Require(accountId.Length <= 100 && AccountIdPattern().IsMatch(accountId), field, $"'{accountId}' is not an account id: 'acc-' or 'svc-' and lower-case letters, digits and '-'.");
    }

    private static void ValidateSessionId(string sessionId, string field)
    {
        Errors.Require(sessionId.Length > 0, field, "is required: a session id, e.g. 'ses-0190…' (from Login or ListSessions).");
        Errors.Require(sessionId.Length <= 100 && SessionIdPattern().IsMatch(sessionId), field, $"'{sessionId}' is not a session id: 'ses-' and lower-case letters and digits.");
    }

    [GeneratedRegex("^(acc|svc)-[a-z0-9-]+$")]
    private static partial Regex AccountIdPattern();

    [GeneratedRegex("^ses-[a-z0-9]+$")]
    private static partial Regex SessionIdPattern();

    private static RpcException AccountNotFound(string accountId) =>
        Errors.NotFound($"Account '{accountId}' does not exist; ListAccounts lists the accounts there are.");

    private async ValueTask<(StateEntry Entry, AccountRecord Record)> ReadAccountAsync(string accountId, CancellationToken cancellationToken)
    {
        var entry = await _store.GetAsync(StoreKeys.Account(accountId), cancellationToken).ConfigureAwait(false) ?? throw AccountNotFound(accountId);
        return (entry, AccountRecord.Parser.ParseFrom(entry.Value.Span));
    }

    private static string UsernameMember(Account account) => StoreKeys.Member(AccountRules.Normalize(account.Username), account.AccountId);

    private static string EmailMember(Account account) => StoreKeys.Member(AccountRules.Normalize(account.Email), account.AccountId);

    // ---- Built-in roles ----

    private IEnumerable<Role> BuiltinRoles(Timestamp at)
    {
        var player = new Role { RoleId = PlayerRole, Description = "Every registered account: plays the game.", Version = 1, UpdateTime = at };
        player.Scopes.AddRange(_options.EffectivePlayerScopes);
        yield return player;
        yield return new Role { RoleId = AdminRole, Description = "Operators: every scope.", Scopes = { "*" }, Version = 1, UpdateTime = at };
    }

    private static bool IsBuiltin(string roleId) => roleId is PlayerRole or AdminRole;

    /// <summary>Creates the built-in roles when the store does not hold them yet (first start), racing instances safely.</summary>
    private async ValueTask EnsureBuiltinRolesAsync(CancellationToken cancellationToken)
    {
        if (_rolesEnsured)
        {
            return;
        }

        var builtin = BuiltinRoles(Now()).ToList();
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var read = await _store.GetManyAsync([.. builtin.Select(r => StoreKeys.Role(r.RoleId))], cancellationToken).ConfigureAwait(false);
            var transaction = new StateTransaction();
            var missing = 0;
            for (var i = 0; i < builtin.Count; i++)
            {
                if (read[i] is null)
                {
                    missing++;
                    transaction.Set(StoreKeys.Role(builtin[i].RoleId), new RoleRecord { Role = builtin[i] }.ToByteArray(), expectedVersion: 0)
                        .IndexAdd(StoreKeys.RoleIds, builtin[i].RoleId);
                }
            }

            if (missing == 0 || (await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                _rolesEnsured = true;
                return;
            }
        }

        throw Errors.Contended("The built-in roles");
    }

    private volatile bool _rolesEnsured;

    /// <summary>The scopes the roles of <paramref name="account"/> grant (service accounts: the configured service scopes).</summary>
    private async ValueTask<List<string>> ScopesOfAsync(AccountRecord account, CancellationToken cancellationToken)
    {
        if (account.Service)
        {
            return [.. _options.EffectiveServiceScopes];
        }

        var roles = account.Account.Roles.ToList();
        if (roles.Count == 0)
        {
            return [];
        }

        var read = await _store.GetManyAsync([.. roles.Select(StoreKeys.Role)], cancellationToken).ConfigureAwait(false);
        return [.. read.Where(e => e is not null).SelectMany(e => RoleRecord.Parser.ParseFrom(e!.Value.Span).Role.Scopes).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The scopes of a token: the requested ones still granted, or every granted one when none was requested.</summary>
    private static List<string> Narrow(List<string> granted, Google.Protobuf.Collections.RepeatedField<string> requested) =>
        requested.Count == 0 ? granted : [.. requested.Where(s => AccountRules.Covers(granted, s))];

    // ---- Request ids ----

    /// <summary>
    /// The answer recorded for a request id, so a retry gets the first answer. The fingerprint
    /// covers the request without its passwords: the store never holds a fast hash of one.
    /// </summary>
    private sealed class RequestId(string rpc, string requestId, params string[] fingerprintParts)
    {
        private static readonly TimeSpan Retention = TimeSpan.FromHours(24);
        private readonly byte[] _fingerprint = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', fingerprintParts)));

        public string Key { get; } = StoreKeys.Request(rpc, requestId);

        public TResponse? AnswerOf<TResponse>(StateEntry? stored, MessageParser<TResponse> parser)
            where TResponse : class, IMessage<TResponse>
        {
            if (stored is null)
            {
                return null;
            }

            var record = RequestRecord.Parser.ParseFrom(stored.Value.Span);
            if (!CryptographicOperations.FixedTimeEquals(record.Fingerprint.Span, _fingerprint))
            {
                throw Errors.InvalidArgument("request_id", $"'{requestId}' was already used for a different {rpc} request; use a new request_id for a new request.");
            }

            return parser.ParseFrom(record.Response);
        }

        public void Record(StateTransaction transaction, IMessage response) =>
            transaction.Set(Key, new RequestRecord { Fingerprint = ByteString.CopyFrom(_fingerprint), Response = response.ToByteString() }.ToByteArray(), expectedVersion: 0, ttl: Retention);
    }

    // ---- Logging: ids and names only, never a secret ----

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Account {AccountId} registered")]
    private static partial void LogRegistered(ILogger logger, string accountId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Session {SessionId} opened for account {AccountId}")]
    private static partial void LogLoggedIn(ILogger logger, string accountId, string sessionId);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Login failed ({Reason})")]
    private static partial void LogLoginFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "A rotated refresh token of session {SessionId} (account {AccountId}) was presented again; the session is revoked")]
    private static partial void LogRefreshReuse(ILogger logger, string accountId, string sessionId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Session {SessionId} of account {AccountId} revoked ({Reason})")]
    private static partial void LogSessionRevoked(ILogger logger, string accountId, string sessionId, string reason);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Password of account {AccountId} changed; {Revoked} other sessions revoked")]
    private static partial void LogPasswordChanged(ILogger logger, string accountId, int revoked);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "Password hash of account {AccountId} upgraded to the current parameters")]
    private static partial void LogRehashed(ILogger logger, string accountId);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Account {AccountId} is now {State}")]
    private static partial void LogStateChanged(ILogger logger, string accountId, AccountState state);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Roles of account {AccountId} set to {Roles}")]
    private static partial void LogRolesChanged(ILogger logger, string accountId, IEnumerable<string> roles);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Service account {AccountId} created")]
    private static partial void LogServiceAccountCreated(ILogger logger, string accountId);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Debug, Message = "Refreshed session {SessionId}")]
    private static partial void LogRefreshed(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Warning, Message = "The state store is unreachable at start; signing keys are loaded when it is back")]
    private static partial void LogKeysDeferred(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Role {RoleId} {Change}")]
    private static partial void LogRoleChanged(ILogger logger, string roleId, string change);
}
