using System.Reflection;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.State;
using GameSystem.Testing;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Contracts.Tests;

/// <summary>
/// Every service of protos/, served on a real nats-server and called through its generated
/// client. A service without an implementation must say so (UNIMPLEMENTED on every rpc);
/// an implemented one (found in the GameSystem.Services.* assemblies, on the in-memory
/// store) must answer every rpc with a response or a precise status; its own contract
/// tests cover its behaviour.
/// </summary>
public sealed class ServiceContractTests(NatsServerFixture nats)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    public static TheoryData<string> ServiceNames => new(Contracts.Catalog.Select(i => i.Name));

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(ServiceNames))]
    public async Task EveryRpc_AnswersThroughTheGeneratedClient(string serviceName)
    {
        var info = Contracts.Catalog.Single(i => i.Name == serviceName);
        var prefix = "c" + Guid.NewGuid().ToString("N")[..10];
        await using var serverConnection = await nats.ConnectAsync(serviceName);
        await using var clientConnection = await nats.ConnectAsync(serviceName + "-client");
        await using var server = new NatsMeshServer(serverConnection, MeshServerOptions.Default with { SubjectPrefix = prefix });
        var implemented = Contracts.Implementations.TryGetValue(info.FullName, out var implementation);
        await using var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var services = new ServiceCollection()
            .AddSingleton<NATS.Client.Core.INatsConnection>(serverConnection)
            .AddSingleton(MeshServerOptions.Default with { SubjectPrefix = prefix })
            .AddOptions()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(typeof(ILogger<>), typeof(NullLogger<>))
            .AddGameSystemStateStore(redisConnectionString: null)

            // auth needs its secrets from configuration, as the host gives them.
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(GameSystem.Services.Auth.AuthOptions.Default with
            {
                KeyEncryptionKey = Convert.ToBase64String(new byte[32]),
                ServiceSecret = Convert.ToBase64String(new byte[32]),
                PasswordMemoryKib = 1024,
                PasswordIterations = 1,
            }));
        foreach (var contract in Contracts.Catalog)
        {
            // As in the host: a service may take any generated client to call its peers.
            services.AddSingleton(contract.ClientType, _ => contract.CreateClient(invoker));
        }

        await using var provider = services.BuildServiceProvider();
        var instance = implemented ? ActivatorUtilities.CreateInstance(provider, implementation!, OutboxArguments(implementation!, info.Name)) : null;
        server.AddService(instance is not null ? info.Bind(instance) : MeshServiceDefinition.Unimplemented(info.Descriptor));

        // Services that follow events (watches) read them from event-bus: serve it beside them, as the mesh does.
        var eventBusInfo = Contracts.Catalog.Single(i => i.Name == "event-bus");
        var eventBus = implemented && info != eventBusInfo && Contracts.Implementations.TryGetValue(eventBusInfo.FullName, out var eventBusType)
            ? ActivatorUtilities.CreateInstance(provider, eventBusType)
            : null;
        if (eventBus is not null)
        {
            server.AddService(eventBusInfo.Bind(eventBus));
        }

        await server.StartAsync(Timeout);
        await using var eventBusDisposal = new AsyncDisposal(eventBus);
        if (eventBus is Microsoft.Extensions.Hosting.IHostedService eventBusHosted)
        {
            await eventBusHosted.StartAsync(Timeout);
        }

        // As in the host: background work (event-bus declaring its streams) starts once served.
        if (instance is Microsoft.Extensions.Hosting.IHostedService hosted)
        {
            await hosted.StartAsync(Timeout);
        }

        await using var disposal = new AsyncDisposal(instance);
        var client = info.CreateClient(invoker);

        foreach (var method in info.Descriptor.Methods)
        {
            var request = (IMessage)Activator.CreateInstance(method.InputType.ClrType)!;
            var call = info.ClientType.GetMethod(method.Name + "Async", [method.InputType.ClrType, typeof(CallOptions)])!;
            var error = await Record.ExceptionAsync(() => InvokeAsync(call, client, request, method.IsServerStreaming));

            if (!implemented)
            {
                var rpc = Assert.IsType<RpcException>(error);
                Assert.Equal(StatusCode.Unimplemented, rpc.StatusCode);
                Assert.Contains($"{info.FullName}/{method.Name} is not implemented", rpc.Status.Detail, StringComparison.Ordinal);
                continue;
            }

            // An implementation answers even an empty request: a response, or a precise
            // status (a watch may run until its deadline); never a crash, a hang or silence.
            if (error is not null)
            {
                var rpc = Assert.IsType<RpcException>(error);
                Assert.True(
                    rpc.StatusCode is not (StatusCode.Internal or StatusCode.Unknown or StatusCode.Unavailable)
                        && (rpc.StatusCode != StatusCode.DeadlineExceeded || method.IsServerStreaming),
                    $"{method.FullName} answered an empty request with {rpc.StatusCode}: {rpc.Status.Detail}");
            }
        }
    }

    // As the host does: a service whose constructor takes an EventOutbox gets one named after it.
    private static object[] OutboxArguments(Type implementation, string serviceName) =>
        implementation.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(EventOutbox)))
            ? [new EventOutbox(serviceName)]
            : [];

    private sealed class AsyncDisposal(object? instance) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (instance is Microsoft.Extensions.Hosting.IHostedService hosted)
            {
                await hosted.StopAsync(CancellationToken.None);
            }

            switch (instance)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    private static async Task InvokeAsync(MethodInfo call, object client, IMessage request, bool streaming)
    {
        var result = call.Invoke(client, [request, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(streaming ? 2 : 10), cancellationToken: Timeout)])!;
        if (streaming)
        {
            // IAsyncEnumerable<T> is covariant: every response type is a reference type.
            await foreach (var unused in (IAsyncEnumerable<object>)result)
            {
            }

            return;
        }

        var asTask = result.GetType().GetMethod("AsTask")!;
        await (Task)asTask.Invoke(result, null)!;
    }
}
