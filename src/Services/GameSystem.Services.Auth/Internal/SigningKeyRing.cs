using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GameSystem.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// The ES256 signing keys: made on first use when the store has none, rotated when the
/// current one is older than the rotation period, each kept with its private half encrypted
/// (AES-256-GCM under the configured key-encryption key). A key that stopped signing is still
/// accepted (and published) until its retire time, the last moment a token it signed can be
/// valid: when it stopped + the access-token lifetime + a minute of clock skew.
/// </summary>
/// <remarks>
/// Every instance reads the ring from the store and caches it for <see cref="CacheLifetime"/>;
/// a rotation by another instance is seen within that, and a key it does not know yet (a
/// token signed by a newer key) makes it read again at once. Key creation and rotation are
/// transactions on the ring pointer, so racing instances make one key, not two.
/// </remarks>
internal sealed class SigningKeyRing : IDisposable
{
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    /// <summary>Skew allowed on top of a token's lifetime before a stopped key is no longer accepted.</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinReloadInterval = TimeSpan.FromSeconds(2);
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly byte[] _kek;
    private readonly TimeSpan _rotation;
    private readonly TimeSpan _retireAfter;
    private readonly ConcurrentDictionary<string, ECDsa> _material = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile Snapshot? _snapshot;

    public SigningKeyRing(IStateStore store, TimeProvider time, byte[] keyEncryptionKey, TimeSpan rotation, TimeSpan accessTokenLifetime)
    {
        _store = store;
        _time = time;
        _kek = keyEncryptionKey;
        _rotation = rotation;
        _retireAfter = accessTokenLifetime + Skew;
    }

    /// <summary>A key as the service uses it: the record and its ECDSA key (public, or with the private half for the current key).</summary>
    public sealed record Key(SigningKeyRecord Record, ECDsaSecurityKey SecurityKey);

    private sealed record Snapshot(Key Current, IReadOnlyList<Key> Known, DateTimeOffset LoadedAt);

    /// <summary>The key that signs now (making the first one if the store has none).</summary>
    public async ValueTask<Key> CurrentAsync(CancellationToken cancellationToken) =>
        (await SnapshotAsync(forceIfOlderThan: null, cancellationToken).ConfigureAwait(false)).Current;

