using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// Where settings keeps its state, in three kinds of partition (the part in braces: what
/// changes together in one transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{definitions}</c>: every <see cref="DefinitionRecord"/>, the ordered indexes
/// ListSettingDefinitions and ListEffectiveSettings page (all keys, player-overridable keys,
/// <c>&lt;category&gt;/&lt;key&gt;</c>), CreateSettingDefinition's request ids and the outbox of
/// global changes. A game has hundreds to a few thousand settings, written by operators:
/// one partition is no hot spot, and a definition and its index entries change together.
/// </para>
/// <para>
/// <c>{player:&lt;id&gt;}</c>: one player's overrides, the index of the keys they override,
/// their revision (every write moves and requires it), the request ids of their writes and
/// the outbox of their changes. Everything a batch
/// touches is here, so BatchSetPlayerSettings is one all-or-nothing transaction, and
/// players spread over the shards.
/// </para>
/// <para>
/// <c>{overriders:&lt;key&gt;}</c>: the index of players who may override a key, which
/// UpdateSettingDefinition and DeleteSettingDefinition walk. It cannot change in the
/// player's transaction (another partition), so it is a superset: a member is added before
/// the override is written and removed after it is cleared; a stale member only costs a read.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    private const string Service = "settings/";
    private const string Definitions = Service + "{definitions}/";

    /// <summary>The partition of the definitions.</summary>
    public const string DefinitionsPartition = "definitions";

    /// <summary>Index of every defined key.</summary>
    public const string AllKeys = Definitions + "keys";

    /// <summary>Index of the keys players may override.</summary>
    public const string OverridableKeys = Definitions + "overridable-keys";

    /// <summary>Index of <c>&lt;category&gt;/&lt;key&gt;</c> for every definition with a category.</summary>
    public const string CategoryKeys = Definitions + "category-keys";

    public static string Definition(string key) => Definitions + "definition/" + key;

    public static string CategoryMember(string category, string key) => category + "/" + key;

    public static string DefinitionRequest(string rpc, string requestId) => Definitions + Request(rpc, requestId);

    public static string PlayerPartition(string playerId) => "player:" + playerId;

    public static string Override(string playerId, string key) => PlayerPrefix(playerId) + "override/" + key;

    /// <summary>The player's <see cref="PlayerRevision"/>.</summary>
    public static string PlayerRevisionKey(string playerId) => PlayerPrefix(playerId) + "revision";

    /// <summary>Index of the keys a player overrides.</summary>
    public static string PlayerKeys(string playerId) => PlayerPrefix(playerId) + "keys";

    public static string PlayerRequest(string playerId, string rpc, string requestId) => PlayerPrefix(playerId) + Request(rpc, requestId);

    /// <summary>Index of the players who may hold an override of <paramref name="key"/> (a superset).</summary>
    public static string Overriders(string key) => Service + "{overriders:" + key + "}/players";

    private static string PlayerPrefix(string playerId) => Service + "{" + PlayerPartition(playerId) + "}/";

    // The id is client text of any length and alphabet; its hash is always a valid key.
    private static string Request(string rpc, string requestId) =>
        "request/" + rpc + "/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));
}
