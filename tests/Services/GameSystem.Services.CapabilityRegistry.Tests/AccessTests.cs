using System.Collections.Immutable;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.Events;
using GameSystem.Mesh;
using GameSystem.State;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.CapabilityRegistry.Tests;

/// <summary>The writes are for services only (MESH_ACCESS_INTERNAL) and every method needs a verified caller, checked again by the handlers, which fail closed.</summary>
public sealed class AccessTests
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static CapabilityRegistryService NewService(IStateStore store) =>
        new(store, new EventOutbox("capability-registry", TimeProvider.System), new GameSystem.EventBus.V1.EventBusServiceClient(new UnusedInvoker()), TimeProvider.System, NullLogger<CapabilityRegistryService>.Instance, Options.Create(CapabilityRegistryContract.TestOptions));

    private static MeshPrincipal Principal(params string[] roles) =>
        new("acc-1", "someone", "sid-1", [.. roles], ImmutableArray<string>.Empty, "jti-1", DateTimeOffset.UtcNow.AddMinutes(5));

    private static RegisterRequest Request()
    {
        var request = new RegisterRequest { Instance = new Instance { InstanceId = "i-1", ServiceName = "svc", Endpoint = "gs.svc" } };
        request.Instance.Capabilities.Add(new Capability { Name = "x.y" });
        return request;
    }

    [Fact(Timeout = 10_000)]
    public async Task Writes_ByAPlayerOrOperator_ArePermissionDenied()
    {
        var store = new InMemoryStateStore();
        using var service = NewService(store);
        var context = new TestCallContext(Timeout);
        context.SetVerifiedPrincipal(Principal("player"));

        var register = await Assert.ThrowsAsync<RpcException>(() => service.RegisterAsync(Request(), context).AsTask());
        var heartbeat = await Assert.ThrowsAsync<RpcException>(() => service.HeartbeatAsync(new HeartbeatRequest { InstanceId = "i-1", LeaseId = new string('a', 32) }, context).AsTask());
        var deregister = await Assert.ThrowsAsync<RpcException>(() => service.DeregisterAsync(new DeregisterRequest { InstanceId = "i-1" }, context).AsTask());

        Assert.All([register, heartbeat, deregister], e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Contains("acc-1", register.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await store.GetAsync(Internal.StoreKeys.Live("i-1"), Timeout));
    }

    [Fact(Timeout = 10_000)]
    public async Task Writes_ByAService_AreServed()
    {
        var store = new InMemoryStateStore();
        using var service = NewService(store);
        var context = new TestCallContext(Timeout);
        context.SetVerifiedPrincipal(Principal(MeshPrincipal.ServiceRole));

        var registered = await service.RegisterAsync(Request(), context);
        var read = await service.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i-1" }, context);
        var removed = await service.DeregisterAsync(new DeregisterRequest { InstanceId = "i-1" }, context);

        Assert.Equal("i-1", read.Instance.InstanceId);
        Assert.NotEqual("", registered.Instance.LeaseId);
        Assert.True(removed.Deregistered);
    }

    [Fact(Timeout = 10_000)]
    public async Task WithoutAVerifiedCaller_WritesAndReads_AreUnauthenticated()
    {
        var store = new InMemoryStateStore();
        using var service = NewService(store);
        var context = new TestCallContext(Timeout);

        var register = await Assert.ThrowsAsync<RpcException>(() => service.RegisterAsync(Request(), context).AsTask());
        var deregister = await Assert.ThrowsAsync<RpcException>(() => service.DeregisterAsync(new DeregisterRequest { InstanceId = "i-1" }, context).AsTask());
        var read = await Assert.ThrowsAsync<RpcException>(() => service.ListProvidersAsync(new ListProvidersRequest { Capability = "x.y" }, context).AsTask());

        Assert.All([register, deregister, read], e => Assert.Equal(StatusCode.Unauthenticated, e.StatusCode));
        Assert.StartsWith("Register needs a service account's access token", register.Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("ListProviders needs an access token", read.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await store.GetAsync(Internal.StoreKeys.Live("i-1"), Timeout));
    }

    /// <summary>The writes tested here never reach event-bus (only WatchProviders calls it).</summary>
    private sealed class UnusedInvoker : IMeshCallInvoker
    {
        public ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
            where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
            where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() => throw new InvalidOperationException($"Unexpected call of {method.Path}.");

        public ValueTask<MeshResponse<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
            where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
            where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() => throw new InvalidOperationException($"Unexpected call of {method.Path}.");

        public IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
            where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
            where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() => throw new InvalidOperationException($"Unexpected call of {method.Path}.");
    }

    private sealed class TestCallContext(CancellationToken cancellationToken) : ServerCallContext
    {
        protected override string MethodCore => "test";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "test";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => cancellationToken;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException("No propagation in these tests.");

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
