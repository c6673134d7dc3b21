using Grpc.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>The <see cref="ServerCallContext"/> of a call that arrived over NATS.</summary>
internal sealed class NatsServerCallContext(
    string method, string host, DateTime deadline, Metadata requestHeaders, CancellationToken cancellationToken)
    : ServerCallContext
{
    private static readonly AuthContext Anonymous = new(null, []);
    private Metadata? _trailers;

    /// <summary>Trailers the handler set, or null when it set none (the common case, sent as no headers).</summary>
    public Metadata? TrailersIfAny => _trailers is { Count: > 0 } ? _trailers : null;

    protected override string MethodCore => method;

    protected override string HostCore => host;

    // NATS hides the peer's address from the server; the reply subject is what identifies the caller.
    protected override string PeerCore => "nats";

    protected override DateTime DeadlineCore => deadline;

    protected override Metadata RequestHeadersCore => requestHeaders;

    protected override CancellationToken CancellationTokenCore => cancellationToken;

    protected override Metadata ResponseTrailersCore => _trailers ??= [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => Anonymous;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException(
            "The mesh propagates deadlines explicitly: pass context.Deadline and context.CancellationToken in the CallOptions of the outgoing call.");

    // NATS replies carry headers and body together, so response headers join the trailers.
    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        foreach (var entry in responseHeaders)
        {
            ResponseTrailersCore.Add(entry);
        }

        return Task.CompletedTask;
    }
}
