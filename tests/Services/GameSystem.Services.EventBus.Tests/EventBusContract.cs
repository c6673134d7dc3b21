using Bogus;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Mesh;
using GameSystem.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.EventBus.Tests;

/// <summary>The event-bus contract through the generated client over a real nats-server with JetStream.</summary>
public sealed partial class EventBusContract(NatsServerFixture nats)
{
    private static readonly Faker Faker = new() { Random = new Randomizer(20261201) };
    private static readonly Duration FastHeartbeat = Duration.FromTimeSpan(TimeSpan.FromSeconds(1));

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private Task<EventBusHarness> StartAsync(EventBusOptions? options = null, string? ns = null) => EventBusHarness.StartAsync(nats.Url, options, ns);

    private static DomainEvent NewEvent(string type = "quest.completed", string? subject = null) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        Type = type,
        Source = "quest-system",
        Subject = subject ?? $"players/{Faker.Internet.UserName()}",
        Attributes = { ["quest"] = new TypedValue { StringValue = Faker.Lorem.Slug() }, ["xp"] = new TypedValue { IntValue = Faker.Random.Int(10, 500) } },
        Payload = ByteString.CopyFromUtf8(Faker.Lorem.Sentence()),
        PayloadType = "gamesystem.quest_system.v1.QuestCompleted",
    };

    private static async Task<List<PublishResponse>> PublishAsync(EventBusHarness bus, int count, string type = "quest.completed", string? subject = null)
    {
        var published = new List<PublishResponse>();
        for (var i = 0; i < count; i++)
        {
            published.Add(await bus.Client.PublishAsync(new PublishRequest { Event = NewEvent(type, subject) }, cancellationToken: Timeout));
        }

        return published;
    }

    private static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == error.StatusCode, $"expected {code}, got {error.StatusCode}: {error.Status.Detail}");
        return error;
    }

    /// <summary>The field the google.rpc.BadRequest of an INVALID_ARGUMENT names.</summary>
    private static string ViolatedField(RpcException error)
    {
        var status = error.GetRpcStatus();
        var badRequest = Assert.Single(status.Details).Unpack<Google.Rpc.BadRequest>();
        return Assert.Single(badRequest.FieldViolations).Field;
    }

    private static SubscribeRequest Durable(string consumer, DeliverPolicy policy = DeliverPolicy.Unspecified, int maxUnacked = 0) => new()
    {
        Stream = "events",
        ConsumerName = consumer,
        DeliverPolicy = policy,
        MaxUnacked = maxUnacked,
        HeartbeatInterval = FastHeartbeat,
    };

    private static string NewConsumerName() => $"quest-system.{Faker.Hacker.Noun().Replace(' ', '-')}-{Faker.Random.AlphaNumeric(6)}";
}
