using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Yarp.ReverseProxy.Forwarder;

namespace GameSystem.Gateway.Cutover;

/// <summary>
/// Sends a request to the legacy HTTP backend as it came (method, path, query, headers, body)
/// with YARP's forwarder, and streams the answer back. A backend that cannot be reached is 502
/// with the error body; its address never appears in it.
/// </summary>
internal sealed partial class LegacyForwarder(IHttpForwarder forwarder, ProtoJson json, ILogger<LegacyForwarder> logger) : IDisposable
{
    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    });

    /// <summary>Forwards to <paramref name="target"/> (the backend's base URL, e.g. <c>http://legacy:8080</c>).</summary>
    public async Task ForwardAsync(HttpContext http, string target, TimeSpan timeout)
    {
        var error = await forwarder.SendAsync(http, target, _client, new ForwarderRequestConfig { ActivityTimeout = timeout }, HttpTransformer.Default).ConfigureAwait(false);
        if (error == ForwarderError.None)
        {
            return;
        }

        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        Log.Failed(logger, id, target, error, http.GetForwarderErrorFeature()?.Exception?.Message ?? "");
        if (!http.Response.HasStarted && error is not (ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled))
        {
            var code = error == ForwarderError.RequestTimedOut ? StatusCode.DeadlineExceeded : StatusCode.Unavailable;
            var status = GatewayErrors.Of(code, $"The legacy backend did not answer ({(code == StatusCode.DeadlineExceeded ? "timed out" : "unreachable")}; error id {id}).");
            http.Response.Clear();
            await GatewayErrors.WriteAsync(http, status, json, code == StatusCode.DeadlineExceeded ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway).ConfigureAwait(false);
        }
    }

    public void Dispose() => _client.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "Error {ErrorId}: forwarding to the legacy backend {Target} failed ({Error}): {Detail}")]
        public static partial void Failed(ILogger logger, string errorId, string target, ForwarderError error, string detail);
    }
}
