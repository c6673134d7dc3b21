using System.ComponentModel.DataAnnotations;
using GameSystem.Services.Auth.Internal;

namespace GameSystem.Services.Auth;

/// <summary>
/// auth settings, bound by the host from <c>GameSystem:Auth</c>. Immutable; adjust with
/// <c>with</c>. Validation (<see cref="Validate"/>) names each bad setting by its key; the
/// service refuses to start on one. Secrets (<see cref="KeyEncryptionKey"/>,
/// <see cref="ServiceSecret"/>) come from configuration and are never logged.
/// </summary>
public sealed record AuthOptions : IValidatableObject
{
    /// <summary>The defaults; <see cref="KeyEncryptionKey"/> has none and must be set.</summary>
    public static AuthOptions Default { get; } = new();

    /// <summary>The <c>iss</c> of every access token.</summary>
    public string Issuer { get; init; } = "gamesystem-auth";

    /// <summary>The <c>aud</c> of every access token.</summary>
    public string Audience { get; init; } = "gamesystem";

    /// <summary>How long an access token is valid.</summary>
    public TimeSpan AccessTokenLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a refresh token (and so an idle session) lives; every refresh starts it again.</summary>
    public TimeSpan RefreshTokenLifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How long a key signs before a new one replaces it.</summary>
    public TimeSpan SigningKeyRotation { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How often the rotation service checks whether the current key is due.</summary>
    public TimeSpan SigningKeyCheckInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Base64 of 32 random bytes: the AES-256-GCM key the signing keys' private halves are
    /// encrypted with in the store. Required; every instance needs the same one.
    /// </summary>
    public string KeyEncryptionKey { get; init; } = "";

    /// <summary>
    /// Base64 of at least 32 random bytes shared with the hosts: the HMAC-SHA256 key of
    /// IssueServiceToken proofs. Empty disables IssueServiceToken (FAILED_PRECONDITION).
    /// </summary>
    public string ServiceSecret { get; init; } = "";

    /// <summary>Argon2id memory in KiB (OWASP: 19456 = 19 MiB with 2 iterations).</summary>
    public int PasswordMemoryKib { get; init; } = 19456;

    /// <summary>Argon2id passes over memory.</summary>
    public int PasswordIterations { get; init; } = 2;

    /// <summary>Argon2id lanes.</summary>
    public int PasswordParallelism { get; init; } = 1;

    /// <summary>Bytes of random salt per hash.</summary>
    public int PasswordSaltBytes { get; init; } = 16;

    /// <summary>Bytes of hash output.</summary>
    public int PasswordHashBytes { get; init; } = 32;

    /// <summary>Failed logins per account (or unknown login name) within <see cref="LoginFailureWindow"/> before RESOURCE_EXHAUSTED.</summary>
    public int MaxLoginFailures { get; init; } = 5;

    /// <summary>Failed logins per caller address (the <c>x-forwarded-for</c> the gateway sends) within the window.</summary>
    public int MaxLoginFailuresPerCaller { get; init; } = 50;

    /// <summary>The window login failures are counted in.</summary>
    public TimeSpan LoginFailureWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Scopes of the built-in role <c>player</c> when it is first created; empty means <c>["player"]</c>.</summary>
    public IReadOnlyList<string> PlayerScopes { get; init; } = [];

    /// <summary>Scopes of service tokens; empty means <c>["*"]</c>.</summary>
    public IReadOnlyList<string> ServiceScopes { get; init; } = [];

    /// <summary>Usernames that get role <c>admin</c> too when they register: how the first operator is made.</summary>
    public IReadOnlyList<string> Administrators { get; init; } = [];

    /// <summary>The scopes of <c>player</c> when created.</summary>
    public IReadOnlyList<string> EffectivePlayerScopes => PlayerScopes.Count == 0 ? ["player"] : PlayerScopes;

    /// <summary>The scopes service tokens carry.</summary>
    public IReadOnlyList<string> EffectiveServiceScopes => ServiceScopes.Count == 0 ? ["*"] : ServiceScopes;

    /// <summary>The Argon2id parameters new hashes are made with.</summary>
    internal PasswordParameters PasswordParameters => new(PasswordMemoryKib, PasswordIterations, PasswordParallelism, PasswordSaltBytes, PasswordHashBytes);

    /// <summary>The decoded <see cref="KeyEncryptionKey"/>; call only on validated options.</summary>
    internal byte[] KeyEncryptionKeyBytes() => Convert.FromBase64String(KeyEncryptionKey);

    /// <summary>The decoded <see cref="ServiceSecret"/>, empty when not configured.</summary>
    internal byte[] ServiceSecretBytes() => ServiceSecret.Length == 0 ? [] : Convert.FromBase64String(ServiceSecret);

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (KeyEncryptionKey.Length == 0)
        {
            yield return Problem(nameof(KeyEncryptionKey), "is not set: auth encrypts its signing keys with it. Set it to the base64 of 32 random bytes (e.g. `openssl rand -base64 32`), the same on every auth instance.");
        }
        else if (DecodedLength(KeyEncryptionKey) != 32)
        {
            yield return Problem(nameof(KeyEncryptionKey), "must be the base64 of exactly 32 bytes (an AES-256 key), e.g. from `openssl rand -base64 32`.");
        }

        if (ServiceSecret.Length > 0 && DecodedLength(ServiceSecret) < 32)
        {
            yield return Problem(nameof(ServiceSecret), "must be the base64 of at least 32 bytes (e.g. `openssl rand -base64 32`), the same as the hosts' service secret.");
        }

        if (Issuer.Length == 0)
        {
            yield return Problem(nameof(Issuer), "must not be empty; the default is gamesystem-auth.");
        }

        if (Audience.Length == 0)
        {
            yield return Problem(nameof(Audience), "must not be empty; the default is gamesystem.");
        }

        if (AccessTokenLifetime < TimeSpan.FromSeconds(30) || AccessTokenLifetime > TimeSpan.FromHours(1))
        {
            yield return Problem(nameof(AccessTokenLifetime), $"'{AccessTokenLifetime}' must be from 00:00:30 to 01:00:00; revocation reaches locally validating services only when tokens expire.");
        }

        if (RefreshTokenLifetime < TimeSpan.FromMinutes(5))
        {
            yield return Problem(nameof(RefreshTokenLifetime), $"'{RefreshTokenLifetime}' must be at least 00:05:00.");
        }

        if (SigningKeyRotation < TimeSpan.FromHours(1))
        {
            yield return Problem(nameof(SigningKeyRotation), $"'{SigningKeyRotation}' must be at least 01:00:00.");
        }

        if (SigningKeyCheckInterval <= TimeSpan.Zero)
        {
            yield return Problem(nameof(SigningKeyCheckInterval), $"'{SigningKeyCheckInterval}' must be a positive duration such as 00:01:00.");
        }

        if (PasswordMemoryKib < 8 * PasswordParallelism || PasswordMemoryKib > 4 * 1024 * 1024)
        {
            yield return Problem(nameof(PasswordMemoryKib), $"{PasswordMemoryKib} must be from 8 × PasswordParallelism to 4194304 KiB; OWASP recommends 19456.");
        }

        if (PasswordIterations is < 1 or > 100)
        {
            yield return Problem(nameof(PasswordIterations), $"{PasswordIterations} must be 1-100; OWASP recommends 2 with 19456 KiB.");
        }

        if (PasswordParallelism is < 1 or > 16)
        {
            yield return Problem(nameof(PasswordParallelism), $"{PasswordParallelism} must be 1-16.");
        }

        if (PasswordSaltBytes is < 16 or > 64)
        {
            yield return Problem(nameof(PasswordSaltBytes), $"{PasswordSaltBytes} must be 16-64.");
        }

        if (PasswordHashBytes is < 16 or > 64)
        {
            yield return Problem(nameof(PasswordHashBytes), $"{PasswordHashBytes} must be 16-64.");
        }

        if (MaxLoginFailures < 1)
        {
            yield return Problem(nameof(MaxLoginFailures), $"{MaxLoginFailures} must be at least 1.");
        }

        if (MaxLoginFailuresPerCaller < 1)
        {
            yield return Problem(nameof(MaxLoginFailuresPerCaller), $"{MaxLoginFailuresPerCaller} must be at least 1.");
        }

        if (LoginFailureWindow < TimeSpan.FromSeconds(1))
        {
            yield return Problem(nameof(LoginFailureWindow), $"'{LoginFailureWindow}' must be at least 00:00:01.");
        }

        for (var i = 0; i < PlayerScopes.Count; i++)
        {
            if (!AccountRules.IsValidScope(PlayerScopes[i]))
            {
                yield return Problem($"{nameof(PlayerScopes)}:{i}", $"'{PlayerScopes[i]}' is not a scope: dotted lower-case words, optionally ending in .* (or * alone).");
            }
        }

        for (var i = 0; i < ServiceScopes.Count; i++)
        {
            if (!AccountRules.IsValidScope(ServiceScopes[i]))
            {
                yield return Problem($"{nameof(ServiceScopes)}:{i}", $"'{ServiceScopes[i]}' is not a scope: dotted lower-case words, optionally ending in .* (or * alone).");
            }
        }

        for (var i = 0; i < Administrators.Count; i++)
        {
            if (AccountRules.CheckUsername(Administrators[i]) is { } problem)
            {
                yield return Problem($"{nameof(Administrators)}:{i}", $"'{Administrators[i]}': {problem}");
            }
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first problem; the service's constructor calls it.</summary>
    internal void EnsureValid()
    {
        if (Validate(new ValidationContext(this)).FirstOrDefault() is { } problem)
        {
            throw new ArgumentException($"GameSystem:Auth:{problem.MemberNames.First()} {problem.ErrorMessage}");
        }
    }

    private static int DecodedLength(string base64)
    {
        var buffer = new byte[(base64.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(base64, buffer, out var written) ? written : -1;
    }

    private static ValidationResult Problem(string member, string message) => new(message, [member]);
}
