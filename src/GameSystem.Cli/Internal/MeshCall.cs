using GameSystem.Mesh;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Cli.Internal;

/// <summary>
/// One call of a method known only by name, made through the same
/// <see cref="IMeshCallInvoker"/> generated clients use: the visit supplies the message types.
/// </summary>
internal sealed class MeshCall(
    IMeshCallInvoker invoker,
    IMessage request,
    CommandLine line,
    JsonFormatter formatter,
    TextWriter output,
    CancellationToken cancellationToken) : IMeshMethodVisitor<Task>
{
    public Task Visit<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        method.Type == MethodType.ServerStreaming ? StreamAsync(method, (TRequest)request) : UnaryAsync(method, (TRequest)request);

    private async Task UnaryAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest message)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var response = await invoker.UnaryAsync(method, message, Options()).ConfigureAwait(false);
        await WriteAsync(response).ConfigureAwait(false);
    }

    // Leaving the loop (the --count reached) disposes the enumerator, which cancels the
    // stream on the server; so does Ctrl+C through the call's cancellation token.
    private async Task StreamAsync<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, TRequest message)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var received = 0;
        await foreach (var response in invoker.ServerStreamingAsync(method, message, Options()).ConfigureAwait(false))
        {
            await WriteAsync(response).ConfigureAwait(false);
            if (++received == line.Count)
            {
                break;
            }
        }
    }

    private CallOptions Options() => new(
        headers: line.Metadata.Count > 0 ? line.Metadata : null,
        deadline: line.Timeout is { } timeout ? DateTime.UtcNow + timeout : null,
        cancellationToken: cancellationToken);

    private async Task WriteAsync(IMessage message)
    {
        await output.WriteLineAsync(formatter.Format(message)).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
