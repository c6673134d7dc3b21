using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Mesh;

/// <summary>
/// Makes calls on behalf of generated clients. Generated code talks only to this
/// abstraction; a transport (NATS in <c>GameSystem.Mesh.Nats</c>) implements it, in the
/// way <c>CallInvoker</c> separates grpc-dotnet's stubs from its HTTP/2 transport.
/// </summary>
public interface IMeshCallInvoker
{
    /// <summary>Makes a unary call and returns its response.</summary>
    /// <exception cref="RpcException">The call failed; <see cref="RpcException.StatusCode"/> says why.</exception>
    ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(
        MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>Makes a unary call and returns its response with the metadata the server sent back.</summary>
    /// <exception cref="RpcException">The call failed; <see cref="RpcException.StatusCode"/> says why.</exception>
    ValueTask<MeshResponse<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(
        MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>
    /// Makes a server-streaming call. Nothing is sent until enumeration starts; breaking
    /// out of the enumeration or cancelling cancels the call on the server.
    /// </summary>
    IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(
        MeshMethod<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();
}

/// <summary>The response of a unary call and the metadata the server sent with it.</summary>
/// <typeparam name="TResponse">The response message.</typeparam>
/// <param name="Message">The response message.</param>
/// <param name="Trailers">Metadata the server attached, or <see cref="Metadata.Empty"/>.</param>
public readonly record struct MeshResponse<TResponse>(TResponse Message, Metadata Trailers);
