using System.Text.RegularExpressions;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>The shapes of the ids and names state-manager accepts, each with the message that says what is wrong.</summary>
internal static partial class Ids
{
    public const int MaxPlayerIdLength = 128;
    public const int MaxItemIdLength = 128;
    public const int MaxCheckpointIdLength = 64;
    public const int MaxSessionIdLength = 64;
    public const int MaxWorldIdLength = 64;
    public const int MaxRequestIdLength = 128;
    public const int MaxAttributeKeyLength = 128;
    public const int MaxReasonLength = 256;

    /// <summary>INVALID_ARGUMENT on <paramref name="field"/> unless <paramref name="playerId"/> is a player id.</summary>
    public static void RequirePlayer(string playerId, string field = "player_id") =>
        Errors.Require(PlayerIdPattern().IsMatch(playerId) && playerId.Length <= MaxPlayerIdLength, field, playerId.Length == 0
            ? "is required: the id of the player (account), e.g. 'acc-7f3a'."
            : $"'{Shorten(playerId)}' is not a player id: 1-{MaxPlayerIdLength} letters, digits and '-', '_', '.', ':', '@', starting with a letter or digit{LengthNote(playerId, MaxPlayerIdLength)}.");

    /// <summary>INVALID_ARGUMENT on <paramref name="field"/> unless <paramref name="itemId"/> is an item id.</summary>
    public static void RequireItem(string itemId, string field) => Errors.Require(IsItem(itemId), field, ItemRule(itemId));

    public static bool IsItem(string itemId) => itemId.Length <= MaxItemIdLength && ItemIdPattern().IsMatch(itemId);

    public static string ItemRule(string itemId) => itemId.Length == 0
        ? "is required: an item id such as 'item.potion.minor-healing'."
        : $"'{Shorten(itemId)}' is not an item id: 1-{MaxItemIdLength} lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. 'item.sword.iron'{LengthNote(itemId, MaxItemIdLength)}.";

    public static void RequireCheckpoint(string checkpointId, string field) =>
        Errors.Require(checkpointId.Length <= MaxCheckpointIdLength && SlugPattern().IsMatch(checkpointId), field, checkpointId.Length == 0
            ? "is required: 1-64 characters of [a-z0-9-], e.g. 'slot-1' or 'quicksave'."
            : $"'{Shorten(checkpointId)}' is not a checkpoint id: 1-{MaxCheckpointIdLength} characters of [a-z0-9-], e.g. 'slot-1' or 'quicksave'{LengthNote(checkpointId, MaxCheckpointIdLength)}.");

    public static void RequireWorld(string worldId, string field = "world_id") =>
        Errors.Require(worldId.Length <= MaxWorldIdLength && WorldIdPattern().IsMatch(worldId), field, worldId.Length == 0
            ? "is required: the world (shard) to play in, e.g. 'hub'."
            : $"'{Shorten(worldId)}' is not a world id: 1-{MaxWorldIdLength} letters, digits, '.', '_', ':' and '-'{LengthNote(worldId, MaxWorldIdLength)}.");

    /// <summary>INVALID_ARGUMENT unless a request id is present (when <paramref name="required"/>) and at most 128 characters without control characters.</summary>
    public static void RequireRequestId(string requestId, bool required)
    {
        Errors.Require(!required || requestId.Length > 0, "request_id", "is required: a client-chosen id (a UUID, or the deterministic key of the grant such as 'quest:p-1:q-7:1') that makes retries apply once.");
        Errors.Require(requestId.Length <= MaxRequestIdLength, "request_id", $"is at most {MaxRequestIdLength} characters; got {requestId.Length}.");
        Errors.Require(!requestId.Any(char.IsControl), "request_id", "must not contain control characters.");
    }

    public static void RequireReason(string reason) =>
        Errors.Require(reason.Length <= MaxReasonLength && !reason.Any(char.IsControl), "reason", $"is an audit note of at most {MaxReasonLength} characters without control characters, e.g. 'quest-reward:q-7'; got {reason.Length} characters.");

    public static bool IsAttributeKey(string key) => key.Length <= MaxAttributeKeyLength && AttributeKeyPattern().IsMatch(key);

    public static string AttributeKeyRule(string key) =>
        $"'{Shorten(key)}' is not an attribute key: 1-{MaxAttributeKeyLength} characters of [a-zA-Z0-9._-], e.g. 'health' or 'flags.met_mayor'{LengthNote(key, MaxAttributeKeyLength)}.";

    /// <summary>The player and checkpoint of <c>players/{player_id}/checkpoints/{checkpoint_id}</c>, or INVALID_ARGUMENT on <c>name</c>.</summary>
    public static (string PlayerId, string CheckpointId) ParseCheckpointName(string name)
    {
        var (playerId, id) = Parse(name, "checkpoints", "players/acc-7f3a/checkpoints/slot-1");
        RequireCheckpoint(id, "name");
        return (playerId, id);
    }

    /// <summary>The player and session of <c>players/{player_id}/sessions/{session_id}</c>, or INVALID_ARGUMENT on <c>name</c>.</summary>
    public static (string PlayerId, string SessionId) ParseSessionName(string name)
    {
        var (playerId, id) = Parse(name, "sessions", "players/acc-7f3a/sessions/0192f6e4-…");
        Errors.Require(id.Length <= MaxSessionIdLength && SlugPattern().IsMatch(id), "name", $"'{Shorten(name)}' names no session: the session id is 1-{MaxSessionIdLength} characters of [a-z0-9-], as StartSession returned it.");
        return (playerId, id);
    }

    public static string CheckpointName(string playerId, string checkpointId) => $"players/{playerId}/checkpoints/{checkpointId}";

    public static string SessionName(string playerId, string sessionId) => $"players/{playerId}/sessions/{sessionId}";

    private static (string PlayerId, string Id) Parse(string name, string collection, string example)
    {
        Errors.Require(name.Length > 0, "name", $"is required: the resource name, e.g. '{example}'.");
        var parts = name.Split('/');
        Errors.Require(parts.Length == 4 && parts[0] == "players" && parts[2] == collection, "name", $"'{Shorten(name)}' is not a name of the form 'players/{{player_id}}/{collection}/{{id}}', e.g. '{example}'.");
        RequirePlayer(parts[1], "name");
        return (parts[1], parts[3]);
    }

    private static string LengthNote(string value, int max) => value.Length > max ? $"; it has {value.Length} characters" : "";

    private static string Shorten(string value) => value.Length > 80 ? value[..77] + "..." : value;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:@-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PlayerIdPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex ItemIdPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex SlugPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex WorldIdPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex AttributeKeyPattern();
}
