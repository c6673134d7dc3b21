using GameSystem.EventBus.V1;
using GameSystem.Services.Testing;

namespace GameSystem.Services.EventBus.Tests;

/// <summary>
/// Who may call what, as the contract declares it: a contract edit that drops or changes a
/// method's access or scope, or a new method nobody decided on, fails here.
/// </summary>
public sealed class ContractAccessTests
{
    [Fact]
    public void EveryMethod_NeedsAScope_SoNoPlayerToken_ReadsOrWritesEvents()
    {
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            // Raising events, and consuming them (a durable Subscribe and its Ack create and move a consumer).
            ["Publish"] = "authenticated event-bus.write",
            ["PublishBatch"] = "authenticated event-bus.write",
            ["Subscribe"] = "authenticated event-bus.write",
            ["Ack"] = "authenticated event-bus.write",

            // Reading events and the state of streams and consumers.
            ["GetEvent"] = "authenticated event-bus.read",
            ["GetStreamInfo"] = "authenticated event-bus.read",
            ["ListStreams"] = "authenticated event-bus.read",
            ["GetConsumer"] = "authenticated event-bus.read",
            ["ListConsumers"] = "authenticated event-bus.read",

            // Throws away a consumer's position: operators only.
            ["DeleteConsumer"] = "authenticated event-bus.admin",
        };

        Assert.Equal(expected, ContractAccess.Of(typeof(IEventBusService)));
    }
}
