using GameSystem.Auth.V1;
using GameSystem.EventBus.V1;
using GameSystem.LanguageSystem.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using GameSystem.TimeManager.V1;
using Grpc.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// The admin scopes of time-manager, language-system and event-bus as the real host enforces
/// them: a player is refused, naming the scope; an administrator is served; and the host's own
/// services, whose accounts hold '*', still publish their events through event-bus.
/// </summary>
public sealed class HostAdminScopesEndToEndTests(NatsServerFixture nats)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task AdminMethods_RefuseAPlayerNamingTheScope_AndServeAnAdministrator()
    {
        var prefix = MeshCaller.NewPrefix();
        await using var host = await IdentityHost.StartServingAsync(nats, prefix, "auth,time-manager,language-system,event-bus", Cancellation);
        await using var caller = await MeshCaller.ConnectAsync(nats, prefix);
        var invoker = new NatsMeshClient(caller.Connection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var auth = new AuthServiceClient(invoker);
        var player = await IdentityHost.LoginAsync(auth, "aria", Cancellation);
        var admin = await IdentityHost.LoginAsync(auth, IdentityHost.Administrator, Cancellation);
        var languages = new LanguageSystemServiceClient(invoker);
        await caller.TimeManager.CreateClockAsync(new CreateClockRequest { WorldId = "hub", RequestId = Guid.NewGuid().ToString(), TimeScale = 60 }, admin, cancellationToken: Cancellation);

        var pause = new PauseClockRequest { WorldId = "hub" };
        var locale = new CreateLocaleRequest { RequestId = Guid.NewGuid().ToString(), Locale = new Locale { Tag = "fr-CA", DisplayName = "French (Canada)" } };
        var deleteConsumer = new DeleteConsumerRequest { Stream = "events", ConsumerName = "npc-behavior.world-sync" };
        await RefusedAsync("PauseClock", "time-manager.admin", () => caller.TimeManager.PauseClockAsync(pause, player, cancellationToken: Cancellation).AsTask());
        await RefusedAsync("CreateLocale", "language-system.admin", () => languages.CreateLocaleAsync(locale, player, cancellationToken: Cancellation).AsTask());
        await RefusedAsync("DeleteConsumer", "event-bus.admin", () => caller.EventBus.DeleteConsumerAsync(deleteConsumer, player, cancellationToken: Cancellation).AsTask());

        Assert.Equal(ClockState.Paused, (await caller.TimeManager.PauseClockAsync(pause, admin, cancellationToken: Cancellation)).Clock.State);
        Assert.Equal("fr-CA", (await languages.CreateLocaleAsync(locale, admin, cancellationToken: Cancellation)).Locale.Tag);
        await caller.EventBus.DeleteConsumerAsync(deleteConsumer, admin, cancellationToken: Cancellation);

        // language-system's relay published the new locale's event as svc-language-system: Publish needs event-bus.write.
        using var within = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        within.CancelAfter(TimeSpan.FromSeconds(30));
        var subscribe = new SubscribeRequest { Stream = "events", DeliverPolicy = DeliverPolicy.All, TypeFilters = { "language.locale.changed" } };
        StoredEvent? published = null;
        try
        {
            await foreach (var item in caller.EventBus.SubscribeAsync(subscribe, admin, cancellationToken: within.Token))
            {
                if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event)
                {
                    published = item.Event;
                    break;
                }
            }
        }
        catch (RpcException) when (within.IsCancellationRequested && !Cancellation.IsCancellationRequested)
        {
            // Reported below.
        }

        Assert.True(published is not null, $"No language.locale.changed event reached event-bus within 30 s.\n{host.Transcript}");
        Assert.Equal("language-system", published.Event.Source);
        Assert.Equal("locales/fr-CA", published.Event.Subject);
    }

    private static async Task RefusedAsync(string method, string scope, Func<Task> call)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.StartsWith($"{method} requires scope '{scope}', which the token of ", refused.Status.Detail, StringComparison.Ordinal);
    }
}
