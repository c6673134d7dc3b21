using System.Security.Cryptography;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Mesh.Nats;
using BusService = GameSystem.Services.EventBus.EventBusService;
using EventBusOptions = GameSystem.Services.EventBus.EventBusOptions;
using GameSystem.Testing;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// event-bus under its generated NATS permissions on a live JetStream: it creates its streams,
/// publishes into them and delivers through consumers with only what the generator allowed, and
/// the hosts that call it get what they declared: time-manager's outbox relay publishes, and
/// capability-registry (which takes the whole client) subscribes; time-manager may not subscribe.
/// </summary>
public sealed class EventBusPermissionsTests
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task EventBus_UnderItsGeneratedPermissions_CreatesItsStreams_AndCarriesAnEventToASubscriber()
    {
        var catalog = ServiceCatalog.Discover(AppContext.BaseDirectory);
        NatsUser[] users =
        [
            NatsPermissions.ForHost("bus", catalog.Select(["event-bus"]), catalog.Contracts, MeshSubjects.DefaultPrefix),
            NatsPermissions.ForHost("clock", catalog.Select(["time-manager"]), catalog.Contracts, MeshSubjects.DefaultPrefix),
            NatsPermissions.ForHost("registry", catalog.Select(["capability-registry"]), catalog.Contracts, MeshSubjects.DefaultPrefix),
        ];
        var passwords = users.ToDictionary(u => u.Name, _ => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        await using var server = await SecureNatsServer.StartAsync(
            NatsPermissions.ToServerConfig(users, nameof(EventBusPermissionsTests)),
            users.ToDictionary(u => u.PasswordVariable, u => NatsPermissions.PasswordVariableValue(passwords[u.Name])),
            jetStream: true);
        var violations = new List<string>();
        await using var busConnection = await ConnectAsync(server, "bus", passwords, violations);
        await using var clockConnection = await ConnectAsync(server, "clock", passwords, violations);
        await using var registryConnection = await ConnectAsync(server, "registry", passwords, violations);

        // event-bus as the host runs it, on its own user: its streams are made through the JetStream API.
        await using var mesh = new NatsMeshServer(busConnection);
        var bus = new BusService(busConnection, Options.Create(EventBusOptions.Default), MeshServerOptions.Default, TimeProvider.System, NullLogger<BusService>.Instance);
        mesh.AddService(EventBusServiceDispatcher.Info.Bind(bus));
        await bus.StartAsync(Timeout);
        await mesh.StartAsync(Timeout);

        await using var clockInvoker = new NatsMeshClient(clockConnection);
        var clock = new EventBusServiceClient(clockInvoker);
        var type = "clock.permissions." + Guid.NewGuid().ToString("N")[..8];
        var published = await clock.PublishAsync(new PublishRequest { Event = new DomainEvent { EventId = Guid.NewGuid().ToString(), Type = type, Source = "time-manager" } }, cancellationToken: Timeout);

        await using var registryInvoker = new NatsMeshClient(registryConnection);
        DomainEvent? received = null;
        await foreach (var message in new EventBusServiceClient(registryInvoker).SubscribeAsync(new SubscribeRequest { Stream = published.Stream, TypeFilters = { type }, DeliverPolicy = DeliverPolicy.All }, cancellationToken: Timeout))
        {
            if (message.Event is { } delivered)
            {
                received = delivered.Event;
                break;
            }
        }

        Assert.Equal(type, received?.Type);
        Assert.Empty(violations);

        // time-manager declared only its relay's Publish.
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in clock.SubscribeAsync(new SubscribeRequest { Stream = published.Stream, DeliverPolicy = DeliverPolicy.All }, cancellationToken: Timeout))
            {
            }
        });
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        await bus.StopAsync(Timeout);
    }

    private static async Task<NatsConnection> ConnectAsync(SecureNatsServer server, string user, Dictionary<string, string> passwords, List<string> violations)
    {
        var connection = new NatsConnection(server.ClientOpts(user, passwords[user], NatsPermissions.InboxPrefixOf(user), user));
        connection.ServerError += (_, args) =>
        {
            lock (violations)
            {
                violations.Add($"{user}: {args.Error}");
            }

            return ValueTask.CompletedTask;
        };
        await connection.ConnectAsync();
        return connection;
    }
}
