using System.Text;
using Bogus;
using GameSystem.Common.V1;
using GameSystem.Mesh;
using GameSystem.State;
using GameSystem.Testing;
using GameSystem.WorldState.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>The world-state contract through the generated client over nats-server, run once per state store.</summary>
public abstract partial class WorldStateContract(NatsServerFixture nats)
{
    /// <summary>What a game's regions hold: a kind and how its properties look.</summary>
    private static readonly string[] Kinds = ["npc", "chest", "door", "lever", "resource.ore", "resource.herb"];

    private static readonly string[] RegionTags = ["town", "forest", "dungeon", "indoors", "safe-zone", "pvp"];

    private static readonly string[] EntityTags = ["hostile", "friendly", "quest-item", "merchant", "locked", "hidden"];

    private readonly Faker _faker = new() { Random = new Randomizer(20261204) };
    private int _ids;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IStateStore> CreateStoreAsync();

    private async Task<WorldStateHarness> StartAsync(int instances = 1, WorldStateOptions? options = null) =>
        await WorldStateHarness.StartAsync(nats, await CreateStoreAsync(), await CreateStoreAsync(), instances, options);

    private string NewWorld() => "realm-" + _faker.Random.AlphaNumeric(6).ToLowerInvariant();

    /// <summary>A region id such as <c>aldermere.market-3</c>: a town name and a unique suffix.</summary>
    private string NewRegionId(string? within = null) =>
        (within is null ? Slug(_faker.Address.City()) : within + "." + Slug(_faker.Commerce.Department())) + "-" + Interlocked.Increment(ref _ids);

    private static string NewRequestId() => Guid.NewGuid().ToString();

    private static string Slug(string text)
    {
        var slug = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        var trimmed = slug.ToString().Trim('-');
        return trimmed.Length == 0 ? "place" : trimmed[..Math.Min(trimmed.Length, 40)];
    }

    private static TypedValue Int(long value) => new() { IntValue = value };

    private static TypedValue Text(string value) => new() { StringValue = value };

    private static TypedValue Flag(bool value) => new() { BoolValue = value };

    private static TypedValue Real(double value) => new() { DoubleValue = value };

    private Region NewRegion(string worldId, string? regionId = null, string parent = "") => new()
    {
        RegionId = regionId ?? NewRegionId(),
        WorldId = worldId,
        DisplayName = _faker.Address.City(),
        ParentRegionId = parent,
        Bounds = new Bounds { Min = new Vector3 { X = -500, Y = 0, Z = -500 }, Max = new Vector3 { X = 500, Y = 120, Z = 500 } },
        Properties =
        {
            ["climate"] = Text(_faker.PickRandom("temperate", "arid", "arctic", "tropical")),
            ["danger_level"] = Int(_faker.Random.Int(0, 10)),
            ["gate_open"] = Flag(false),
        },
        Tags = { _faker.PickRandom(RegionTags) },
    };

    /// <summary>An entity as a game places it: an NPC with hit points, a chest with gold, a door that may be locked …</summary>
    private Entity NewEntity(string? kind = null, Vector3? at = null)
    {
        kind ??= _faker.PickRandom(Kinds);
        var entity = new Entity
        {
            EntityId = kind.Replace('.', '-') + "." + Slug(_faker.Name.FirstName()) + "-" + Interlocked.Increment(ref _ids),
            Kind = kind,
            DisplayName = kind == "npc" ? _faker.Name.FullName() : _faker.Commerce.ProductName(),
            Position = at ?? new Vector3 { X = Math.Round(_faker.Random.Double(-400, 400), 2), Y = 0, Z = Math.Round(_faker.Random.Double(-400, 400), 2) },
            Tags = { _faker.PickRandom(EntityTags) },
        };
        switch (kind)
        {
            case "npc":
                entity.Properties["hp"] = Int(_faker.Random.Int(10, 200));
                entity.Properties["hostile"] = Flag(_faker.Random.Bool());
                entity.Properties["mood"] = Text(_faker.PickRandom("calm", "wary", "angry"));
                break;
            case "chest":
                entity.Properties["locked"] = Flag(_faker.Random.Bool());
                entity.Properties["gold"] = Int(_faker.Random.Int(0, 500));
                break;
            case "door":
                entity.Properties["open"] = Flag(false);
                entity.Properties["key_id"] = Text("item.key." + Slug(_faker.Lorem.Word()));
                break;
            default:
                entity.Properties["yield"] = Real(Math.Round(_faker.Random.Double(0.5, 3), 2));
                break;
        }

        return entity;
    }

