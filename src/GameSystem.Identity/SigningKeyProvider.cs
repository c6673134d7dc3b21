using System.Collections.Immutable;
using GameSystem.Auth.V1;
using GameSystem.Identity.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Identity;

/// <summary>
/// The public keys that verify access tokens, fetched from auth's <c>ListSigningKeys</c> and
/// cached: fetched again after <see cref="IdentityOptions.KeyRefreshInterval"/>, or sooner when
/// a token names a key id the cache does not hold (a rotation), at most once per
/// <see cref="IdentityOptions.MinimumKeyRefreshInterval"/>. Keys auth no longer lists
/// (retired past their overlap) stop verifying at the next fetch.
/// </summary>
public sealed class SigningKeyProvider : IDisposable
{
    private readonly Func<CancellationToken, ValueTask<ListSigningKeysResponse>> _list;
    private readonly IdentityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _fetch = new(1, 1);
    private volatile KeySet? _keys;

    /// <summary>Creates a provider that asks auth through <paramref name="auth"/> (a client that needs no token: ListSigningKeys is public).</summary>
    public SigningKeyProvider(AuthServiceClient auth, IdentityOptions? options = null, TimeProvider? timeProvider = null, ILogger<SigningKeyProvider>? logger = null)
        : this(ListFrom(auth ?? throw new ArgumentNullException(nameof(auth))), options, timeProvider, logger)
    {
    }

    /// <summary>Creates a provider that reads the keys with <paramref name="list"/> (auth's ListSigningKeys, however it is reached).</summary>
    public SigningKeyProvider(Func<CancellationToken, ValueTask<ListSigningKeysResponse>> list, IdentityOptions? options = null, TimeProvider? timeProvider = null, ILogger<SigningKeyProvider>? logger = null)
    {
        _list = list ?? throw new ArgumentNullException(nameof(list));
        _options = options ?? IdentityOptions.Default;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The key with id <paramref name="keyId"/>, fetching the keys first when they are stale or
    /// do not hold it (and the last fetch is old enough); null when auth does not publish it.
    /// </summary>
    public async ValueTask<SecurityKey?> FindAsync(string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        if (TryFindHeld(keyId, out var held))
        {
            return held;
        }

        var now = _time.GetUtcNow();
        var keys = _keys;

        // Stale, or an unknown id: fetch, unless a fetch happened too recently to be worth another.
        if (keys is null || now - keys.FetchedAt >= _options.MinimumKeyRefreshInterval)
        {
            keys = await RefreshAsync(keys, cancellationToken).ConfigureAwait(false);
        }

        return keys.ById.GetValueOrDefault(keyId);
    }

    /// <summary>
    /// The key with id <paramref name="keyId"/> from the keys held, when they are fresh and hold
    /// it; false when only <see cref="FindAsync"/> can say (it may fetch).
    /// </summary>
    internal bool TryFindHeld(string keyId, out SecurityKey? key)
    {
        key = null;
        var keys = _keys;
        return keys is not null && _time.GetUtcNow() - keys.FetchedAt < _options.KeyRefreshInterval && keys.ById.TryGetValue(keyId, out key);
    }

    private async ValueTask<KeySet> RefreshAsync(KeySet? seen, CancellationToken cancellationToken)
    {
        await _fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another caller fetched while this one waited.
            if (_keys is { } current && !ReferenceEquals(current, seen))
            {
                return current;
            }

            var response = await _list(cancellationToken).ConfigureAwait(false);
            var byId = ImmutableDictionary.CreateBuilder<string, SecurityKey>(StringComparer.Ordinal);
            foreach (var key in response.Keys)
            {
                try
                {
                    var jwk = new JsonWebKey(key.PublicJwk);
                    if (!jwk.HasPrivateKey && jwk.Kid == key.KeyId)
                    {
                        byId[key.KeyId] = jwk;
                    }
                    else
                    {
                        Log.KeyIgnored(_logger, key.KeyId);
                    }
                }
                catch (ArgumentException)
                {
                    Log.KeyIgnored(_logger, key.KeyId);
                }
            }

            var fetched = new KeySet(byId.ToImmutable(), _time.GetUtcNow());
            Log.KeysFetched(_logger, fetched.ById.Count);
            _keys = fetched;
            return fetched;
        }
        finally
        {
            _fetch.Release();
        }
    }

    private static Func<CancellationToken, ValueTask<ListSigningKeysResponse>> ListFrom(AuthServiceClient auth) =>
        async cancellationToken => await auth.ListSigningKeysAsync(new ListSigningKeysRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public void Dispose() => _fetch.Dispose();

    private sealed record KeySet(ImmutableDictionary<string, SecurityKey> ById, DateTimeOffset FetchedAt);
}
