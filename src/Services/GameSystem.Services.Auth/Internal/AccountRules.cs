using System.Net.Mail;
using System.Text.RegularExpressions;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// The shape of usernames, e-mails, passwords, display names, role ids and scopes. Each check
/// returns null when the value is fine, else what is wrong in words a developer can act on.
/// </summary>
internal static partial class AccountRules
{
    public const int MinUsername = 3;
    public const int MaxUsername = 32;
    public const int MinPassword = 10;
    public const int MaxPassword = 128;
    public const int MaxEmail = 254;
    public const int MaxDisplayName = 64;

    /// <summary>Usernames starting with this belong to service accounts (IssueServiceToken).</summary>
    public const string ServicePrefix = "svc-";

    public static string? CheckUsername(string username)
    {
        if (username.Length is < MinUsername or > MaxUsername)
        {
            return $"must be {MinUsername}-{MaxUsername} characters; got {username.Length}.";
        }

        if (!UsernamePattern().IsMatch(username))
        {
            return "may contain only letters a-z, digits, '_', '-' and '.'.";
        }

        return username.StartsWith(ServicePrefix, StringComparison.OrdinalIgnoreCase)
            ? $"must not start with '{ServicePrefix}': that prefix names service accounts."
            : null;
    }

    /// <summary>The form usernames are compared and indexed in.</summary>
    public static string Normalize(string value) => value.ToLowerInvariant();

    public static string? CheckEmail(string email)
    {
        if (email.Length == 0)
        {
            return "is required, e.g. 'player@example.com'.";
        }

        if (email.Length > MaxEmail)
        {
            return $"must be at most {MaxEmail} characters; got {email.Length}.";
        }

        if (!EmailPattern().IsMatch(email) || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email)
        {
            return "is not an e-mail address like 'player@example.com' (one '@', a domain with a dot, no spaces).";
        }

        return null;
    }

    public static string? CheckPassword(string password, string username)
    {
        if (password.Length is < MinPassword or > MaxPassword)
        {
            return $"must be {MinPassword}-{MaxPassword} characters; got {password.Length}.";
        }

        return string.Equals(password, username, StringComparison.OrdinalIgnoreCase) ? "must not be the username." : null;
    }

    public static string? CheckDisplayName(string displayName) =>
        displayName.Length is < 1 or > MaxDisplayName || displayName.Any(char.IsControl) || displayName.Trim().Length == 0
            ? $"must be 1-{MaxDisplayName} characters without control characters, not only spaces; got {displayName.Length}."
            : null;

    public static string? CheckRoleId(string roleId) =>
        RoleIdPattern().IsMatch(roleId) ? null : "must be 1-64 of lower-case letters, digits and '_', starting with a letter, e.g. 'game_master'.";

    public static bool IsValidScope(string scope) => scope == "*" || ScopePattern().IsMatch(scope);

    /// <summary>Whether <paramref name="granted"/> (the account's scopes) covers <paramref name="wanted"/>.</summary>
    public static bool Covers(IEnumerable<string> granted, string wanted) =>
        granted.Any(g => Mesh.MeshPrincipal.Grants(g, wanted));

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex UsernamePattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s.]+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex RoleIdPattern();

    [GeneratedRegex(@"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*(\.\*)?$")]
    private static partial Regex ScopePattern();
}
