using GameSystem.Common.V1;
using GameSystem.Events;
using GameSystem.LanguageSystem.V1;
using GameSystem.Services.Testing;
using GameSystem.State;
using GameSystem.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Services.LanguageSystem.Tests;

/// <summary>
/// The language-system served over a real nats-server on a unique subject prefix, a generated
/// client, and the store it writes to (with its outboxes), as a relay would read them.
/// </summary>
internal sealed class LanguageSystemHarness(ServiceMesh mesh, IStateStore store) : IAsyncDisposable
{
    public const string OutboxName = "language-system";

    public LanguageSystemServiceClient Client { get; } = new(mesh.Invoker);

    /// <summary>The store the service writes to.</summary>
    public IStateStore Store => store;

    /// <summary>Starts the service on <paramref name="store"/>, which it may not scan by prefix (<see cref="IndexOnlyStore"/>).</summary>
    public static async Task<LanguageSystemHarness> StartAsync(NatsServerFixture nats, IStateStore store, TimeProvider time) =>
        new(await ServiceMesh.StartAsync(nats, "language-system", _ => [new LanguageSystemService(new IndexOnlyStore(store), new EventOutbox(OutboxName, time), time, NullLogger<LanguageSystemService>.Instance)]), store);

    /// <summary>
    /// Every event in the outbox of <paramref name="partition"/>, oldest first (claimed, never
    /// completed, so a later read sees them again).
    /// </summary>
    public async Task<List<DomainEvent>> EventsAsync(string partition, CancellationToken cancellationToken)
    {
        var outboxes = Assert.IsAssignableFrom<IStateOutboxStore>(store);
        var claim = await outboxes.ClaimOutboxAsync(OutboxName, partition, "contract-test", TimeSpan.FromMinutes(1), StateKeys.MaxPageSize, cancellationToken);
        Assert.True(claim.Claimed);
        return [.. claim.Messages.Select(m => DomainEvent.Parser.ParseFrom(m.Payload.Span))];
    }

    /// <summary>The partitions whose outbox holds events.</summary>
    public async Task<List<string>> EventPartitionsAsync(CancellationToken cancellationToken)
    {
        var outboxes = Assert.IsAssignableFrom<IStateOutboxStore>(store);
        var partitions = new List<string>();
        await foreach (var partition in outboxes.ListOutboxPartitionsAsync(OutboxName, cancellationToken))
        {
            if ((await outboxes.ClaimOutboxAsync(OutboxName, partition, "contract-test", TimeSpan.FromMinutes(1), 1, cancellationToken)).Pending > 0)
            {
                partitions.Add(partition);
            }
        }

        return [.. partitions.Order(StringComparer.Ordinal)];
    }

    public ValueTask DisposeAsync() => mesh.DisposeAsync();
}