    private static async Task<Region> CreateRegionAsync(WorldStateHarness harness, Region region) =>
        (await harness.BuilderClient.CreateRegionAsync(new CreateRegionRequest { Region = region, RequestId = NewRequestId() }, cancellationToken: Timeout)).Region;

    private static async Task<Entity> CreateEntityAsync(WorldStateHarness harness, string regionId, Entity entity) =>
        (await harness.Client.CreateEntityAsync(new CreateEntityRequest { RegionId = regionId, Entity = entity, RequestId = NewRequestId() }, cancellationToken: Timeout)).Entity;

    /// <summary>A region of a fresh world with <paramref name="entities"/> seeded entities.</summary>
    private async Task<(Region Region, List<Entity> Entities)> SeedAsync(WorldStateHarness harness, int entities, string? worldId = null)
    {
        var region = await CreateRegionAsync(harness, NewRegion(worldId ?? NewWorld()));
        var created = new List<Entity>();
        for (var i = 0; i < entities; i++)
        {
            created.Add(await CreateEntityAsync(harness, region.RegionId, NewEntity()));
        }

        return (region, created);
    }

    private static async Task<Region> RegionAsync(WorldStateServiceClient client, string regionId) =>
        (await client.GetRegionAsync(new GetRegionRequest { RegionId = regionId }, cancellationToken: Timeout)).Region;

    private static async Task<Entity> EntityAsync(WorldStateServiceClient client, string regionId, string entityId) =>
        (await client.GetEntityAsync(new GetEntityRequest { RegionId = regionId, EntityId = entityId }, cancellationToken: Timeout)).Entity;

    private static WorldEvent Event(string regionId, string type, params Mutation[] mutations) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        RegionId = regionId,
        Type = type,
        Source = "quest-system",
        Subject = "players/acc-" + Guid.NewGuid().ToString("N")[..8],
        Mutations = { mutations },
        OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    };

    private static async Task<ApplyWorldEventResponse> ApplyAsync(WorldStateServiceClient client, WorldEvent worldEvent) =>
        await client.ApplyWorldEventAsync(new ApplyWorldEventRequest { Event = worldEvent }, cancellationToken: Timeout);

    private static Mutation SetProperty(string entityId, string key, TypedValue value, long expectedVersion = 0) =>
        new() { SetProperty = new SetPropertyMutation { EntityId = entityId, Key = key, Value = value }, ExpectedEntityVersion = expectedVersion };

    private static Mutation Increment(string entityId, string key, long delta) =>
        new() { IncrementProperty = new IncrementPropertyMutation { EntityId = entityId, Key = key, IntDelta = delta } };

    private static Mutation Remove(string entityId, string key) =>
        new() { RemoveProperty = new RemovePropertyMutation { EntityId = entityId, Key = key } };

    private static Mutation Move(string entityId, Vector3? position, string toRegionId = "") =>
        new() { MoveEntity = new MoveEntityMutation { EntityId = entityId, Position = position, ToRegionId = toRegionId } };

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] mentions)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode, $"expected {code}, got {error.StatusCode}: {error.Status.Detail}");
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Status.Detail, StringComparison.Ordinal);
        }

        return error;
    }

    /// <summary>The field names of an INVALID_ARGUMENT's google.rpc.BadRequest.</summary>
    private static List<string> Violations(RpcException error)
    {
        var badRequest = Assert.Single(error.GetRpcStatus().Details).Unpack<Google.Rpc.BadRequest>();
        return [.. badRequest.FieldViolations.Select(v => v.Field)];
    }

    private static async Task<List<string>> ViolationsOfAsync(Func<Task> call) => Violations(await FailsAsync(StatusCode.InvalidArgument, call));
}
