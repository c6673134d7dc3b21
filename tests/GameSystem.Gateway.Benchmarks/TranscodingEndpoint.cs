using System.Collections.Frozen;
using GameSystem.Identity;
using GameSystem.Mesh;
using GameSystem.TimeManager.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace GameSystem.Gateway.Benchmarks;

/// <summary>
/// Baseline (b): the same contract served by ASP.NET Core gRPC with JSON transcoding
/// (Microsoft.AspNetCore.Grpc.JsonTranscoding), which reads the same <c>google.api.http</c>
/// rules from the descriptor the contracts assembly compiled. A gRPC interceptor checks the
/// bearer token by the contract's access rule (<see cref="MethodAccess"/>), the service is a
/// subclass of the generated gRPC base that hands GetClock to the same <c>TimeManagerService</c>,
/// and transcoding writes proto3 JSON itself.
/// </summary>
internal static class TranscodingEndpoint
{
    public static async Task<WebApplication> StartAsync(ITimeManagerService service, AccessTokenValidator validator, IEnumerable<MeshServiceInfo> contracts)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"] });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        // Registered as singletons, so gRPC uses these instances rather than one per call.
        builder.Services.AddSingleton(new AccessInterceptor(validator, contracts));
        builder.Services.AddSingleton(new TranscodedTimeManager(service));
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<AccessInterceptor>()).AddJsonTranscoding();
        var app = builder.Build();
        app.MapGrpcService<TranscodedTimeManager>();
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// time-manager on the generated gRPC base class: the rpc the benchmark calls goes to the
    /// mesh service's implementation; the others keep the base class's UNIMPLEMENTED.
    /// </summary>
    private sealed class TranscodedTimeManager(ITimeManagerService service) : TimeManagerService.TimeManagerServiceBase
    {
        public override Task<GetClockResponse> GetClock(GetClockRequest request, ServerCallContext context) =>
            service.GetClockAsync(request, context).AsTask();
    }

    /// <summary>The contract's access rule before the handler runs, as the mesh's identity interceptor enforces it.</summary>
    private sealed class AccessInterceptor(AccessTokenValidator validator, IEnumerable<MeshServiceInfo> contracts) : Interceptor
    {
        private readonly FrozenDictionary<string, MeshMethod> _methods = contracts.SelectMany(s => s.Methods).ToFrozenDictionary(m => m.Path, StringComparer.Ordinal);

        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            if (!_methods.TryGetValue(context.Method, out var method))
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"{context.Method} is not a method this server authorizes."));
            }

            var decision = await MethodAccess.CheckAsync(validator, method, context.RequestHeaders.GetValue(IdentityServerInterceptor.AuthorizationHeader), context.CancellationToken);
            if (decision.Principal is { } principal)
            {
                context.SetVerifiedPrincipal(principal);
            }

            return decision.IsAllowed
                ? await continuation(request, context)
                : throw new RpcException(new Status(decision.Refusal, decision.Message));
        }
    }
}
