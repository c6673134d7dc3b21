using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// Where world-state keeps its state, in two kinds of partition (the part in braces: what
/// changes together in one transaction, on one Redis Cluster shard).
/// </summary>
/// <remarks>
/// <para>
/// <c>{world:&lt;id&gt;}</c>: everything of one world. Its regions (<c>region/&lt;id&gt;</c>), its
/// entities (<c>entity/&lt;id&gt;</c>: ids are unique within a world, so the key is the uniqueness
/// check), each region's change log (<c>change/&lt;region&gt;/&lt;generation&gt;/&lt;version&gt;</c>,
/// kept <see cref="WorldStateOptions.ChangeRetention"/>), the applied events and request-id
/// claims, the indexes (the world's regions, each region's children, entities, entities per kind
/// and per tag) and the outbox of the world's events. A world event, a move between two regions
/// and a region's deletion with its entities are each one transaction here.
/// </para>
/// <para>
/// <c>{world-state:directory}</c>: which world each region id is in (region ids are unique
/// across worlds and requests name only the region), the index of every region id and the index
/// of every world. A region's directory entry is written before the region (CreateRegion) and
/// removed after it (DeleteRegion); an entry without its region is ignored by every read.
/// </para>
/// </remarks>
internal static class StoreKeys
{
    private const string Service = "world-state/";
    private const string Directory = Service + "{world-state:directory}/";

    /// <summary>Index of every region id, across worlds.</summary>
    public const string AllRegions = Directory + "regions";

    /// <summary>Index of every world id that has had a region.</summary>
    public const string Worlds = Directory + "worlds";

    public static string RegionDirectory(string regionId) => Directory + "region/" + regionId;

    /// <summary>The partition of a world's keys; its outbox partition too.</summary>
    public static string WorldPartition(string worldId) => "world:" + worldId;

    private static string World(string worldId) => Service + "{" + WorldPartition(worldId) + "}/";

    public static string Region(string worldId, string regionId) => World(worldId) + "region/" + regionId;

    public static string Entity(string worldId, string entityId) => World(worldId) + "entity/" + entityId;

    /// <summary>Index of the world's region ids.</summary>
    public static string WorldRegions(string worldId) => World(worldId) + "regions";

    /// <summary>Index of a region's direct children.</summary>
    public static string Children(string worldId, string regionId) => World(worldId) + "children/" + regionId;

    /// <summary>Index of a region's entity ids.</summary>
    public static string Entities(string worldId, string regionId) => World(worldId) + "entities/" + regionId;

    /// <summary>Index of a region's entity ids of one kind.</summary>
    public static string EntitiesOfKind(string worldId, string regionId, string kind) => World(worldId) + "kind/" + regionId + "/" + kind;

    /// <summary>Index of a region's entity ids with one tag.</summary>
    public static string EntitiesWithTag(string worldId, string regionId, string tag) => World(worldId) + "tag/" + regionId + "/" + tag;

    public static string Change(string worldId, string regionId, string generation, long version) =>
        World(worldId) + "change/" + regionId + "/" + generation + "/" + version.ToString(CultureInfo.InvariantCulture);

    // Ids are client text; their hash is always a valid key of fixed length.
    public static string Event(string worldId, string eventId) => World(worldId) + "event/" + Hash(eventId);

    public static string Request(string worldId, string rpc, string requestId) => World(worldId) + "request/" + rpc + "/" + Hash(requestId);

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
