using System.Runtime.CompilerServices;
using GameSystem.Mesh;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Identity;

/// <summary>
/// An invoker that sends a service's calls as that service: each outgoing call carries the
/// service account's access token (from <see cref="ServiceTokenSource"/>) as
/// <c>authorization</c> metadata, unless the call names a token of its own (a service acting
/// for the player who called it passes the player's token on).
/// </summary>
public sealed class ServiceIdentityInvoker(IMeshCallInvoker inner, ServiceTokenSource tokens) : IMeshCallInvoker
{
    private readonly IMeshCallInvoker _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly ServiceTokenSource _tokens = tokens ?? throw new ArgumentNullException(nameof(tokens));

    /// <inheritdoc/>
    public async ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        await _inner.UnaryAsync(method, request, await WithTokenAsync(options).ConfigureAwait(false)).ConfigureAwait(false);

    /// <inheritdoc/>
    public async ValueTask<MeshResponse<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        await _inner.UnaryWithMetadataAsync(method, request, await WithTokenAsync(options).ConfigureAwait(false)).ConfigureAwait(false);

    /// <inheritdoc/>
    public IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Stream(method, request, options);

    private async IAsyncEnumerable<TResponse> Stream<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var withToken = await WithTokenAsync(options).ConfigureAwait(false);
        await foreach (var message in _inner.ServerStreamingAsync(method, request, withToken).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return message;
        }
    }

    private async ValueTask<CallOptions> WithTokenAsync(CallOptions options) =>
        options.Headers?.GetValue(IdentityServerInterceptor.AuthorizationHeader) is not null
            ? options
            : BearerToken.Attach(options, await _tokens.GetTokenAsync(options.CancellationToken).ConfigureAwait(false));
}
