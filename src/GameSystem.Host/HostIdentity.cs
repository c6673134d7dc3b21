using GameSystem.Auth.V1;
using GameSystem.Identity;
using GameSystem.Mesh;
using Microsoft.Extensions.Logging;

namespace GameSystem.Host;

/// <summary>
/// Caller identity for everything the host serves and sends: the interceptor that verifies
/// each call against auth's published keys, and for each service it runs, the service's own
/// account (obtained from auth with the mesh's service secret) on every call it makes.
/// </summary>
internal sealed class HostIdentity : IDisposable
{
    private readonly IdentityOptions _options;
    private readonly IMeshCallInvoker _invoker;
    private readonly AuthServiceClient _auth;
    private readonly IReadOnlyList<MeshServiceInfo> _catalog;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly SigningKeyProvider _keys;
    private readonly List<ServiceTokenSource> _tokens = [];

    public HostIdentity(IdentityOptions options, IMeshCallInvoker invoker, IReadOnlyList<MeshServiceInfo> catalog, IEnumerable<MeshServiceInfo> served, TimeProvider time, ILoggerFactory loggers)
    {
        _options = options;
        _invoker = invoker;
        _catalog = catalog;
        _time = time;
        _loggers = loggers;

        // Keys and service tokens come from auth's public methods, on the host's plain invoker.
        _auth = new AuthServiceClient(invoker);
        _keys = new SigningKeyProvider(_auth, options, time, loggers.CreateLogger<SigningKeyProvider>());
        Interceptor = new IdentityServerInterceptor(new AccessTokenValidator(_keys, options, time), served, loggers.CreateLogger<IdentityServerInterceptor>());
    }

    /// <summary>Verifies every call the host serves.</summary>
    public IdentityServerInterceptor Interceptor { get; }

    /// <summary>
    /// The invoker <paramref name="serviceName"/>'s calls go out on, as its service account,
    /// and a generated client of every contract on it: what its constructor is given.
    /// </summary>
    public (IMeshCallInvoker Invoker, object[] Clients) ForService(string serviceName, string instanceId)
    {
        var tokens = new ServiceTokenSource(_auth, serviceName, instanceId, _options, _time, _loggers.CreateLogger<ServiceTokenSource>());
        _tokens.Add(tokens);
        var invoker = new ServiceIdentityInvoker(_invoker, tokens);
        return (invoker, [.. _catalog.Select(info => info.CreateClient(invoker))]);
    }

    public void Dispose()
    {
        _keys.Dispose();
        _tokens.ForEach(t => t.Dispose());
    }
}
