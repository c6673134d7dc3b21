using System.Collections.Immutable;
using System.Reflection;
using GameSystem.Mesh;
using GameSystem.Settings;

namespace GameSystem.Host;

/// <summary>A service the host was asked to run, with its implementation if one exists.</summary>
internal sealed record SelectedService(MeshServiceInfo Info, Type? Implementation)
{
    public bool IsImplemented => Implementation is not null;
}

/// <summary>
/// What the host can run, derived at start-up: the contracts from the generated
/// dispatchers, the implementations from the <c>GameSystem.Services.*</c> assemblies
/// beside the host. Nothing here is a hand-kept list.
/// </summary>
internal sealed class ServiceCatalog
{
    private ServiceCatalog(ImmutableArray<MeshServiceInfo> contracts, ImmutableDictionary<string, Type> implementations)
    {
        Contracts = contracts;
        Implementations = implementations;
    }

    public ImmutableArray<MeshServiceInfo> Contracts { get; }

    public ImmutableDictionary<string, Type> Implementations { get; }

    public static ServiceCatalog Discover(string directory)
    {
        var serviceAssemblies = Directory.EnumerateFiles(directory, "GameSystem.Services.*.dll")
            .Order(StringComparer.Ordinal)
            .Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path)))
            .ToList();
        var contractAssemblies = serviceAssemblies.Append(typeof(ServiceCatalog).Assembly)
            .Concat(Directory.EnumerateFiles(directory, "GameSystem.Contracts*.dll").Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path))));
        var contracts = MeshCatalog.FromAssemblies(contractAssemblies);
        return new ServiceCatalog(contracts, MeshImplementations.Find(contracts, serviceAssemblies));
    }

    /// <summary>Resolves <c>all</c> or a list of names (short or full) to services.</summary>
    public ImmutableArray<SelectedService> Select(IEnumerable<string> requested)
    {
        var names = requested.ToList();
        if (names.Count == 1 && names[0].Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return [.. Contracts.Select(Selected)];
        }

        var selected = ImmutableArray.CreateBuilder<SelectedService>();
        foreach (var name in names)
        {
            var info = Contracts.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase) || c.FullName.Equals(name, StringComparison.Ordinal))
                ?? throw new SettingException("GameSystem:Services",
                    $"names '{name}', which is not a service. Use 'all' or any of: {string.Join(", ", Contracts.Select(c => c.Name))}.");
            if (selected.All(s => s.Info != info))
            {
                selected.Add(Selected(info));
            }
        }

        return selected.ToImmutable();
    }

    private SelectedService Selected(MeshServiceInfo info) => new(info, Implementations.GetValueOrDefault(info.FullName));
}