    /// <summary>The keys accepted now, newest first.</summary>
    public async ValueTask<IReadOnlyList<Key>> AcceptedAsync(string? wantedKeyId, CancellationToken cancellationToken)
    {
        var snapshot = await SnapshotAsync(forceIfOlderThan: null, cancellationToken).ConfigureAwait(false);
        if (wantedKeyId is not null && !snapshot.Known.Any(k => k.Record.KeyId == wantedKeyId))
        {
            snapshot = await SnapshotAsync(forceIfOlderThan: MinReloadInterval, cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        return [.. snapshot.Known.Where(k => IsAccepted(k.Record, now))];
    }

    /// <summary>
    /// Replaces the current key when it has signed for the rotation period, and forgets keys
    /// past their retire time. Returns the id of the new key, or null when none was due.
    /// </summary>
    public async ValueTask<string?> RotateIfDueAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var now = _time.GetUtcNow();
            var ring = await _store.GetAsync(StoreKeys.KeyRing, cancellationToken).ConfigureAwait(false);
            if (ring is null)
            {
                await SnapshotAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var currentId = KeyRingRecord.Parser.ParseFrom(ring.Value.Span).CurrentKeyId;
            var currentEntry = await _store.GetAsync(StoreKeys.SigningKey(currentId), cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The signing-key ring names key '{currentId}', which the store does not hold.");
            var current = SigningKeyRecord.Parser.ParseFrom(currentEntry.Value.Span);
            await PruneAsync(now, cancellationToken).ConfigureAwait(false);
            if (current.ActivateTime.ToDateTimeOffset() + _rotation > now)
            {
                return null;
            }

            var stopped = current.Clone();
            stopped.DeactivateTime = Timestamp.FromDateTimeOffset(now);
            stopped.RetireTime = Timestamp.FromDateTimeOffset(now + _retireAfter);
            var next = NewKey(now);
            var transaction = new StateTransaction()
                .Set(StoreKeys.KeyRing, new KeyRingRecord { CurrentKeyId = next.KeyId }.ToByteArray(), ring.Version)
                .Set(StoreKeys.SigningKey(current.KeyId), stopped.ToByteArray(), currentEntry.Version)
                .Set(StoreKeys.SigningKey(next.KeyId), next.ToByteArray(), expectedVersion: 0)
                .IndexAdd(StoreKeys.KeyIndex, IndexMember(next));
            if ((await _store.ExecuteAsync(transaction, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                await SnapshotAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                return next.KeyId;
            }
        }

        throw Errors.Contended("The signing-key ring");
    }

    /// <summary>The public JWK of a key: <c>kty</c>, <c>crv</c>, <c>x</c>, <c>y</c>, <c>kid</c>, <c>alg</c>, <c>use</c>; never <c>d</c>.</summary>
    public static string PublicJwk(SigningKeyRecord record)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("kty", "EC");
            json.WriteString("crv", "P-256");
            json.WriteString("x", Base64Url.EncodeToString(record.PublicX.Span));
            json.WriteString("y", Base64Url.EncodeToString(record.PublicY.Span));
            json.WriteString("kid", record.KeyId);
            json.WriteString("alg", record.Algorithm);
            json.WriteString("use", "sig");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static bool IsAccepted(SigningKeyRecord record, DateTimeOffset now) =>
        record.RetireTime is null || record.RetireTime.ToDateTimeOffset() > now;

    public void Dispose()
    {
        foreach (var key in _material.Values)
        {
            key.Dispose();
        }

        _loading.Dispose();
        CryptographicOperations.ZeroMemory(_kek);
    }

    private async ValueTask<Snapshot> SnapshotAsync(TimeSpan? forceIfOlderThan, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var snapshot = _snapshot;
        if (snapshot is not null && now - snapshot.LoadedAt < (forceIfOlderThan ?? CacheLifetime))
        {
            return snapshot;
        }

        await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            snapshot = _snapshot;
            if (snapshot is not null && now - snapshot.LoadedAt < (forceIfOlderThan ?? CacheLifetime))
            {
                return snapshot;
            }

            snapshot = await LoadAsync(cancellationToken).ConfigureAwait(false);
            _snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            _loading.Release();
        }
    }

    private async ValueTask<Snapshot> LoadAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Errors.MaxAttempts; attempt++)
        {
            var now = _time.GetUtcNow();
            var ring = await _store.GetAsync(StoreKeys.KeyRing, cancellationToken).ConfigureAwait(false);
            if (ring is null)
            {
                // First start: make the first key. Racing instances: one transaction wins, the others read its key.
                var first = NewKey(now);
                var create = new StateTransaction()
                    .Set(StoreKeys.KeyRing, new KeyRingRecord { CurrentKeyId = first.KeyId }.ToByteArray(), expectedVersion: 0)
                    .Set(StoreKeys.SigningKey(first.KeyId), first.ToByteArray(), expectedVersion: 0)
                    .IndexAdd(StoreKeys.KeyIndex, IndexMember(first));
                await _store.ExecuteAsync(create, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var currentId = KeyRingRecord.Parser.ParseFrom(ring.Value.Span).CurrentKeyId;
            var members = await _store.QueryIndexAsync(StoreKeys.KeyIndex, new StateIndexQuery { Descending = true, PageSize = 50 }, cancellationToken).ConfigureAwait(false);
            var ids = members.Members.Select(StoreKeys.IdOf).ToList();
            if (!ids.Contains(currentId))
            {
                ids.Insert(0, currentId);
            }

            var entries = await _store.GetManyAsync([.. ids.Select(StoreKeys.SigningKey)], cancellationToken).ConfigureAwait(false);
            var known = new List<Key>(ids.Count);
            Key? current = null;
            for (var i = 0; i < ids.Count; i++)
            {
                if (entries[i] is not { } entry)
                {
                    continue;
                }

                var record = SigningKeyRecord.Parser.ParseFrom(entry.Value.Span);
                var key = new Key(record, new ECDsaSecurityKey(Material(record)) { KeyId = record.KeyId });
                known.Add(key);
                if (record.KeyId == currentId)
                {
                    current = key;
                }
            }

            if (current is not null)
            {
                known.Sort((a, b) => b.Record.ActivateTime.CompareTo(a.Record.ActivateTime));
                return new Snapshot(current, known, now);
            }
        }

        throw Errors.Contended("The signing-key ring");
    }

    private async ValueTask PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var members = await _store.QueryIndexAsync(StoreKeys.KeyIndex, new StateIndexQuery { PageSize = 50 }, cancellationToken).ConfigureAwait(false);
        var ids = members.Members.Select(StoreKeys.IdOf).ToList();
        var entries = await _store.GetManyAsync([.. ids.Select(StoreKeys.SigningKey)], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < ids.Count; i++)
        {
            if (entries[i] is { } entry && SigningKeyRecord.Parser.ParseFrom(entry.Value.Span) is var record && !IsAccepted(record, now))
            {
                var remove = new StateTransaction()
                    .Delete(StoreKeys.SigningKey(record.KeyId), entry.Version)
                    .IndexRemove(StoreKeys.KeyIndex, members.Members[i]);
                await _store.ExecuteAsync(remove, cancellationToken).ConfigureAwait(false);
                if (_material.TryRemove(record.KeyId, out var material))
                {
                    // Snapshots may still hold it for a moment; verification with a disposed key fails closed.
                    material.Dispose();
                }
            }
        }
    }

    private ECDsa Material(SigningKeyRecord record) => _material.GetOrAdd(record.KeyId, _ =>
    {
        var d = Decrypt(record);
        try
        {
            return ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = record.PublicX.ToByteArray(), Y = record.PublicY.ToByteArray() },
                D = d,
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    });

    private SigningKeyRecord NewKey(DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: true);
        try
        {
            var keyId = Guid.CreateVersion7(now).ToString("N");
            return new SigningKeyRecord
            {
                KeyId = keyId,
                Algorithm = Algorithm,
                PublicX = ByteString.CopyFrom(parameters.Q.X),
                PublicY = ByteString.CopyFrom(parameters.Q.Y),
                EncryptedPrivateKey = ByteString.CopyFrom(Encrypt(keyId, parameters.D!)),
                ActivateTime = Timestamp.FromDateTimeOffset(now),
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    private byte[] Encrypt(string keyId, byte[] plaintext)
    {
        var sealedKey = new byte[NonceBytes + plaintext.Length + TagBytes];
        var nonce = sealedKey.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_kek, TagBytes);
        aes.Encrypt(nonce, plaintext, sealedKey.AsSpan(NonceBytes, plaintext.Length), sealedKey.AsSpan(NonceBytes + plaintext.Length), Encoding.UTF8.GetBytes(keyId));
        return sealedKey;
    }

    private byte[] Decrypt(SigningKeyRecord record)
    {
        var sealedKey = record.EncryptedPrivateKey.Span;
        var plaintext = new byte[sealedKey.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(_kek, TagBytes);
        try
        {
            aes.Decrypt(sealedKey[..NonceBytes], sealedKey.Slice(NonceBytes, plaintext.Length), sealedKey[^TagBytes..], plaintext, Encoding.UTF8.GetBytes(record.KeyId));
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new InvalidOperationException(
                $"Signing key '{record.KeyId}' in the store does not decrypt with the configured GameSystem:Auth:KeyEncryptionKey: every auth instance needs the key-encryption key the keys were made with.", ex);
        }

        return plaintext;
    }

    private static string IndexMember(SigningKeyRecord record) =>
        StoreKeys.Member(StateIndex.SortableTime(record.ActivateTime.ToDateTimeOffset()), record.KeyId);
}
