using Grpc.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// The <see cref="ServerCallContext"/> of a call that arrived over NATS. Its cancellation
/// (a token source with a deadline timer) is created only when the handler asks for the
/// token or a cancel notice arrives: most unary handlers never look, and a timer per call
/// is the largest fixed cost of serving one.
/// </summary>
internal sealed class NatsServerCallContext(
    string method, string host, DateTime deadline, Metadata requestHeaders, CancellationToken abort)
    : ServerCallContext, IDisposable
{
    private static readonly AuthContext Anonymous = new(null, []);
    private Metadata? _trailers;
    private CallCancellation? _cancellation;

    /// <summary>Trailers the handler set, or null when it set none (the common case, sent as no headers).</summary>
    public Metadata? TrailersIfAny => _trailers is { Count: > 0 } ? _trailers : null;

    /// <summary>The call's cancellation, created on first use.</summary>
    public CallCancellation Cancellation
    {
        get
        {
            var existing = Volatile.Read(ref _cancellation);
            if (existing is not null)
            {
                return existing;
            }

            TimeSpan? remaining = deadline == DateTime.MaxValue ? null : Max(deadline - DateTime.UtcNow, TimeSpan.Zero);
            var created = new CallCancellation(remaining, abort);
            existing = Interlocked.CompareExchange(ref _cancellation, created, null);
            if (existing is null)
            {
                return created;
            }

            created.Dispose();
            return existing;
        }
    }

    /// <summary>True once the call's token has fired (deadline, caller, or server stop).</summary>
    public bool IsCancellationRequested => Volatile.Read(ref _cancellation)?.IsCancellationRequested == true;

    protected override string MethodCore => method;

    protected override string HostCore => host;

    // NATS hides the peer's address from the server; the reply subject is what identifies the caller.
    protected override string PeerCore => "nats";

    protected override DateTime DeadlineCore => deadline;

    protected override Metadata RequestHeadersCore => requestHeaders;

    protected override CancellationToken CancellationTokenCore => Cancellation.Token;

    protected override Metadata ResponseTrailersCore => _trailers ??= [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => Anonymous;

    public void Dispose() => Volatile.Read(ref _cancellation)?.Dispose();

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

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
