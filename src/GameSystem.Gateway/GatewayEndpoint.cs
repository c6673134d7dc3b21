using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GameSystem.Gateway.Cutover;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.Router.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace GameSystem.Gateway;

/// <summary>
/// Answers every HTTP request: finds its route, checks the caller against the contract's access
/// rule (before any service is reached), binds the request message, calls the rpc over the mesh
/// with the caller's token, deadline and metadata, and writes the response or the error.
/// </summary>
internal sealed partial class GatewayEndpoint
{
    /// <summary>Request headers with this prefix become call metadata (the rest of the name, lower case); response metadata comes back the same way.</summary>
    public const string MetadataPrefix = "Grpc-Metadata-";

    private readonly GatewayRouteTable _routes;
    private readonly ProtoJson _json;
    private readonly IMeshCallInvoker _invoker;
    private readonly AccessTokenValidator? _validator;
    private readonly GatewayOptions _options;
    private readonly ILogger _logger;
    private readonly FrozenDictionary<GatewayRoute, RouteInvoker> _invokers;
    private readonly RouteDirectory? _directory;
    private readonly LegacyForwarder? _legacy;
    private readonly GatewayMetrics _metrics;

    public GatewayEndpoint(GatewayRouteTable routes, ProtoJson json, IMeshCallInvoker invoker, AccessTokenValidator? validator, GatewayOptions options, ILogger<GatewayEndpoint> logger, GatewayMetrics metrics, RouteDirectory? directory = null, LegacyForwarder? legacy = null)
    {
        _metrics = metrics;
        _directory = directory;
        _legacy = legacy;
        _routes = routes;
        _json = json;
        _invoker = invoker;
        _validator = validator;
        _options = options;
        _logger = logger;
        _invokers = routes.Routes.ToFrozenDictionary(r => r, r => r.Method.Accept(new InvokerFactory(r, this)));
    }

