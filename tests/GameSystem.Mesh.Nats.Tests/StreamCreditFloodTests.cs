using GameSystem.MeshTest.V1;
using GameSystem.Testing;
using NATS.Client.Core;
using static GameSystem.Mesh.Nats.Tests.RawStream;
using static GameSystem.Mesh.Nats.Tests.StreamWireTests;

namespace GameSystem.Mesh.Nats.Tests;

[CollectionDefinition(nameof(StreamCreditFloodTests), DisableParallelization = true)]
public sealed class StreamCreditFloodRunsAlone;

/// <summary>
/// Half a million control messages: run alone, so the flood neither starves the timing
/// bounds of other tests on the shared machine nor is starved by them.
/// </summary>
[Collection(nameof(StreamCreditFloodTests))]
public sealed class StreamCreditFloodTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Stream_WhoseCreditGrantsAddUpBeyondAnInt_StillHearsItsClient()
    {
        await using var mesh = await MeshHarness.StartAsync(nats);
        await using var stream = await StartAsync(mesh, new CountRequest { Count = 1_000_000, DelayMs = 100 }, Headers(window: 4096, heartbeatMs: 1000), Timeout);
        Assert.Equal("open", KindOf(await stream.ExpectAsync(Soon, Timeout)));

        // A client that grants the whole window on every occasion: 4096 + 524,288 × 4096 passes 2^31 − 1.
        for (var i = 0; i < 524_288; i++)
        {
            await stream.SendAsync("credit", Timeout, credit: 4096);
        }

        await stream.SendAsync("cancel", Timeout);
        NatsMsg<byte[]> end = default;
        for (var i = 0; i < 10_000 && KindOf(end = await stream.ExpectAsync(Soon, Timeout)) != "end"; i++)
        {
        }

        Assert.Equal("1", Header(end, "Nats-Service-Error-Code"));
    }
}
