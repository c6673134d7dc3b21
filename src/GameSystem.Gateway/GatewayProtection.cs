using System.Globalization;
using System.Threading.RateLimiting;
using GameSystem.Identity;
using Grpc.Core;
using Microsoft.AspNetCore.RateLimiting;

namespace GameSystem.Gateway;

/// <summary>
/// Per-caller rate limiting with ASP.NET Core's rate limiter (a token bucket per caller: the
/// account of a token the validator verified before, else the client's IP address), answered
/// 429 with <c>Retry-After</c> and the error body; and CORS from settings.
/// </summary>
internal static class GatewayProtection
{
    /// <summary>The CORS policy name.</summary>
    public const string CorsPolicy = "gateway";

    public static void AddGatewayProtection(this IServiceCollection services, GatewayOptions options)
    {
        if (options.RateLimitPermitsPerSecond > 0)
        {
            services.AddRateLimiter(limiter => limiter.OnRejected = RejectAsync);

            // The validator is looked up once, when the limiter is built, not on every request.
            services.AddOptions<RateLimiterOptions>().Configure<IServiceProvider>((limiter, provider) =>
            {
                var validator = provider.GetService<AccessTokenValidator>();
                limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, Caller>(http => RateLimitPartition.GetTokenBucketLimiter(
                    CallerOf(http, validator),
                    _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = options.RateLimitBurst,
                        TokensPerPeriod = options.RateLimitPermitsPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
            });
        }

        if (options.CorsAllowedOrigins.Count > 0)
        {
            services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
            {
                if (options.CorsAllowedOrigins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins([.. options.CorsAllowedOrigins]);
                    if (options.CorsAllowCredentials)
                    {
                        policy.AllowCredentials();
                    }
                }

                policy.WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")
                    .AllowAnyHeader()
                    .WithExposedHeaders("WWW-Authenticate", "Retry-After", "Allow")
                    .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
            }));
        }
    }

    public static void UseGatewayProtection(this WebApplication app, GatewayOptions options)
    {
        if (options.CorsAllowedOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }

        if (options.RateLimitPermitsPerSecond > 0)
        {
            app.UseRateLimiter();
        }
    }

    // The verified account when its token is in the validator's cache (no signature check here:
    // an unverified token counts as its address), else the connection's address.
    private static Caller CallerOf(HttpContext http, AccessTokenValidator? validator)
    {
        var authorization = http.Request.Headers.Authorization;
        if (validator is not null && authorization.Count == 1 && authorization[0] is { } header && header.StartsWith(MethodAccess.BearerPrefix, StringComparison.OrdinalIgnoreCase)
            && validator.TryGetVerified(header.AsSpan(MethodAccess.BearerPrefix.Length).Trim(), out var principal))
        {
            return new Caller(IsAccount: true, principal.Subject);
        }

        return new Caller(IsAccount: false, http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    /// <summary>A rate-limit partition: an account or an address, never confused (no string built per request to keep them apart).</summary>
    private readonly record struct Caller(bool IsAccount, string Id);

    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var json = http.RequestServices.GetRequiredService<ProtoJson>();
        await GatewayErrors.WriteAsync(http, GatewayErrors.Of(StatusCode.ResourceExhausted, $"Too many requests from this caller; retry after {seconds} s."), json).ConfigureAwait(false);
    }
}
