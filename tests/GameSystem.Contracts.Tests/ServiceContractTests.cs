using System.Reflection;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Contracts.Tests;

/// <summary>
/// Every service of protos/, served on a real nats-server and called through its generated
/// client. A service without an implementation must say so (UNIMPLEMENTED on every rpc);
/// an implemented one has its own contract tests and must at least answer every rpc.
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
        Assert.SkipWhen(implemented, $"{serviceName} is implemented ({implementation}); its own contract tests cover it.");
        server.AddService(MeshServiceDefinition.Unimplemented(info.Descriptor));
        await server.StartAsync(Timeout);
        var client = info.CreateClient(new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix }));

        foreach (var method in info.Descriptor.Methods)
        {
            var request = (IMessage)Activator.CreateInstance(method.InputType.ClrType)!;
            var call = info.ClientType.GetMethod(method.Name + "Async", [method.InputType.ClrType, typeof(CallOptions)])!;
            var error = await Assert.ThrowsAsync<RpcException>(() => InvokeAsync(call, client, request, method.IsServerStreaming));

            Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
            Assert.Contains($"{info.FullName}/{method.Name} is not implemented", error.Status.Detail, StringComparison.Ordinal);
        }
    }

    private static async Task InvokeAsync(MethodInfo call, object client, IMessage request, bool streaming)
    {
        var result = call.Invoke(client, [request, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Timeout)])!;
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
