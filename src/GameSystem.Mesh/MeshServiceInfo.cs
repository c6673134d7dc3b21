using System.Collections.Immutable;
using System.Reflection;
using Google.Protobuf.Reflection;

namespace GameSystem.Mesh;

/// <summary>
/// What the generator knows of one service: its contract, the interface an implementation
/// provides, the typed client, and how to bind one. Read from <see cref="MeshCatalog"/>.
/// </summary>
public sealed class MeshServiceInfo
{
    private readonly Func<object, MeshServiceDefinition> _bind;
    private readonly Func<IMeshCallInvoker, object> _createClient;

    /// <summary>Used by generated dispatchers.</summary>
    public MeshServiceInfo(
        ServiceDescriptor descriptor,
        Type serviceInterface,
        Type clientType,
        Func<object, MeshServiceDefinition> bind,
        Func<IMeshCallInvoker, object> createClient,
        IEnumerable<MeshMethod> methods)
    {
        Descriptor = descriptor ?? throw new ArgumentNullException(nameof(descriptor));
        ServiceInterface = serviceInterface ?? throw new ArgumentNullException(nameof(serviceInterface));
        ClientType = clientType ?? throw new ArgumentNullException(nameof(clientType));
        _bind = bind ?? throw new ArgumentNullException(nameof(bind));
        _createClient = createClient ?? throw new ArgumentNullException(nameof(createClient));
        Name = ShortName(descriptor);
        Methods = [.. methods ?? throw new ArgumentNullException(nameof(methods))];
        foreach (var method in Methods)
        {
            if (method.Descriptor.Service != descriptor)
            {
                throw new ArgumentException($"{method.Path} does not belong to {descriptor.FullName}.", nameof(methods));
            }
        }
    }

    /// <summary>The proto service descriptor.</summary>
    public ServiceDescriptor Descriptor { get; }

    /// <summary>The proto full name, e.g. <c>gamesystem.time_manager.v1.TimeManagerService</c>.</summary>
    public string FullName => Descriptor.FullName;

    /// <summary>
    /// The short service name: the package segment before its version, in kebab case
    /// (<c>gamesystem.time_manager.v1</c> → <c>time-manager</c>); the proto service name
    /// for packages of another shape. Used by the NATS Services API and by the host.
    /// </summary>
    public string Name { get; }

    /// <summary>
    /// Every rpc of the service in contract order, with its options; call one without its
    /// generated client through <see cref="MeshMethod.Accept{TResult}"/>.
    /// </summary>
    public ImmutableArray<MeshMethod> Methods { get; }

    /// <summary>The generated interface an implementation provides, e.g. <c>ITimeManagerService</c>.</summary>
    public Type ServiceInterface { get; }

    /// <summary>The generated client type.</summary>
    public Type ClientType { get; }

    /// <summary>Binds an implementation of <see cref="ServiceInterface"/>.</summary>
    public MeshServiceDefinition Bind(object implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        if (!ServiceInterface.IsInstanceOfType(implementation))
        {
            throw new ArgumentException($"{implementation.GetType()} does not implement {ServiceInterface}.", nameof(implementation));
        }

        return _bind(implementation);
    }

    /// <summary>Creates the typed client on an invoker.</summary>
    public object CreateClient(IMeshCallInvoker invoker) => _createClient(invoker ?? throw new ArgumentNullException(nameof(invoker)));

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({FullName})";

    internal static string ShortName(ServiceDescriptor service)
    {
        var parts = service.File.Package.Split('.');
        if (parts.Length >= 2 && parts[^1].Length > 1 && parts[^1][0] == 'v' && char.IsAsciiDigit(parts[^1][1]))
        {
            return parts[^2].Replace('_', '-');
        }

        return service.Name;
    }
}

/// <summary>Marks an assembly as holding a generated dispatcher; <see cref="MeshCatalog"/> reads it.</summary>
/// <param name="dispatcher">The generated dispatcher type, with a static <c>Info</c> property.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class MeshServiceAttribute(Type dispatcher) : Attribute
{
    /// <summary>The generated dispatcher type.</summary>
    public Type Dispatcher { get; } = dispatcher;
}

/// <summary>
/// Every service the generator produced, derived from the assemblies themselves: nobody
/// keeps this list by hand.
/// </summary>
public static class MeshCatalog
{
    /// <summary>The services generated into <paramref name="assemblies"/>, ordered by full name.</summary>
    public static ImmutableArray<MeshServiceInfo> FromAssemblies(IEnumerable<Assembly> assemblies)
    {
        ArgumentNullException.ThrowIfNull(assemblies);
        return [.. assemblies
            .Distinct()
            .SelectMany(a => a.GetCustomAttributes<MeshServiceAttribute>())
            .Select(a => ReadInfo(a.Dispatcher))
            .OrderBy(i => i.FullName, StringComparer.Ordinal)];
    }

    private static MeshServiceInfo ReadInfo(Type dispatcher) =>
        dispatcher.GetProperty("Info", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as MeshServiceInfo
            ?? throw new InvalidOperationException($"{dispatcher} is not a generated mesh dispatcher (it has no static Info).");
}

/// <summary>A service implementation registered in DI by the generated <c>Add{Service}</c> helper.</summary>
/// <param name="Info">The service.</param>
/// <param name="Bind">Binds the implementation resolved from the container.</param>
public sealed record MeshServiceRegistration(MeshServiceInfo Info, Func<IServiceProvider, MeshServiceDefinition> Bind);

/// <summary>Finds the implementations of generated service interfaces in assemblies.</summary>
public static class MeshImplementations
{
    /// <summary>
    /// Maps each service of <paramref name="catalog"/> to the one concrete class in
    /// <paramref name="assemblies"/> that implements its interface; services with none are
    /// absent. Two implementations of one service are an error, never a silent pick.
    /// </summary>
    public static ImmutableDictionary<string, Type> Find(IEnumerable<MeshServiceInfo> catalog, IEnumerable<Assembly> assemblies)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(assemblies);
        var types = assemblies.Distinct().SelectMany(LoadableTypes).Where(t => t is { IsClass: true, IsAbstract: false }).ToList();
        var found = ImmutableDictionary.CreateBuilder<string, Type>(StringComparer.Ordinal);
        foreach (var info in catalog)
        {
            var candidates = types.Where(info.ServiceInterface.IsAssignableFrom).ToList();
            if (candidates.Count > 1)
            {
                throw new InvalidOperationException(
                    $"{info.FullName} has {candidates.Count} implementations ({string.Join(", ", candidates.Select(t => t.FullName))}); keep one.");
            }

            if (candidates.Count == 1)
            {
                found[info.FullName] = candidates[0];
            }
        }

        return found.ToImmutable();
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }
}
