using GameSystem.CapabilityRegistry.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using NATS.Client.Core;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>The host's side when capability-registry stops answering: stopping must still end, and quietly.</summary>
public sealed class RegistrationStopTests
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Registration_DisposedWhileItsCallHangs_EndsAtOnce_WithoutThrowing(bool natsDown)
    {
        // A registry that takes the requests and never answers (stuck or partitioned), or no
        // NATS at all (the server went first): the registration's background call is still
        // waiting, or not even sent, when the host disposes it.
        await using var server = await NatsServerFixture.StartAsync();
        var prefix = "silent" + Guid.NewGuid().ToString("N")[..10];
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = $"nats://127.0.0.1:{server.Port}", Name = "silent-registry" });
        await connection.ConnectAsync();
        var received = 0;
        var silent = Task.Run(async () =>
        {
            await foreach (var _ in connection.SubscribeAsync<byte[]>(prefix + ".>", cancellationToken: Timeout))
            {
                Interlocked.Increment(ref received);
            }
        }, Timeout);
        await connection.PingAsync(Timeout);
        var client = new CapabilityRegistryServiceClient(new NatsMeshClient(connection, MeshClientOptions.Default with { SubjectPrefix = prefix }));
        var registration = new CapabilityRegistration(
            client, "weather-manager", "weather-manager-" + Guid.NewGuid().ToString("N")[..6], "gs.weather-manager",
            [new Capability { Name = "weather.forecast", Version = "v1" }], TimeSpan.FromMilliseconds(300));

        using (var first = CancellationTokenSource.CreateLinkedTokenSource(Timeout))
        {
            first.CancelAfter(TimeSpan.FromMilliseconds(200));
            await registration.StartAsync(first.Token); // the first Register gives up; the background loop retries
        }

        while (Volatile.Read(ref received) < 2)
        {
            await Task.Delay(20, Timeout); // the background loop's Register is in flight
        }

        if (natsDown)
        {
            await server.KillAsync();
            await Task.Delay(400, Timeout); // the loop's next Register finds no connection
        }

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await registration.DisposeAsync();
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(2), $"Disposing took {stopping.Elapsed}.");
        Assert.Null(registration.Current);
        _ = silent;
    }
}
