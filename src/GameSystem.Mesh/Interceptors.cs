using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Mesh;

/// <summary>A client call on its way out: the method and the options it goes with.</summary>
public readonly record struct MeshClientCall<TRequest, TResponse>(MeshMethod<TRequest, TResponse> Method, CallOptions Options)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new();

/// <summary>The rest of the client pipeline for a unary call.</summary>
public delegate ValueTask<MeshResponse<TResponse>> MeshUnaryContinuation<TRequest, TResponse>(TRequest request, MeshClientCall<TRequest, TResponse> call)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new();

/// <summary>The rest of the client pipeline for a server-streaming call.</summary>
public delegate IAsyncEnumerable<TResponse> MeshServerStreamingContinuation<TRequest, TResponse>(TRequest request, MeshClientCall<TRequest, TResponse> call)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new();

/// <summary>
/// Client middleware, in the spirit of grpc-dotnet's <c>Interceptor</c>: override a method,
/// do work before and after, and call <c>next</c> (or not) to continue. Interceptors run in
/// the order they were added; the first added is the outermost.
/// </summary>
public abstract class MeshClientInterceptor
{
    /// <summary>Intercepts a unary call.</summary>
    public virtual ValueTask<MeshResponse<TResponse>> UnaryAsync<TRequest, TResponse>(
        TRequest request, MeshClientCall<TRequest, TResponse> clientCall, MeshUnaryContinuation<TRequest, TResponse> continuation)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, clientCall);
    }

    /// <summary>Intercepts a server-streaming call.</summary>
    public virtual IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(
        TRequest request, MeshClientCall<TRequest, TResponse> clientCall, MeshServerStreamingContinuation<TRequest, TResponse> continuation)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, clientCall);
    }
}

/// <summary>
/// Server middleware, in the spirit of grpc-dotnet's <c>Interceptor</c>. Interceptors run
/// in the order they were added, around the service's handler; what they throw is mapped
/// to a status like anything the handler throws.
/// </summary>
public abstract class MeshServerInterceptor
{
    /// <summary>Intercepts a unary call.</summary>
    public virtual ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(
        TRequest request, ServerCallContext context, MeshUnaryHandler<TRequest, TResponse> continuation)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, context);
    }

    /// <summary>Intercepts a server-streaming call.</summary>
    public virtual IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(
        TRequest request, ServerCallContext context, MeshServerStreamingHandler<TRequest, TResponse> continuation)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, context);
    }
}
