using System.Text;
using GameSystem.Mesh;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Net.Http.Headers;

namespace GameSystem.Gateway;

/// <summary>
/// Server streams over HTTP: a WebSocket when the request is an upgrade, Server-Sent Events for
/// <c>Accept: text/event-stream</c>, otherwise newline-delimited JSON (<c>application/x-ndjson</c>).
/// Each message is written (flushed, or its frame sent) before the next is asked for, so a slow
/// reader holds the stream back through the mesh's credit flow rather than piling messages up
/// here; a caller that disconnects (or closes its WebSocket) cancels the call on the service.
/// </summary>
internal sealed partial class GatewayEndpoint
{
    /// <summary>The WebSocket subprotocol the gateway selects: a browser that offers subprotocols needs one chosen.</summary>
    public const string WebSocketProtocol = "gamesystem";

    /// <summary>
    /// A browser's WebSocket cannot send <c>Authorization</c>; it offers its access token as the
    /// subprotocol <c>bearer.&lt;token&gt;</c> beside <see cref="WebSocketProtocol"/>, which is the
    /// one selected, so the token is never echoed back.
    /// </summary>
    public const string WebSocketBearerPrefix = "bearer.";

    private static string? WebSocketBearer(HttpContext http)
    {
        string? token = null;
        var plain = false;
        foreach (var offered in http.WebSockets.WebSocketRequestedProtocols)
        {
            if (offered.StartsWith(WebSocketBearerPrefix, StringComparison.Ordinal))
            {
                token = token is null ? offered[WebSocketBearerPrefix.Length..] : throw new BindingException("Sec-WebSocket-Protocol", "The WebSocket offers more than one bearer token.");
            }

            plain |= offered == WebSocketProtocol;
        }

        return token is null || plain
            ? token
            : throw new BindingException("Sec-WebSocket-Protocol", $"A WebSocket that offers its token as a subprotocol must also offer '{WebSocketProtocol}', the one the gateway selects.");
    }

    private async Task StreamAsync<TResponse>(HttpContext http, GatewayRoute route, IAsyncEnumerable<TResponse> stream)
        where TResponse : class, IMessage<TResponse>
    {
        using var call = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var messages = stream.GetAsyncEnumerator(call.Token);
        await using var _ = messages.ConfigureAwait(false);

        // Until the first message, a failure is an ordinary error response with its HTTP status.
        var any = await messages.MoveNextAsync().ConfigureAwait(false);
        if (http.WebSockets.IsWebSocketRequest)
        {
            await WebSocketAsync(http, route, messages, any, call).ConfigureAwait(false);
            return;
        }

        var sse = AcceptsEventStream(http.Request);
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

    // One text frame per message; a failure is a last frame {"error": …} and close 1011; the
    // client closing its side cancels the call.
    private async Task WebSocketAsync<TResponse>(HttpContext http, GatewayRoute route, IAsyncEnumerator<TResponse> messages, bool any, CancellationTokenSource call)
        where TResponse : class, IMessage<TResponse>
    {
        var protocol = http.WebSockets.WebSocketRequestedProtocols.Contains(WebSocketProtocol) ? WebSocketProtocol : null;
        using var socket = await http.WebSockets.AcceptWebSocketAsync(protocol).ConfigureAwait(false);
        var listening = ListenForCloseAsync(socket, call);
        var closeStatus = System.Net.WebSockets.WebSocketCloseStatus.NormalClosure;
        var closeReason = "stream complete";
        try
        {
            while (any)
            {
                // Not the call's token: cancelling a send aborts a WebSocket, and a client's close must be answered.
                await SendFrameAsync(socket, Format(route, messages.Current), http.RequestAborted).ConfigureAwait(false);
                any = await messages.MoveNextAsync().ConfigureAwait(false);
            }
        }
        catch (RpcException ex) when (!call.IsCancellationRequested)
        {
            var status = GatewayErrors.Public(ex.GetRpcStatus(), out var errorId);
            if (errorId is not null)
            {
                Log.Concealed(_logger, errorId, http.Request.Method, route.Template.Text, ex.StatusCode, ex.Status.Detail);
            }

            await SendFrameAsync(socket, "{\"error\":" + GatewayErrors.Format(status, _json) + "}", http.RequestAborted).ConfigureAwait(false);
            closeStatus = System.Net.WebSockets.WebSocketCloseStatus.InternalServerError;
            closeReason = ex.StatusCode.ToString();
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException && call.IsCancellationRequested)
        {
            // The client closed its side, or went away: the call is cancelled with it, and a
            // client that sent a close frame gets the closing handshake's answer below.
            closeReason = "closed by the client";
        }

        if (socket.State is System.Net.WebSockets.WebSocketState.Open or System.Net.WebSockets.WebSocketState.CloseReceived)
        {
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await socket.CloseOutputAsync(closeStatus, closeReason, closing.Token).ConfigureAwait(false);
                await listening.WaitAsync(closing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
                // A client that does not finish the closing handshake is dropped.
            }
        }
    }

    private static async Task ListenForCloseAsync(System.Net.WebSockets.WebSocket socket, CancellationTokenSource call)
    {
        var buffer = new byte[256];
        try
        {
            while (!call.IsCancellationRequested)
            {
                var received = await socket.ReceiveAsync(buffer, call.Token).ConfigureAwait(false);
                if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
        }

        // Whatever the client sends is not part of a server stream; its close ends the call.
        await call.CancelAsync().ConfigureAwait(false);
    }

    private static Task SendFrameAsync(System.Net.WebSockets.WebSocket socket, string json, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

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
