using GameSystem.Mesh;
using Grpc.Core;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>A call context carrying a verified principal, as the identity interceptor leaves it, for calling the service directly.</summary>
internal sealed class TestCallContext(CancellationToken cancellationToken) : ServerCallContext
{
    public static TestCallContext As(string subject, CancellationToken cancellationToken, params string[] scopes)
    {
        var context = new TestCallContext(cancellationToken);
        context.SetVerifiedPrincipal(new MeshPrincipal(subject, subject, null, [], [.. scopes], Guid.NewGuid().ToString(), DateTimeOffset.UtcNow.AddMinutes(5)));
        return context;
    }

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

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
