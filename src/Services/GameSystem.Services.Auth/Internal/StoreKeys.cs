using System.Security.Cryptography;
using System.Text;
using GameSystem.State;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Where auth keeps its state, in three partitions (the part in braces: what changes together
/// in one transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{accounts}</c>: accounts, the username and e-mail claims that make both unique, roles,
/// sessions, refresh-token lookups, the ordered indexes the listings page, request ids and the
/// event outbox. One partition because the rules that matter span these: a username is
/// claimed in the transaction that creates its account, a refresh token rotates in the
/// transaction that moves its session, a role cannot be deleted while an account holds it,
/// disabling an account and revoking its sessions is one step. Auth's write rate is bounded
/// by Argon2 (tens of milliseconds of CPU a login) and by refreshes every few minutes per
/// player: one shard carries that with room to spare.
/// </para>
/// <para>
/// <c>{keys}</c>: the signing keys and the pointer to the current one (read by every
/// instance, written once a rotation).
/// </para>
/// <para>
/// <c>{throttle}</c>: login-failure counters, fixed windows with a TTL.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    private const string Accounts = "auth/{accounts}/";
    private const string Keys = "auth/{keys}/";
    private const string Throttle = "auth/{throttle}/";

    /// <summary>Between a sort key and an id in index members: below every character of a username or e-mail.</summary>
    public const char MemberSeparator = ' ';

    /// <summary>Index of every account, members <c>&lt;lower username&gt; &lt;id&gt;</c>.</summary>
    public const string Usernames = Accounts + "index/usernames";

    /// <summary>Index of every account by e-mail, members <c>&lt;lower e-mail&gt; &lt;id&gt;</c>.</summary>
    public const string Emails = Accounts + "index/emails";

    /// <summary>Index of disabled accounts, members as <see cref="Usernames"/>.</summary>
    public const string Disabled = Accounts + "index/disabled";

    /// <summary>Index of role ids.</summary>
    public const string RoleIds = Accounts + "index/roles";

    /// <summary>The signing-key pointer (<see cref="KeyRingRecord"/>).</summary>
    public const string KeyRing = Keys + "ring";

    /// <summary>Index of signing keys, members <c>&lt;sortable activate time&gt; &lt;key id&gt;</c>.</summary>
    public const string KeyIndex = Keys + "index";

    public static string Account(string accountId) => Accounts + "account/" + accountId;

    public static string UsernameClaim(string username) => Accounts + "username/" + Hashed(AccountRules.Normalize(username));

    public static string EmailClaim(string email) => Accounts + "email/" + Hashed(AccountRules.Normalize(email));

    public static string Role(string roleId) => Accounts + "role/" + roleId;

    /// <summary>Index of the accounts holding a role, members as <see cref="Usernames"/>.</summary>
    public static string RoleMembers(string roleId) => Accounts + "index/role-members/" + roleId;

    public static string Session(string sessionId) => Accounts + "session/" + sessionId;

    /// <summary>Index of an account's sessions, members <c>&lt;sortable create time&gt; &lt;session id&gt;</c>.</summary>
    public static string Sessions(string accountId) => Accounts + "index/sessions/" + accountId;

    /// <summary>Index of an account's sessions not revoked, as <see cref="Sessions"/>.</summary>
    public static string LiveSessions(string accountId) => Accounts + "index/live-sessions/" + accountId;

    /// <summary>The lookup of a refresh token by its SHA-256 (hex).</summary>
    public static string Refresh(ReadOnlySpan<byte> tokenHash) => Accounts + "refresh/" + Convert.ToHexStringLower(tokenHash);

    /// <summary>The session of a service instance.</summary>
    public static string ServiceSession(string serviceName, string instanceId) => Accounts + "service-session/" + serviceName + "/" + Hashed(instanceId);

    public static string Request(string rpc, string requestId) => Accounts + "request/" + rpc + "/" + Hashed(requestId);

    public static string SigningKey(string keyId) => Keys + "key/" + keyId;

    /// <summary>The failure counter of <paramref name="subject"/> (an account id, a login name or a caller) in window <paramref name="window"/>.</summary>
    public static string LoginFailures(string kind, string subject, long window) => Throttle + kind + "/" + Hashed(subject) + "/" + window;

    public static string Member(string sortKey, string id) => sortKey + MemberSeparator + id;

    /// <summary>The id at the end of an index member.</summary>
    public static string IdOf(string member) => member[(member.LastIndexOf(MemberSeparator) + 1)..];

    public static string SessionMember(Google.Protobuf.WellKnownTypes.Timestamp createTime, string sessionId) =>
        Member(StateIndex.SortableTime(createTime.ToDateTimeOffset()), sessionId);

    // Client text of any length and alphabet; its hash is always a valid key.
    private static string Hashed(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
