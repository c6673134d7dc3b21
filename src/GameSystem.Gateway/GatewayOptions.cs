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

    /// <summary>
    /// Requests per second each caller may make on average (<c>RateLimit:PermitsPerSecond</c>), a
    /// caller being the verified account of its token, else its IP address; 0 turns limiting off.
    /// </summary>
    public int RateLimitPermitsPerSecond { get; init; } = 100;

    /// <summary>How many requests a caller may make at once above the average (<c>RateLimit:Burst</c>).</summary>
    public int RateLimitBurst { get; init; } = 200;

    /// <summary>Origins a browser may call from (<c>Cors:AllowedOrigins</c>, e.g. <c>https://play.example.com</c>); empty: no cross-origin calls.</summary>
    public IReadOnlyList<string> CorsAllowedOrigins { get; init; } = [];

    /// <summary>Whether cross-origin calls may carry cookies and HTTP auth (<c>Cors:AllowCredentials</c>).</summary>
    public bool CorsAllowCredentials { get; init; }

    /// <summary>
    /// A folder of static files (a web client, a status page) served at the root for GET and HEAD
    /// (<c>WebRoot</c>, absolute or relative to the working directory); <c>index.html</c> answers
    /// for a folder. A path with no file falls through to the contracts' routes. Unset: none.
    /// </summary>
    public string? WebRoot { get; init; }

    /// <summary>
    /// Where <c>/metrics</c> is served instead of the public port (<c>Metrics:Urls</c>, separated by
    /// ';', each with its own port, e.g. <c>http://10.0.0.5:9464</c>): those ports answer the scrape
    /// and nothing else, and the public port answers 404 for it. Unset: on the public port.
    /// </summary>
    public IReadOnlyList<Uri> MetricsUrls { get; init; } = [];

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
            RateLimitPermitsPerSecond = section.GetSection("RateLimit").ReadInt("PermitsPerSecond", Default.RateLimitPermitsPerSecond, 0),
            RateLimitBurst = section.GetSection("RateLimit").ReadInt("Burst", Default.RateLimitBurst, 1),
            CorsAllowedOrigins = ReadOrigins(section.GetSection("Cors")),
            CorsAllowCredentials = section.GetSection("Cors").ReadBool("AllowCredentials", false),
            WebRoot = ReadWebRoot(section),
            MetricsUrls = ReadMetricsUrls(section.GetSection("Metrics")),
        };
    }

    private static List<Uri> ReadMetricsUrls(IConfigurationSection metrics)
    {
        var urls = new List<Uri>();
        foreach (var text in (metrics["Urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal), UriKind.Absolute, out var url)
                || url.Scheme != Uri.UriSchemeHttp || url.IsDefaultPort || url.Port == 0 || url.AbsolutePath != "/")
            {
                throw new SettingException($"{metrics.Path}:Urls", $"'{text}' must be an http URL with a port of its own and no path, e.g. http://127.0.0.1:9464.");
            }

            urls.Add(url);
        }

        return urls;
    }

    private static string? ReadWebRoot(IConfigurationSection section)
    {
        if (string.IsNullOrWhiteSpace(section["WebRoot"]))
        {
            return null;
        }

        var path = Path.GetFullPath(section["WebRoot"]!);
        return Directory.Exists(path)
            ? path
            : throw new SettingException($"{section.Path}:WebRoot", $"'{path}' is not a folder; give the folder of the static files to serve, or leave WebRoot unset.");
    }

    private static List<string> ReadOrigins(IConfigurationSection cors)
    {
        var origins = cors.GetSection("AllowedOrigins").ReadList().ToList();
        foreach (var origin in origins)
        {
            if (origin != "*" && (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || origin.EndsWith('/')))
            {
                throw new SettingException($"{cors.Path}:AllowedOrigins", $"'{origin}' is not an origin: scheme, host and optional port, e.g. https://play.example.com (or * for any).");
            }
        }

        return origins;
    }
}
