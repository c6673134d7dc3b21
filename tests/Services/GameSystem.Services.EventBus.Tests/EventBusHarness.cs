using GameSystem.EventBus.V1;
using GameSystem.Mesh.Nats;
using GameSystem.Services.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace GameSystem.Services.EventBus.Tests;

/// <summary>
/// One event-bus instance, started as the host starts it, served over a real nats-server
/// (JetStream on) on a unique mesh prefix, and a generated client. Instances given the same
/// <see cref="Namespace"/> share streams and consumers, as instances of one deployment do,
/// while each is reached through its own mesh prefix, so a test picks the instance it calls.
/// </summary>
internal sealed class EventBusHarness(ServiceMesh mesh, NatsConnection connection, EventBusService service, string ns) : IAsyncDisposable
{
    public EventBusServiceClient Client { get; } = new(mesh.Invoker);

    /// <summary>The deployment's subject prefix, which names its JetStream streams.</summary>
    public string Namespace { get; } = ns;

    public EventBusService Service { get; } = service;

    public static string NewNamespace() => "eb" + Guid.NewGuid().ToString("N")[..10];

    public static async Task<EventBusHarness> StartAsync(string natsUrl, EventBusOptions? options = null, string? ns = null)
    {
        ns ??= NewNamespace();
        var connection = await ServiceMesh.ConnectAsync(natsUrl, "event-bus");
        var service = new EventBusService(connection, Options.Create(options ?? EventBusOptions.Default), MeshServerOptions.Default with { SubjectPrefix = ns }, TimeProvider.System, NullLogger<EventBusService>.Instance);
        var mesh = await ServiceMesh.StartAsync(natsUrl, "event-bus", _ => [service]);
        return new EventBusHarness(mesh, connection, service, ns);
    }

    public async ValueTask DisposeAsync()
    {
        await mesh.DisposeAsync();
        await Service.DisposeAsync();
        await connection.DisposeAsync();
    }
}
