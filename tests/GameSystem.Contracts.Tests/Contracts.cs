using System.Collections.Immutable;
using System.Reflection;
using GameSystem.Mesh;
using Google.Protobuf.Reflection;

namespace GameSystem.Contracts.Tests;

/// <summary>What the contracts assembly holds, read from the descriptors protoc embedded.</summary>
internal static class Contracts
{
    public static Assembly Assembly { get; } = typeof(GameSystem.Common.V1.TypedValue).Assembly;

    public static ImmutableArray<FileDescriptor> Files { get; } = [.. Assembly.GetTypes()
        .Where(t => t.Name.EndsWith("Reflection", StringComparison.Ordinal))
        .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
        .OfType<FileDescriptor>()
        .OrderBy(f => f.Name, StringComparer.Ordinal)];

    public static ImmutableArray<ServiceDescriptor> Services { get; } = [.. Files.SelectMany(f => f.Services)];

    public static ImmutableArray<MethodDescriptor> Methods { get; } = [.. Services.SelectMany(s => s.Methods)];

    public static ImmutableArray<MeshServiceInfo> Catalog { get; } = MeshCatalog.FromAssemblies([Assembly]);

    /// <summary>The implementation assemblies beside the tests (GameSystem.Services.*), as the host finds them.</summary>
    public static ImmutableArray<Assembly> ServiceAssemblies { get; } = [.. Directory
        .EnumerateFiles(AppContext.BaseDirectory, "GameSystem.Services.*.dll")
        .Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path)))];

    public static ImmutableDictionary<string, Type> Implementations { get; } = MeshImplementations.Find(Catalog, ServiceAssemblies);

    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "GameSystem.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("GameSystem.sln not found above the test directory.");
        }
    }

    public static MethodDescriptor Method(string fullName) => Methods.Single(m => m.FullName == fullName);
}
