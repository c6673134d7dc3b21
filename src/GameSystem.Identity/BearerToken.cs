using Grpc.Core;

namespace GameSystem.Identity;

/// <summary>How a caller sends its access token: <c>authorization: Bearer &lt;token&gt;</c> metadata, which <see cref="IdentityServerInterceptor"/> verifies.</summary>
public static class BearerToken
{
    /// <summary>
    /// <paramref name="options"/> with <paramref name="accessToken"/> added as the call's token,
    /// unless the call names a token of its own (a service acting for the player who called it
    /// passes the player's token on).
    /// </summary>
    public static CallOptions Attach(CallOptions options, string accessToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(accessToken);
        if (options.Headers?.GetValue(IdentityServerInterceptor.AuthorizationHeader) is not null)
        {
            return options;
        }

        var headers = new Metadata();
        if (options.Headers is { } existing)
        {
            foreach (var entry in existing)
            {
                headers.Add(entry);
            }
        }

        headers.Add(IdentityServerInterceptor.AuthorizationHeader, "Bearer " + accessToken);
        return options.WithHeaders(headers);
    }
}
