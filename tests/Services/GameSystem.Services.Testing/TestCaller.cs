using GameSystem.Identity;
using GameSystem.Mesh;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.Testing;

/// <summary>
/// Someone a test calls a service as: the principal auth's token verified to, and the token
/// itself, sent as <c>authorization: Bearer …</c> metadata; <see cref="Anonymous"/> sends none.
/// Made by <see cref="TestIdentity"/>.
/// </summary>
public sealed class TestCaller
{
    private TestCaller(MeshPrincipal? principal, string? accessToken)
    {
        Principal = principal;
        AccessToken = accessToken;
    }

    /// <summary>A caller without a token.</summary>
    public static TestCaller Anonymous { get; } = new(null, null);

    /// <summary>Who the token says the caller is (as the identity interceptor verified it); null for <see cref="Anonymous"/>.</summary>
    public MeshPrincipal? Principal { get; }

    /// <summary>The account id (<c>acc-…</c>, <c>svc-…</c>); empty for <see cref="Anonymous"/>.</summary>
    public string Subject => Principal?.Subject ?? "";

    /// <summary>auth's access token; null for <see cref="Anonymous"/>.</summary>
    public string? AccessToken { get; }

    /// <summary>The metadata of one call made as this caller (pass it as a generated client's <c>headers</c>).</summary>
    public Metadata Headers => AccessToken is null ? [] : BearerToken.Attach(default, AccessToken).Headers!;

    /// <summary>An invoker whose every call carries this caller's token, unless the call names one of its own: a generated client on it calls as this caller.</summary>
    public IMeshCallInvoker Invoker(IMeshCallInvoker transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return AccessToken is null ? transport : new TokenInvoker(transport, AccessToken);
    }

    /// <inheritdoc/>
    public override string ToString() => Principal is null ? "anonymous" : Principal.Subject;

    internal static TestCaller Verified(MeshPrincipal principal, string accessToken) => new(principal, accessToken);

    private sealed class TokenInvoker(IMeshCallInvoker inner, string accessToken) : IMeshCallInvoker
    {
        public ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            inner.UnaryAsync(method, request, BearerToken.Attach(options, accessToken));

        public ValueTask<MeshResponse<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            inner.UnaryWithMetadataAsync(method, request, BearerToken.Attach(options, accessToken));

        public IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            inner.ServerStreamingAsync(method, request, BearerToken.Attach(options, accessToken));
    }
}
