using GameSystem.Settings;

namespace GameSystem.Gateway;

/// <summary>The gateway's own settings (<c>GameSystem:Gateway</c>); the NATS, mesh and identity ones are shared with the host.</summary>
internal sealed record GatewayOptions
{
    /// <summary>The defaults.</summary>
    public static GatewayOptions Default { get; } = new();

    /// <summary>Where it listens (<c>Urls</c>, separated by ';'); <c>ASPNETCORE_URLS</c> or <c>--urls</c> override it.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>The largest request body accepted; a larger one is answered 413 before it is read whole.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>The most request header bytes accepted; more is answered 431.</summary>
    public int MaxRequestHeadersBytes { get; init; } = 32 * 1024;

    /// <summary>The longest deadline a caller may ask for, and the deadline of a unary call whose contract sets none.</summary>
    public TimeSpan MaxTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The realm named in <c>WWW-Authenticate</c>.</summary>
    public string Realm { get; init; } = "gamesystem";

    /// <summary>Reads <c>GameSystem:Gateway</c>.</summary>
    public static GatewayOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(MeshSettings.Section).GetSection("Gateway");
        return Default with
        {
            Urls = section["Urls"] ?? Default.Urls,
            MaxRequestBodyBytes = section.ReadInt("MaxRequestBodyBytes", (int)Default.MaxRequestBodyBytes, 1),
            MaxRequestHeadersBytes = section.ReadInt("MaxRequestHeadersBytes", Default.MaxRequestHeadersBytes, 1024),
            MaxTimeout = section.ReadDuration("MaxTimeout", Default.MaxTimeout),
            Realm = section["Realm"] ?? Default.Realm,
        };
    }
}
