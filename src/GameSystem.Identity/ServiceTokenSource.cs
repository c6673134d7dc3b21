using System.Security.Cryptography;
using System.Text;
using GameSystem.Auth.V1;
using GameSystem.Identity.Internal;
using Grpc.Core;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Identity;

/// <summary>
/// The access token of one service's own account: asked of auth's <c>IssueServiceToken</c>
/// with a proof under the mesh's service secret, kept, and replaced shortly before it expires.
/// The first call creates the account (<c>svc-&lt;service&gt;</c>); nobody creates it by hand.
/// </summary>
public sealed class ServiceTokenSource : IDisposable
{
    private readonly AuthServiceClient _auth;
    private readonly byte[] _secret;
    private readonly IdentityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _issue = new(1, 1);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    private volatile Issued? _current;

    // The last failure to obtain a token, and when auth may be asked again (guarded by _issue).
    private RpcException? _failure;
    private DateTimeOffset _retryAt;
    private TimeSpan _backoff;

    /// <summary>Creates the source of <paramref name="serviceName"/>'s token.</summary>
    /// <param name="auth">A client of auth on an invoker that attaches no token of its own (IssueServiceToken is public).</param>
    /// <param name="serviceName">The service, as the host names it (<c>time-manager</c>).</param>
    /// <param name="instanceId">The instance asking, recorded on the token's session.</param>
    /// <param name="options">Identity options; <see cref="IdentityOptions.ServiceSecret"/> must be set.</param>
    /// <param name="timeProvider">The clock (tests pass a fake one).</param>
    /// <param name="logger">Logs issues and failures, never a token.</param>
    public ServiceTokenSource(AuthServiceClient auth, string serviceName, string instanceId, IdentityOptions options, TimeProvider? timeProvider = null, ILogger<ServiceTokenSource>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _auth = auth ?? throw new ArgumentNullException(nameof(auth));
        ServiceName = serviceName ?? throw new ArgumentNullException(nameof(serviceName));
        InstanceId = instanceId ?? throw new ArgumentNullException(nameof(instanceId));
        _secret = ServiceTokenProof.DecodeSecret(options.ServiceSecret, "GameSystem:Identity:ServiceSecret");
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The service whose token this is.</summary>
    public string ServiceName { get; }

    /// <summary>The instance that asks for it.</summary>
    public string InstanceId { get; }

    /// <summary>
    /// A token valid for a while yet, issued now if the one held is close to expiry. While auth
    /// cannot issue one, the token held is used for as long as it is valid, and auth is asked
    /// again only after a backoff (250 ms doubling to 10 s): a caller in between fails at once
    /// with the last failure's status, rather than every call of the service waiting on auth.
    /// </summary>
    public async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        if (_current is { } held && held.ExpiresAt - _time.GetUtcNow() > _options.ServiceTokenRenewBefore)
        {
            return held.Token;
        }

        await _issue.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var current = _current;
            if (current is not null && current.ExpiresAt - now > _options.ServiceTokenRenewBefore)
            {
                return current.Token;
            }

            if (_failure is { } failure && now < _retryAt)
            {
                return current is not null && current.ExpiresAt > now
                    ? current.Token
                    : throw new RpcException(new Status(failure.StatusCode, $"{ServiceName}'s service token could not be obtained from auth ({failure.Status.Detail}); asking again in {(_retryAt - now).TotalSeconds:0.#} s."));
            }

            IssueServiceTokenResponse response;
            try
            {
                response = await _auth.IssueServiceTokenAsync(new IssueServiceTokenRequest
                {
                    ServiceName = ServiceName,
                    InstanceId = InstanceId,
                    IssueTime = Timestamp.FromDateTimeOffset(now),
                    Proof = ByteString.CopyFrom(ServiceTokenProof.Compute(_secret, ServiceName, InstanceId, now)),
                }, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                _backoff = _backoff == TimeSpan.Zero ? FirstBackoff : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
                _failure = e;
                _retryAt = _time.GetUtcNow() + _backoff;
                Log.ServiceTokenFailed(_logger, e, ServiceName, _backoff);
                if (current is not null && current.ExpiresAt > _time.GetUtcNow())
                {
                    return current.Token;
                }

                throw;
            }

            var issued = new Issued(response.Tokens.AccessToken, response.Tokens.AccessTokenExpireTime.ToDateTimeOffset());
            Log.ServiceTokenIssued(_logger, ServiceName, response.Account.AccountId, issued.ExpiresAt);
            _current = issued;
            _failure = null;
            _backoff = TimeSpan.Zero;
            return issued.Token;
        }
        finally
        {
            _issue.Release();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _issue.Dispose();

    private sealed record Issued(string Token, DateTimeOffset ExpiresAt);
}

/// <summary>The proof a host sends with IssueServiceToken, and the check auth makes of it.</summary>
public static class ServiceTokenProof
{
    /// <summary>How far the proof's issue time may be from the verifier's clock.</summary>
    public static readonly TimeSpan MaxClockDifference = TimeSpan.FromMinutes(1);

    /// <summary>HMAC-SHA256 under <paramref name="secret"/> of the purpose, service, instance and Unix seconds, joined by newlines.</summary>
    public static byte[] Compute(ReadOnlySpan<byte> secret, string serviceName, string instanceId, DateTimeOffset issueTime)
    {
        var message = Encoding.UTF8.GetBytes($"gamesystem-service-token\n{serviceName}\n{instanceId}\n{issueTime.ToUnixTimeSeconds()}");
        return HMACSHA256.HashData(secret, message);
    }

    /// <summary>True when <paramref name="proof"/> is the proof of the rest, compared in constant time, and its time is near <paramref name="now"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, string serviceName, string instanceId, DateTimeOffset issueTime, ReadOnlySpan<byte> proof, DateTimeOffset now) =>
        (now - issueTime).Duration() <= MaxClockDifference
        && CryptographicOperations.FixedTimeEquals(Compute(secret, serviceName, instanceId, issueTime), proof);

    /// <summary>Decodes a base64 secret of at least 32 bytes, or says precisely what is wrong with the setting <paramref name="setting"/>.</summary>
    public static byte[] DecodeSecret(string? base64, string setting)
    {
        if (string.IsNullOrWhiteSpace(base64))
        {
            throw new ArgumentException($"{setting} is not set: give it 32 random bytes in base64 (e.g. `openssl rand -base64 32`); eng/run-mesh.sh makes one under .run/.");
        }

        byte[] secret;
        try
        {
            secret = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{setting} is not valid base64.");
        }

        return secret.Length >= 32 ? secret : throw new ArgumentException($"{setting} holds {secret.Length} bytes; it needs at least 32.");
    }
}
