using Microsoft.Extensions.Time.Testing;

namespace GameSystem.State.Tests;

public sealed class InMemoryStateStoreTests : StateStoreContract
{
    private readonly FakeTimeProvider _time = new();

    public InMemoryStateStoreTests() => Store = new InMemoryStateStore(_time);

    protected override IStateStore Store { get; }

    protected override TimeSpan ShortTtl => TimeSpan.FromMinutes(5);

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}
