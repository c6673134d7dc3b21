using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Host.Tests;

/// <summary>Caller identity as the real host applies it: on unless switched off, and never satisfied by no token.</summary>
public sealed class HostIdentityTests(NatsServerFixture nats)
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Enforced(string? secret) => secret is null
        ? new() { ["GameSystem__Identity__Mode"] = "Enforce" }
        : new() { ["GameSystem__Identity__Mode"] = "Enforce", ["GameSystem__Identity__ServiceSecret"] = secret };

    [Theory(Timeout = 60_000)]
    [InlineData(null, "GameSystem:Identity:ServiceSecret is not set")]
    [InlineData("c2hvcnQ=", "GameSystem:Identity:ServiceSecret holds 5 bytes; it needs at least 32")]
    public async Task IdentityOn_WithoutAGoodServiceSecret_ExitsWithCode2NamingTheSetting(string? secret, string expected)
    {
        await using var host = HostProcess.Start(TimeManagerHost.Arguments(nats, MeshCaller.NewPrefix()), Enforced(secret));

        var exitCode = await host.WaitForExitAsync(ExitTimeout, Cancellation);

        Assert.True(exitCode == 2, $"Exit code {exitCode}.\n{host.Transcript}");
        var message = Assert.Single(host.Errors, line => line.Length > 0);
        Assert.StartsWith($"Configuration error: {expected}", message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task IdentityOn_ACallWithoutAToken_IsUnauthenticated_AndACallWithAForgedOneToo()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = HostProcess.Start(TimeManagerHost.Arguments(nats, prefix), Enforced(Convert.ToBase64String(new byte[32])));
        await host.WaitForOutputAsync(line => line.Contains("time-manager", StringComparison.Ordinal) && line.Contains("implemented", StringComparison.Ordinal), TimeManagerHost.StartTimeout, Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);

        var anonymous = await Assert.ThrowsAsync<RpcException>(() => caller.TimeManager.GetClockAsync(new GetClockRequest { WorldId = "hub" }, cancellationToken: Cancellation).AsTask());
        var forged = await Assert.ThrowsAsync<RpcException>(() => caller.TimeManager.GetClockAsync(
            new GetClockRequest { WorldId = "hub" }, new Metadata { { "authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9." } }, cancellationToken: Cancellation).AsTask());

        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.Contains("needs an access token", anonymous.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
    }
}