    /// <summary>Serves one request.</summary>
    public async Task HandleAsync(HttpContext http)
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "/";
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? target : target[..query];
        var values = _routes.MaxVariables == 0 ? [] : new Range[_routes.MaxVariables];
        var route = _routes.Match(http.Request.Method, path, values, out var allowed);
        if (route is null)
        {
            if (allowed.Count > 0)
            {
                http.Response.Headers.Allow = string.Join(", ", allowed);
                await GatewayErrors.WriteAsync(http, GatewayErrors.Of(StatusCode.Unimplemented, $"{http.Request.Method} is not a method of {path}; it takes {string.Join(", ", allowed)}."), _json, StatusCodes.Status405MethodNotAllowed).ConfigureAwait(false);
                return;
            }

            await GatewayErrors.WriteAsync(http, GatewayErrors.Of(StatusCode.NotFound, $"No route matches {http.Request.Method} {Printable(path)}; /openapi.json lists the routes there are."), _json).ConfigureAwait(false);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var (backendId, backendKind) = ("mesh", "nats");
        try
        {
            var authorization = http.Request.Headers.Authorization;
            if (authorization.Count > 1)
            {
                throw new BindingException("Authorization", "The request carries more than one Authorization header.");
            }

            if (authorization.Count == 0 && http.WebSockets.IsWebSocketRequest && WebSocketBearer(http) is { } token)
            {
                authorization = "Bearer " + token;
            }

            MeshPrincipal? caller = null;
            if (_validator is not null)
            {
                var decision = await MethodAccess.CheckAsync(_validator, route.Method, authorization.Count == 0 ? null : authorization[0], http.RequestAborted).ConfigureAwait(false);
                if (!decision.IsAllowed)
                {
                    await RefuseAsync(http, decision).ConfigureAwait(false);
                    return;
                }

                caller = decision.Principal;
            }

            // Router decides where the request goes; without a route of its own it goes over NATS.
            if (BackendChoice.Choose(_directory?.Current, http, path, route, caller) is { } choice)
            {
                backendId = choice.Backend.BackendId;
                if (choice.Backend.Kind == BackendKind.LegacyHttp && _legacy is not null)
                {
                    backendKind = "legacy_http";
                    await _legacy.ForwardAsync(http, choice.Backend.Target, _options.MaxTimeout).ConfigureAwait(false);
                    return;
                }
            }

            var options = new CallOptions(Metadata(http, authorization), Deadline(http, route), http.RequestAborted);
            await _invokers[route].InvokeAsync(http, path, values, options).ConfigureAwait(false);
        }
        catch (BindingException ex)
        {
            await GatewayErrors.WriteAsync(http, GatewayErrors.InvalidArgument(ex.Field, ex.Message), _json).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!http.Response.HasStarted)
        {
            // Kestrel's limits: a body over MaxRequestBodyBytes is refused as it arrives, never buffered whole.
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"The request body is larger than the {_options.MaxRequestBodyBytes} bytes the gateway accepts."
                : "The request could not be read: it is malformed or arrived incomplete.";
            await GatewayErrors.WriteAsync(http, GatewayErrors.Of(StatusCode.InvalidArgument, message), _json, ex.StatusCode).ConfigureAwait(false);
        }
        catch (RpcException ex) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, route, ex).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; the mesh call was cancelled with it.
            Log.CallerLeft(_logger, route.Declaration);
        }
        catch (Exception ex) when (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
        {
            // A fault of the gateway itself: INTERNAL with an error id; what it was only in the log.
            var status = GatewayErrors.Public(GatewayErrors.Of(StatusCode.Internal, ex.Message), out var errorId);
            Log.Failed(_logger, ex, errorId!, http.Request.Method, route.Template.Text);
            await GatewayErrors.WriteAsync(http, status, _json).ConfigureAwait(false);
        }
        finally
        {
            _metrics.Record(route.HttpMethod, route.Template.Text, backendId, backendKind, http.Response.StatusCode, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task RefuseAsync(HttpContext http, AccessDecision decision)
    {
        // RFC 6750: say which scheme, and why a token that was sent did not do.
        var challenge = decision switch
        {
            { Refusal: StatusCode.PermissionDenied, MissingScope: { } scope } => $"Bearer realm=\"{_options.Realm}\", error=\"insufficient_scope\", scope=\"{scope}\"",
            { Refusal: StatusCode.PermissionDenied } => $"Bearer realm=\"{_options.Realm}\", error=\"insufficient_scope\"",
            { TokenRejected: true } => $"Bearer realm=\"{_options.Realm}\", error=\"invalid_token\", error_description=\"{decision.Message.Replace('"', '\'')}\"",
            _ => $"Bearer realm=\"{_options.Realm}\"",
        };
        if (decision.Refusal is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            http.Response.Headers.WWWAuthenticate = challenge;
        }

        var status = GatewayErrors.Public(GatewayErrors.Of(decision.Refusal, decision.Message), out var errorId);
        if (errorId is not null)
        {
            Log.Concealed(_logger, errorId, http.Request.Method, http.Request.Path.Value ?? "", decision.Refusal, decision.Message);
        }

        await GatewayErrors.WriteAsync(http, status, _json).ConfigureAwait(false);
    }

    private Task WriteErrorAsync(HttpContext http, GatewayRoute route, RpcException exception)
    {
        var status = GatewayErrors.Public(exception.GetRpcStatus(), out var errorId);
        if (errorId is not null)
        {
            Log.Concealed(_logger, errorId, http.Request.Method, route.Template.Text, exception.StatusCode, exception.Status.Detail);
        }
        else
        {
            WriteMetadata(http.Response.Headers, exception.Trailers);
        }

        if (exception.StatusCode == StatusCode.Unauthenticated)
        {
            http.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{_options.Realm}\"";
        }

        return GatewayErrors.WriteAsync(http, status, _json);
    }

    // Grpc-Metadata-* headers, and the caller's own token: the service checks it again.
    private static Metadata? Metadata(HttpContext http, StringValues authorization)
    {
        Metadata? metadata = null;
        if (authorization.Count == 1)
        {
            (metadata ??= []).Add(IdentityServerInterceptor.AuthorizationHeader, authorization[0]!);
        }

        foreach (var (name, values) in http.Request.Headers)
        {
            if (!name.StartsWith(MetadataPrefix, StringComparison.OrdinalIgnoreCase) || name.Length == MetadataPrefix.Length)
            {
                continue;
            }

            var key = name[MetadataPrefix.Length..].ToLowerInvariant();
            if (key is "authorization" || key.StartsWith("grpc-", StringComparison.Ordinal) || key.StartsWith("gs-", StringComparison.Ordinal))
            {
                throw new BindingException(name, $"The header '{name}' would set the reserved metadata key '{key}'.");
            }

            foreach (var value in values)
            {
                try
                {
                    if (key.EndsWith("-bin", StringComparison.Ordinal))
                    {
                        (metadata ??= []).Add(key, Convert.FromBase64String(value ?? ""));
                    }
                    else
                    {
                        (metadata ??= []).Add(key, value ?? "");
                    }
                }
                catch (Exception ex) when (ex is FormatException or ArgumentException)
                {
                    throw new BindingException(name, $"The header '{name}' is not valid metadata: {(key.EndsWith("-bin", StringComparison.Ordinal) ? "a -bin value must be base64" : "keys are letters, digits, '-', '_' and '.', values printable ASCII")}.");
                }
            }
        }

        return metadata;
    }

    /// <summary>Response metadata as <c>Grpc-Metadata-*</c> headers (binary values base64).</summary>
    private static void WriteMetadata(IHeaderDictionary headers, Metadata trailers)
    {
        foreach (var entry in trailers)
        {
            if (entry.Key == MeshStatus.DetailsTrailer || entry.Key.StartsWith("grpc-", StringComparison.Ordinal))
            {
                continue;
            }

            var name = MetadataPrefix + entry.Key;
            var value = entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value;
            headers.Append(name, value);
        }
    }

    // Grpc-Timeout (gRPC's "<digits><unit>"), else X-Request-Timeout (the same, or seconds),
    // else the contract's default (the mesh client applies it); never more than MaxTimeout.
    private DateTime? Deadline(HttpContext http, GatewayRoute route)
    {
        TimeSpan? timeout = null;
        foreach (var header in (ReadOnlySpan<string>)["Grpc-Timeout", "X-Request-Timeout"])
        {
            if (http.Request.Headers.TryGetValue(header, out var text))
            {
                timeout = ParseTimeout(text.ToString(), header == "X-Request-Timeout")
                    ?? throw new BindingException(header, $"The {header} header '{text}' is not a timeout: give digits and a unit (H, M, S, m for ms, u, n), e.g. '1500m'{(header == "X-Request-Timeout" ? ", or seconds, e.g. '1.5'" : "")}.");
                break;
            }
        }

        if (timeout is null)
        {
            return route.Method.DefaultTimeout is null && route.Method.Type == MethodType.Unary ? DateTime.UtcNow + _options.MaxTimeout : null;
        }

        return DateTime.UtcNow + (timeout.Value > _options.MaxTimeout ? _options.MaxTimeout : timeout.Value);
    }

    /// <summary>A gRPC timeout (<c>100m</c>, <c>2S</c>); with <paramref name="seconds"/>, also plain seconds (<c>1.5</c>).</summary>
    internal static TimeSpan? ParseTimeout(string text, bool seconds)
    {
        if (text.Length is >= 2 and <= 9 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? parsed = text[^1] switch
            {
                'H' => TimeSpan.FromHours(amount),
                'M' => TimeSpan.FromMinutes(amount),
                'S' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMilliseconds(amount),
                'u' => TimeSpan.FromMicroseconds(amount),
                'n' => TimeSpan.FromTicks(Math.Max(1, amount / 100)),
                _ => null,
            };
            if (parsed is { } value && value > TimeSpan.Zero)
            {
                return value;
            }
        }

        return seconds && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count) && count is > 0 and < 1e6
            ? TimeSpan.FromSeconds(count)
            : null;
    }

    private static string Printable(string path) => path.Length <= 200 ? path : path[..200] + "…";

    /// <summary>Reads the body (bounded by Kestrel's limit) and parses it for <paramref name="route"/>; empty means <c>{}</c>.</summary>
    private async ValueTask<TRequest> ReadBodyAsync<TRequest>(HttpContext http, GatewayRoute route)
        where TRequest : class, IMessage<TRequest>, new()
    {
        if (route.Body == BodyBinding.None)
        {
            if (http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0)
            {
                throw new BindingException("body", $"{route.HttpMethod} {route.Template.Text} takes no body; send the fields in the path and query string.");
            }

            return new TRequest();
        }

        var contentType = http.Request.ContentType;
        var result = await http.Request.BodyReader.ReadAtLeastAsync(int.MaxValue, http.RequestAborted).ConfigureAwait(false);
        try
        {
            if (result.Buffer.IsEmpty)
            {
                return new TRequest();
            }

            if (contentType is null || !IsJson(contentType))
            {
                throw new BindingException("Content-Type", $"The body must be JSON (Content-Type: application/json); it was '{contentType ?? "not given"}'.");
            }

            var text = Encoding.UTF8.GetString(result.Buffer);
            if (route.Body == BodyBinding.Field)
            {
                // The body is one field's value: parse it as that field of the request.
                text = "{\"" + route.BodyField!.JsonName + "\":" + text + "}";
            }

            try
            {
                return _json.Parser.Parse<TRequest>(text);
            }
            catch (Exception ex) when (ex is InvalidJsonException or InvalidProtocolBufferException)
            {
                var field = route.BodyField?.Name ?? "body";
                throw new BindingException(field, $"The body is not a valid {(route.BodyField is { } f ? f.Name + " (" + f.MessageType?.FullName + ")" : typeof(TRequest).Name)} in proto3 JSON: {ex.Message}");
            }
        }
        finally
        {
            http.Request.BodyReader.AdvanceTo(result.Buffer.End);
        }
    }

    private static bool IsJson(string contentType)
    {
        var media = contentType.AsSpan();
        var semicolon = media.IndexOf(';');
        media = (semicolon < 0 ? media : media[..semicolon]).Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private async Task WriteMessageAsync(HttpContext http, GatewayRoute route, IMessage message)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(Format(route, message), http.RequestAborted).ConfigureAwait(false);
    }

    private string Format(GatewayRoute route, IMessage message)
    {
        if (route.ResponseBody is not { } field)
        {
            return _json.Formatter.Format(message);
        }

        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        _json.Formatter.WriteValue(writer, field.Accessor.GetValue(message));
        return writer.ToString();
    }

    /// <summary>Calls one route's rpc with its message types known: built once per route.</summary>
    private abstract class RouteInvoker
    {
        public abstract Task InvokeAsync(HttpContext http, string path, Range[] values, CallOptions options);
    }

    private sealed class InvokerFactory(GatewayRoute route, GatewayEndpoint endpoint) : IMeshMethodVisitor<RouteInvoker>
    {
        public RouteInvoker Visit<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            method.Type == MethodType.ServerStreaming
                ? new StreamInvoker<TRequest, TResponse>(route, method, endpoint)
                : new UnaryInvoker<TRequest, TResponse>(route, method, endpoint);
    }

    private sealed class UnaryInvoker<TRequest, TResponse>(GatewayRoute route, MeshMethod<TRequest, TResponse> method, GatewayEndpoint endpoint) : RouteInvoker
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        public override async Task InvokeAsync(HttpContext http, string path, Range[] values, CallOptions options)
        {
            var request = await endpoint.BindAsync<TRequest>(http, route, path, values).ConfigureAwait(false);
            var response = await endpoint._invoker.UnaryWithMetadataAsync(method, request, options).ConfigureAwait(false);
            WriteMetadata(http.Response.Headers, response.Trailers);
            await endpoint.WriteMessageAsync(http, route, response.Message).ConfigureAwait(false);
        }
    }

    private sealed class StreamInvoker<TRequest, TResponse>(GatewayRoute route, MeshMethod<TRequest, TResponse> method, GatewayEndpoint endpoint) : RouteInvoker
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        public override async Task InvokeAsync(HttpContext http, string path, Range[] values, CallOptions options)
        {
            var request = await endpoint.BindAsync<TRequest>(http, route, path, values).ConfigureAwait(false);
            await endpoint.StreamAsync(http, route, endpoint._invoker.ServerStreamingAsync(method, request, options)).ConfigureAwait(false);
        }
    }

    private async ValueTask<TRequest> BindAsync<TRequest>(HttpContext http, GatewayRoute route, string path, Range[] values)
        where TRequest : class, IMessage<TRequest>, new()
    {
        var request = await ReadBodyAsync<TRequest>(http, route).ConfigureAwait(false);
        RequestBinder.BindPath(request, route, path, values, _json);
        RequestBinder.BindQuery(request, route, http.Request.Query, _json);
        if (route.Method.FindMissingRequiredField(request) is { } missing)
        {
            throw new BindingException(missing, $"The field '{missing}' is required by {route.Method.Name}.");
        }

        return request;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Error {ErrorId} on {HttpMethod} {Route}: {Code} {Detail}")]
        public static partial void Concealed(ILogger logger, string errorId, string httpMethod, string route, StatusCode code, string detail);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Error {ErrorId} on {HttpMethod} {Route}: the gateway failed")]
        public static partial void Failed(ILogger logger, Exception exception, string errorId, string httpMethod, string route);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "The caller of {Route} left before the answer; the call was cancelled")]
        public static partial void CallerLeft(ILogger logger, string route);
    }
}
