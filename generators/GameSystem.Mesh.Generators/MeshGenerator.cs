using System.Linq;
using GameSystem.Mesh.Generators.Emitting;
using GameSystem.Mesh.Generators.Parsing;
using Microsoft.CodeAnalysis;

namespace GameSystem.Mesh.Generators;

/// <summary>
/// Generates, for each gRPC service protoc compiled into the project, the interface a
/// service implements, a typed client, a dispatcher and DI helpers. Parse, model, emit:
/// this method only wires the pipeline.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MeshGenerator : IIncrementalGenerator
{
    internal const string ParseStep = "Parse";
    internal const string ServicesStep = "Services";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ServiceParser.BindServiceMethodAttribute,
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                ServiceParser.Parse)
            .WithTrackingName(ParseStep);

        var services = parsed
            .Where(static r => r.Service is not null)
            .Select(static (r, _) => r.Service!)
            .WithTrackingName(ServicesStep);

        context.RegisterSourceOutput(services, static (output, service) =>
        {
            output.AddSource(ServiceEmitter.HintName(service, "Interface"), ServiceEmitter.EmitInterface(service));
            output.AddSource(ServiceEmitter.HintName(service, "Client"), ServiceEmitter.EmitClient(service));
            output.AddSource(ServiceEmitter.HintName(service, "Dispatcher"), ServiceEmitter.EmitDispatcher(service));
            output.AddSource(ServiceEmitter.HintName(service, "DependencyInjection"), ServiceEmitter.EmitDependencyInjection(service));
        });

        context.RegisterSourceOutput(parsed.Select(static (r, _) => r.Diagnostics), static (output, diagnostics) =>
        {
            foreach (var info in diagnostics)
            {
                output.ReportDiagnostic(Diagnostic.Create(Diagnostics.Find(info.Id), info.Location?.ToLocation(), info.Arguments.ToArray<object>()));
            }
        });

        // One check per compilation: contracts without the runtime cannot compile what we emit.
        var runtimeMissing = services.Collect().Combine(context.CompilationProvider.Select(static (c, _) =>
            (c.AssemblyName ?? "?", c.GetTypeByMetadataName("GameSystem.Mesh.MeshMethod") is not null)));
        context.RegisterSourceOutput(runtimeMissing, static (output, pair) =>
        {
            var (found, (assembly, hasRuntime)) = pair;
            if (found.Length > 0 && !hasRuntime)
            {
                output.ReportDiagnostic(Diagnostic.Create(Diagnostics.MeshRuntimeMissing, Location.None, assembly));
            }
        });
    }
}
