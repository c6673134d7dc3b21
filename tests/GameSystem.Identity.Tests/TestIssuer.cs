using System.Security.Cryptography;
using GameSystem.Auth.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GameSystem.Identity.Tests;

/// <summary>
/// Signs access tokens the way auth does (ES256, typ at+jwt, the claims of the token format)
/// with keys of its own, and lists their public halves as auth's ListSigningKeys does, so the
/// validator can be tested on every way a token can be wrong.
/// </summary>
internal sealed class TestIssuer : IDisposable
{
    private readonly List<(string Id, ECDsa Key)> _keys = [];
    private readonly JsonWebTokenHandler _handler = new();

    public TestIssuer(TimeProvider time)
    {
        Time = time;
        AddKey();
    }

    public TimeProvider Time { get; }

    /// <summary>Calls of <see cref="ListAsync"/> so far.</summary>
    public int Fetches { get; private set; }

    /// <summary>The keys ListSigningKeys publishes; a test removes one to retire it.</summary>
    public HashSet<string> Published { get; } = [];

    public string CurrentKeyId => _keys[^1].Id;

    public string AddKey()
    {
        var id = "k-" + Guid.NewGuid().ToString("N")[..8];
        _keys.Add((id, ECDsa.Create(ECCurve.NamedCurves.nistP256)));
        Published.Add(id);
        return id;
    }

    public ValueTask<ListSigningKeysResponse> ListAsync(CancellationToken cancellationToken)
    {
        Fetches++;
        var response = new ListSigningKeysResponse();
        foreach (var (id, key) in Enumerable.Reverse(_keys).Where(k => Published.Contains(k.Id)))
        {
            var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(key.ExportParameters(false))) { KeyId = id });
            jwk.Alg = SecurityAlgorithms.EcdsaSha256;
            jwk.Use = "sig";
            response.Keys.Add(new SigningKey { KeyId = id, Algorithm = "ES256", PublicJwk = System.Text.Json.JsonSerializer.Serialize(new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = id, alg = jwk.Alg, use = jwk.Use }), ActivateTime = Timestamp.FromDateTimeOffset(Time.GetUtcNow()) });
        }

        return ValueTask.FromResult(response);
    }

    public string Sign(
        string subject = "acc-1",
        string[]? roles = null,
        string scope = "player",
        string audience = "gamesystem",
        string issuer = "gamesystem-auth",
        TimeSpan? lifetime = null,
        string? keyId = null,
        string type = "at+jwt")
    {
        var (id, key) = keyId is null ? _keys[^1] : _keys.Single(k => k.Id == keyId);
        var now = Time.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(5)),
            TokenType = type,
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = id }, SecurityAlgorithms.EcdsaSha256),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = subject,
                ["sid"] = "ses-1",
                ["jti"] = Guid.NewGuid().ToString("N"),
                ["preferred_username"] = "aria",
                ["roles"] = roles ?? ["player"],
                ["scope"] = scope,
            },
        });
    }

    public void Dispose()
    {
        foreach (var (_, key) in _keys)
        {
            key.Dispose();
        }
    }
}
