using System.Collections.Immutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace GameSystem.Mesh.Generators.Tests;

/// <summary>
/// The C# that Grpc.Tools (protoc) generated from <c>Protos/*.proto</c> at build time, copied
/// next to the tests as <c>Protoc/{File}.cs</c> and never compiled into them.
/// </summary>
internal static class ProtocOutput
{
    /// <summary>As the repository compiles contracts: latest language, XML docs on (GenerateDocumentationFile).</summary>
    public static CSharpParseOptions ParseOptions { get; } = CSharpParseOptions.Default
        .WithLanguageVersion(LanguageVersion.Latest)
        .WithDocumentationMode(DocumentationMode.Diagnose);

    /// <summary>The messages (<c>Golden.cs</c>) and services (<c>GoldenGrpc.cs</c>) protoc generated from <c>golden.proto</c>.</summary>
    public static ImmutableArray<SyntaxTree> Load(string proto) => [Parse($"{proto}.cs"), Parse($"{proto}Grpc.cs")];

    public static SyntaxTree Services(this IEnumerable<SyntaxTree> trees, string proto) =>
        trees.Single(t => t.FilePath == $"Protoc/{proto}Grpc.cs");

    private static SyntaxTree Parse(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Protoc", fileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The protoc output {fileName} is not in {Path.GetDirectoryName(path)}. Build this test project: Grpc.Tools generates it from Protos/ and the CopyProtocOutputToTests target copies it.",
                path);
        }

        return CSharpSyntaxTree.ParseText(SourceText.From(File.ReadAllText(path), Encoding.UTF8), ParseOptions, $"Protoc/{fileName}");
    }
}
