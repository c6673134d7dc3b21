using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GameSystem.Mesh.Generators.Tests;

/// <summary>Compiles protoc output the way a contracts project does, and runs <see cref="MeshGenerator"/> over it.</summary>
internal static class GeneratorHarness
{
    public const string AssemblyName = "GameSystem.Generated.Contracts";

    private static readonly ImmutableArray<MetadataReference> Framework = LoadFramework();

    // What a contracts project references besides the framework, GameSystem.Mesh last so a test can leave it out.
    private static readonly ImmutableArray<MetadataReference> Contracts =
    [
        MetadataReference.CreateFromFile(typeof(Google.Protobuf.IMessage).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(Grpc.Core.Method<,>).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(Google.Api.HttpRule).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.DependencyInjection.IServiceCollection).Assembly.Location),
    ];

    private static readonly MetadataReference MeshRuntime = MetadataReference.CreateFromFile(typeof(MeshMethod).Assembly.Location);

    public static CSharpCompilation Compilation(IEnumerable<SyntaxTree> trees, bool withMeshRuntime = true) =>
        CSharpCompilation.Create(
            AssemblyName,
            trees,
            [.. Framework, .. Contracts, .. withMeshRuntime ? [MeshRuntime] : Array.Empty<MetadataReference>()],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, deterministic: true));

    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            [new MeshGenerator().AsSourceGenerator()],
            parseOptions: ProtocOutput.ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static GeneratorRun Run(Compilation compilation) => Run(CreateDriver(), compilation);

    public static GeneratorRun Run(GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics, TestContext.Current.CancellationToken);
        return new GeneratorRun(driver, output, diagnostics, driver.GetRunResult().Results.Single());
    }

    // The framework the tests run on, from the host's trusted assemblies: the same reference set on every machine with this SDK.
    private static ImmutableArray<MetadataReference> LoadFramework()
    {
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return
        [
            .. trusted.Split(Path.PathSeparator)
                .Where(path => Path.GetDirectoryName(path) == runtimeDirectory)
                .Order(StringComparer.Ordinal)
                .Select(path => MetadataReference.CreateFromFile(path)),
        ];
    }
}

/// <summary>One generator run: the driver (for a next, incremental run), the compilation with the emitted files, and what it reported.</summary>
internal sealed record GeneratorRun(GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> Diagnostics, GeneratorRunResult Result)
{
    public ImmutableArray<string> HintNames => [.. Result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal)];

    public string Source(string hintName) =>
        Result.GeneratedSources.SingleOrDefault(s => s.HintName == hintName) is { HintName: not null } source
            ? source.SourceText.ToString()
            : throw new Xunit.Sdk.XunitException($"The generator emitted no {hintName}; it emitted: {string.Join(", ", HintNames)}.");

    public Diagnostic Single(string id)
    {
        var found = Diagnostics.Where(d => d.Id == id).ToArray();
        return found.Length == 1
            ? found[0]
            : throw new Xunit.Sdk.XunitException($"Expected one {id}, got {found.Length}: {string.Join(" | ", Diagnostics)}.");
    }

    public IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(string step) =>
        Result.TrackedSteps.TryGetValue(step, out var steps)
            ? steps.SelectMany(s => s.Outputs)
            : throw new Xunit.Sdk.XunitException($"The generator tracked no step named {step}; tracked: {string.Join(", ", Result.TrackedSteps.Keys)}.");
}
