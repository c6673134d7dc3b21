namespace GameSystem.Identity;

/// <summary>
/// How the runtime verifies callers (host configuration section <c>GameSystem:Identity</c>).
/// Issuer and audience must match what auth signs (<c>GameSystem:Auth:Issuer</c> and
/// <c>:Audience</c>; the defaults agree).
/// </summary>
public sealed record IdentityOptions
{
    /// <summary>The defaults: issuer <c>gamesystem-auth</c>, audience <c>gamesystem</c>.</summary>
    public static IdentityOptions Default { get; } = new();

    /// <summary>The <c>iss</c> a token must carry.</summary>
    public string Issuer { get; init; } = "gamesystem-auth";

    /// <summary>The <c>aud</c> a token must carry.</summary>
    public string Audience { get; init; } = "gamesystem";

    /// <summary>Tolerance for clocks that disagree, applied to <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long fetched signing keys are used before they are fetched again.</summary>
    public TimeSpan KeyRefreshInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The least time between two fetches caused by an unknown key id, so tokens with made-up
    /// key ids cannot turn every call into a call to auth.
    /// </summary>
    public TimeSpan MinimumKeyRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Tokens longer than this are refused unread.</summary>
    public int MaxTokenBytes { get; init; } = 8 * 1024;

    /// <summary>
    /// The mesh's service secret (base64, at least 32 bytes), shared with auth: a host proves
    /// with it that the service accounts it asks tokens for belong to the mesh. Null when the
    /// host obtains no service identity (then its services call others without a token).
    /// </summary>
    public string? ServiceSecret { get; init; }

    /// <summary>
    /// How many verified tokens the validator remembers, so a caller's next call with the same
    /// token costs a lookup instead of an ES256 verification; 0 verifies every call. An entry
    /// serves until its token expires, and only while the key that signed it is still published.
    /// </summary>
    public int VerifiedTokenCacheSize { get; init; } = 10_000;

    /// <summary>How early, before it expires, a service token is replaced.</summary>
    public TimeSpan ServiceTokenRenewBefore { get; init; } = TimeSpan.FromMinutes(1);
}
