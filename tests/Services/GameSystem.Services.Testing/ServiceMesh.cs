using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using GameSystem.Testing;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;

namespace GameSystem.Services.Testing;

/// <summary>
/// Service implementations served over a real nats-server on a unique subject prefix, as the
/// host serves them, and an invoker for generated clients on a connection of its own.
/// </summary>
public sealed class ServiceMesh : IAsyncDisposable
{
    private readonly NatsConnection _serverConnection;
    private readonly NatsConnection _clientConnection;
    private readonly NatsMeshServer _server;
    private readonly NatsMeshClient _invoker;
    private readonly IReadOnlyList<object> _implementations;

    private ServiceMesh(NatsConnection serverConnection, NatsConnection clientConnection, NatsMeshServer server, NatsMeshClient invoker, IReadOnlyList<object> implementations)
    {
        _serverConnection = serverConnection;
        _clientConnection = clientConnection;
        _server = server;
        _invoker = invoker;
        _implementations = implementations;
    }

    /// <summary>The invoker generated clients call through.</summary>
    public IMeshCallInvoker Invoker => _invoker;

    /// <summary>
    /// Serves what <paramref name="createImplementations"/> returns, each bound to every generated
    /// contract it implements; the invoker it is given lets an implementation call its peers.
    /// Implementations with background work (<see cref="IHostedService"/>) run while served.
    /// With <paramref name="identity"/> every call passes its interceptor first, as the host's
    /// identity interceptor (<see cref="TestIdentity.Interceptor"/>); it is made with the mesh's
    /// invoker, so auth served here can verify calls with the keys it publishes itself.
    /// </summary>
    public static Task<ServiceMesh> StartAsync(NatsServerFixture nats, string name, Func<IMeshCallInvoker, IReadOnlyList<object>> createImplementations, Func<IMeshCallInvoker, MeshServerInterceptor>? identity = null)
    {
        ArgumentNullException.ThrowIfNull(nats);
        return StartAsync(nats.Url, name, createImplementations, identity);
    }

    /// <summary>As <see cref="StartAsync(NatsServerFixture, string, Func{IMeshCallInvoker, IReadOnlyList{object}}, Func{IMeshCallInvoker, MeshServerInterceptor})"/>, on the nats-server at <paramref name="natsUrl"/> (one a test starts, kills or restarts itself).</summary>
    public static async Task<ServiceMesh> StartAsync(string natsUrl, string name, Func<IMeshCallInvoker, IReadOnlyList<object>> createImplementations, Func<IMeshCallInvoker, MeshServerInterceptor>? identity = null)
    {
        ArgumentNullException.ThrowIfNull(createImplementations);
        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];
        var serverConnection = await ConnectAsync(natsUrl, name + "-server").ConfigureAwait(false);
        var clientConnection = await ConnectAsync(natsUrl, name + "-client").ConfigureAwait(false);
        var invoker = new NatsMeshClient(clientConnection, MeshClientOptions.Default with { SubjectPrefix = prefix });
        var serverOptions = MeshServerOptions.Default with { SubjectPrefix = prefix };
        if (identity is not null)
        {
            serverOptions = serverOptions with { Interceptors = [identity(invoker)] };
        }

        var server = new NatsMeshServer(serverConnection, serverOptions);
        var implementations = createImplementations(invoker);
        foreach (var implementation in implementations)
        {
            var interfaces = implementation.GetType().GetInterfaces();
            var contracts = MeshCatalog.FromAssemblies(interfaces.Select(i => i.Assembly)).Where(info => interfaces.Contains(info.ServiceInterface)).ToList();
            if (contracts.Count == 0)
            {
                throw new ArgumentException($"{implementation.GetType()} implements no generated service interface.", nameof(createImplementations));
            }

            contracts.ForEach(info => server.AddService(info.Bind(implementation)));
        }

        await server.StartAsync().ConfigureAwait(false);
        foreach (var background in implementations.OfType<IHostedService>())
        {
            await background.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return new ServiceMesh(serverConnection, clientConnection, server, invoker, implementations);
    }

    /// <summary>Opens a connection to the nats-server at <paramref name="natsUrl"/>.</summary>
    public static async Task<NatsConnection> ConnectAsync(string natsUrl, string name)
    {
        var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl, Name = name });
        await connection.ConnectAsync().ConfigureAwait(false);
        return connection;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var background in _implementations.OfType<IHostedService>())
        {
            await background.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var disposable in _implementations.OfType<IDisposable>())
        {
            disposable.Dispose();
        }

        await _invoker.DisposeAsync().ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
        await _serverConnection.DisposeAsync().ConfigureAwait(false);
        await _clientConnection.DisposeAsync().ConfigureAwait(false);
    }
}
