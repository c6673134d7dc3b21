using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.TimeManager.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace GameSystem.Gateway.Benchmarks;

/// <summary>
/// Baseline (a): the same work as a plain minimal-API endpoint in one process. An endpoint filter
/// checks the bearer token by the contract's access rule (<see cref="MethodAccess"/>, the
/// validator the gateway and the servers use), the handler calls the same
/// <c>TimeManagerService.GetClock</c> on the same store, and the answer is proto3 JSON written by
/// Google.Protobuf's formatter with the gateway's settings.
/// </summary>
internal static class MinimalApiEndpoint
{
    private static readonly object PrincipalKey = new();

    public static async Task<WebApplication> StartAsync(ITimeManagerService service, AccessTokenValidator validator, MeshMethod getClock)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"] });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        var app = builder.Build();
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
        app.MapGet("/v1/worlds/{worldId}/clock", async (HttpContext http, string worldId) =>
        {
            var context = new HttpServerCallContext(http, getClock.Path);
            context.SetVerifiedPrincipal((MeshPrincipal)http.Items[PrincipalKey]!);
            try
            {
                var response = await service.GetClockAsync(new GetClockRequest { WorldId = worldId }, context);
                await WriteAsync(http, StatusCodes.Status200OK, formatter.Format(response));
            }
            catch (RpcException ex)
            {
                await WriteAsync(http, HttpStatusOf(ex.StatusCode), formatter.Format(new Google.Rpc.Status { Code = (int)ex.StatusCode, Message = ex.Status.Detail }));
            }
        }).AddEndpointFilter(async (invocation, next) =>
        {
            var http = invocation.HttpContext;
            var authorization = http.Request.Headers.Authorization;
            var decision = await MethodAccess.CheckAsync(validator, getClock, authorization.Count == 1 ? authorization[0] : null, http.RequestAborted);
            if (!decision.IsAllowed)
            {
                return Results.Text(formatter.Format(new Google.Rpc.Status { Code = (int)decision.Refusal, Message = decision.Message }), "application/json; charset=utf-8", statusCode: HttpStatusOf(decision.Refusal));
            }

            http.Items[PrincipalKey] = decision.Principal;
            return await next(invocation);
        });
        await app.StartAsync();
        return app;
    }

    private static Task WriteAsync(HttpContext http, int status, string json)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(json, http.RequestAborted);
    }

    private static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };
}

/// <summary>The <see cref="ServerCallContext"/> a minimal-API handler gives a service implementation: the request's headers, cancellation and peer.</summary>
internal sealed class HttpServerCallContext(HttpContext http, string method) : ServerCallContext
{
    private static readonly AuthContext Anonymous = new(null, []);
    private Metadata? _requestHeaders;
    private Metadata? _trailers;

    protected override string MethodCore => method;

    protected override string HostCore => http.Request.Host.Value ?? "";

    protected override string PeerCore => http.Connection.RemoteIpAddress?.ToString() ?? "";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _requestHeaders ??= HeadersOf(http.Request.Headers);

    protected override CancellationToken CancellationTokenCore => http.RequestAborted;

    protected override Metadata ResponseTrailersCore => _trailers ??= [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => Anonymous;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("The minimal-API baseline makes no outgoing calls.");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        foreach (var entry in responseHeaders)
        {
            http.Response.Headers.Append(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value);
        }

        return Task.CompletedTask;
    }

    // Text headers as metadata (gRPC's keys are lower case); binary ones (-bin) are not HTTP/1.1's to send.
    private static Metadata HeadersOf(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in headers)
        {
            var key = name.ToLowerInvariant();
            if (key.EndsWith("-bin", StringComparison.Ordinal) || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            {
                continue;
            }

            foreach (var value in values)
            {
                metadata.Add(key, value ?? "");
            }
        }

        return metadata;
    }
}
