using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>
/// Where quest-system keeps its state, in two kinds of partition (the part in braces: what
/// changes together in one transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{quests}</c>: the definitions, every version of each, the ordered indexes of all and of
/// the published ones, the prerequisite graph and CreateQuestDefinition's request ids. A game has
/// hundreds to a few thousand quests, written by designers; one partition lets every definition
/// write check the whole prerequisite graph in its own transaction.
/// </para>
/// <para>
/// <c>{player:&lt;id&gt;}</c>: one player's quest log (a record per quest), its index by last
/// change, the set of active quests, the offers bought that unlock quests, the request and report
/// ids, and the two outboxes: the events (<c>quest-system</c>) and the reward grants still to be
/// acknowledged (<see cref="GrantOutbox"/>). Accepting, progressing, completing (with its grant),
/// abandoning and failing are each one transaction here.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    /// <summary>The outbox of reward grants, drained by the grant worker.</summary>
    public const string GrantOutbox = "quest-system-grants";

    private const string Service = "quest-system/";
    private const string Quests = Service + "{quests}/";

    /// <summary>Index of every quest id.</summary>
    public const string DefinitionIds = Quests + "ids";

    /// <summary>Index of the ids of PUBLISHED quests.</summary>
    public const string PublishedIds = Quests + "published";

    /// <summary>The <see cref="PrerequisiteGraph"/>.</summary>
    public const string Graph = Quests + "graph";

    public static string Definition(string questId) => Quests + "def/" + questId;

    public static string DefinitionVersion(string questId, long version) => Quests + "def/" + questId + "/v/" + version.ToString(CultureInfo.InvariantCulture);

    public static string CreateRequest(string requestId) => Quests + "request/" + Hash(requestId);

    /// <summary>The partition of a player's log; its outboxes' partition too.</summary>
    public static string PlayerPartition(string playerId) => "player:" + playerId;

    private static string Player(string playerId) => Service + "{" + PlayerPartition(playerId) + "}/";

    public static string PlayerQuest(string playerId, string questId) => Player(playerId) + "quest/" + questId;

    /// <summary>Index of the log, <c>&lt;sortable update time&gt;/&lt;quest_id&gt;</c>.</summary>
    public static string Log(string playerId) => Player(playerId) + "log";

    /// <summary>Index of the quest ids that are ACTIVE.</summary>
    public static string Active(string playerId) => Player(playerId) + "active";

    public static string Offer(string playerId, string offerId) => Player(playerId) + "offer/" + offerId;

    // Ids are client text of any length and alphabet; their hash is always a valid key.
    public static string Request(string playerId, string rpc, string requestId) => Player(playerId) + "request/" + rpc + "/" + Hash(requestId);

    public static string Report(string playerId, string reportId) => Player(playerId) + "report/" + Hash(reportId);

    /// <summary>The grant key of an attempt, the contract's <c>quest:{player_id}:{quest_id}:{attempt}</c>.</summary>
    public static string GrantKey(string playerId, string questId, int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"quest:{playerId}:{questId}:{attempt}");

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
