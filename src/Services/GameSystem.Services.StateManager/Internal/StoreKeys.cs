using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GameSystem.StateManager.V1;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>
/// Where state-manager keeps its state, in two kinds of partition (the part in braces: what
/// changes together in one transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{player:&lt;id&gt;}</c>: everything of one player. <c>current</c> (the latest
/// <see cref="PlayerState"/>, inventory and experience inside it), <c>version/&lt;n&gt;</c>
/// (the last retained versions), the checkpoints and their indexes, the sessions, their index and
/// the active-session pointer, the request ids of the player's writes and the outbox of the
/// player's events. A save, an inventory change, a grant and a rollback are each one transaction
/// here, so a rollback restores state, inventory and experience together or not at all, and
/// players spread over the shards.
/// </para>
/// <para>
/// <c>{items}</c>: the item definitions and their ordered index. A game has hundreds to a few
/// thousand items, written by operators; AddItems reads them outside the player's transaction
/// (a definition change applies to later adds, as the contract says).
/// </para>
/// </remarks>
internal static class StoreKeys
{
    private const string Service = "state-manager/";
    private const string Items = Service + "{items}/";

    /// <summary>Index of every item id.</summary>
    public const string ItemIds = Items + "ids";

    public static string Item(string itemId) => Items + "item/" + itemId;

    /// <summary>The partition a player's keys are in; its outbox partition too.</summary>
    public static string PlayerPartition(string playerId) => "player:" + playerId;

    /// <summary>Everything stored for <paramref name="playerId"/> starts with this.</summary>
    public static string PlayerPrefix(string playerId) => Service + "{" + PlayerPartition(playerId) + "}/";

    /// <summary>The latest <see cref="PlayerState"/>.</summary>
    public static string Current(string playerId) => PlayerPrefix(playerId) + "current";

    /// <summary>A retained earlier (or the latest) version.</summary>
    public static string Version(string playerId, long version) => PlayerPrefix(playerId) + "version/" + version.ToString(CultureInfo.InvariantCulture);

    public static string Checkpoint(string playerId, string checkpointId) => PlayerPrefix(playerId) + "checkpoint/" + checkpointId;

    /// <summary>Index of every checkpoint, <c>&lt;sortable create time&gt;/&lt;id&gt;</c>.</summary>
    public static string Checkpoints(string playerId) => PlayerPrefix(playerId) + "checkpoints";

    /// <summary>Index of the checkpoints of one kind, same members.</summary>
    public static string CheckpointsOfKind(string playerId, CheckpointKind kind) => PlayerPrefix(playerId) + "checkpoints-" + ((int)kind).ToString(CultureInfo.InvariantCulture);

    public static string Session(string playerId, string sessionId) => PlayerPrefix(playerId) + "session/" + sessionId;

    /// <summary>Index of every session, <c>&lt;sortable start time&gt;/&lt;id&gt;</c>.</summary>
    public static string Sessions(string playerId) => PlayerPrefix(playerId) + "sessions";

    /// <summary>The <see cref="ActiveSessionRecord"/> of the player.</summary>
    public static string ActiveSession(string playerId) => PlayerPrefix(playerId) + "active-session";

    /// <summary>Keys under this are request-id claims; DeletePlayerState leaves them to expire so a late retry cannot resurrect a deleted player.</summary>
    public static string RequestPrefix(string playerId) => PlayerPrefix(playerId) + "request/";

    // The id is client text of any length and alphabet; its hash is always a valid key.
    public static string Request(string playerId, string rpc, string requestId) =>
        RequestPrefix(playerId) + rpc + "/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));
}
