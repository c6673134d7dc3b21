using System.Text;
using GameSystem.Mesh;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Net.Http.Headers;

namespace GameSystem.Gateway;

/// <summary>
/// Server streams over HTTP: Server-Sent Events for <c>Accept: text/event-stream</c>, otherwise
/// newline-delimited JSON (<c>application/x-ndjson</c>). Each message is flushed before the next
/// is asked for, so a slow reader holds the stream back through the mesh's credit flow rather
/// than piling messages up here; a caller that disconnects cancels the call on the service.
/// </summary>
internal sealed partial class GatewayEndpoint
{
    private async Task StreamAsync<TResponse>(HttpContext http, GatewayRoute route, IAsyncEnumerable<TResponse> stream)
        where TResponse : class, IMessage<TResponse>
    {
        var sse = AcceptsEventStream(http.Request);
        var messages = stream.GetAsyncEnumerator(http.RequestAborted);
        await using var _ = messages.ConfigureAwait(false);

        // Until the first message, a failure is an ordinary error response with its HTTP status.
        var any = await messages.MoveNextAsync().ConfigureAwait(false);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = sse ? "text/event-stream" : "application/x-ndjson";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        await http.Response.StartAsync(http.RequestAborted).ConfigureAwait(false);
        try
        {
            while (any)
            {
                await WriteEventAsync(http, sse ? "message" : null, Format(route, messages.Current)).ConfigureAwait(false);
                any = await messages.MoveNextAsync().ConfigureAwait(false);
            }

            if (sse)
            {
                // Tells an EventSource the stream ended on purpose, so it does not reconnect.
                await WriteEventAsync(http, "end", "{}").ConfigureAwait(false);
            }
        }
        catch (RpcException ex) when (!http.RequestAborted.IsCancellationRequested)
        {
            // Mid-stream, the HTTP status is gone: the error is the stream's last item.
            var status = GatewayErrors.Public(ex.GetRpcStatus(), out var errorId);
            if (errorId is not null)
            {
                Log.Concealed(_logger, errorId, http.Request.Method, route.Template.Text, ex.StatusCode, ex.Status.Detail);
            }

            var error = GatewayErrors.Format(status, _json);
            await WriteEventAsync(http, sse ? "error" : null, sse ? error : "{\"error\":" + error + "}").ConfigureAwait(false);
        }
    }

    private static async Task WriteEventAsync(HttpContext http, string? sseEvent, string json)
    {
        var text = sseEvent is null ? json + "\n" : $"event: {sseEvent}\ndata: {json}\n\n";
        var writer = http.Response.BodyWriter;
        var bytes = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, writer.GetSpan(bytes));
        writer.Advance(bytes);

        // Waits while the client's window is full: backpressure all the way to the service.
        var flushed = await writer.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        if (flushed.IsCanceled || flushed.IsCompleted)
        {
            throw new OperationCanceledException(http.RequestAborted);
        }
    }

    private static bool AcceptsEventStream(HttpRequest request)
    {
        foreach (var value in request.Headers.Accept)
        {
            if (value is not null && MediaTypeHeaderValue.TryParseList([value], out var types) && types.Any(t => t.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }
}
