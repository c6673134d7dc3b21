using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace GameSystem.Mesh.Generators.Tests;

/// <summary>An edit that does not touch a service reuses the cached models; an edit to a service does not.</summary>
public sealed class IncrementalityTests
{
    private static readonly string[] Steps = [MeshGenerator.ParseStep, MeshGenerator.ServicesStep];

    [Fact]
    public void AddedUnrelatedFile_ReportsParseAndServicesStepsCached()
    {
        var compilation = GeneratorHarness.Compilation(ProtocOutput.Load("Golden"));
        var first = GeneratorHarness.Run(compilation);
        var unrelated = CSharpSyntaxTree.ParseText(
            "namespace GameSystem.Golden.V1;\n\ninternal static class WorldNames\n{\n    public const string Default = \"overworld\";\n}\n",
            ProtocOutput.ParseOptions,
            "WorldNames.cs",
            cancellationToken: TestContext.Current.CancellationToken);

        var second = GeneratorHarness.Run(first.Driver, compilation.AddSyntaxTrees(unrelated));

        AssertAllCached(second);
        Assert.Equal(first.HintNames, second.HintNames);
    }

    [Fact]
    public void EditedMessageFile_ReportsParseAndServicesStepsCached()
    {
        var trees = ProtocOutput.Load("Golden");
        var compilation = GeneratorHarness.Compilation(trees);
        var first = GeneratorHarness.Run(compilation);
        var messages = trees.Single(t => t.FilePath == "Protoc/Golden.cs");
        var edited = messages.WithChangedText(SourceText.From(messages.GetText(TestContext.Current.CancellationToken) + "\n// Regenerated.\n"));

        var second = GeneratorHarness.Run(first.Driver, compilation.ReplaceSyntaxTree(messages, edited));

        AssertAllCached(second);
    }

    [Fact]
    public void EditedServiceComment_ReportsParseAndServicesStepsModified()
    {
        var trees = ProtocOutput.Load("Golden");
        var compilation = GeneratorHarness.Compilation(trees);
        var first = GeneratorHarness.Run(compilation);
        var services = trees.Services("Golden");
        var text = services.GetText(TestContext.Current.CancellationToken).ToString();
        const string Comment = "Keeps the clocks of worlds &amp; tells time.";
        Assert.Contains(Comment, text, StringComparison.Ordinal);
        var edited = services.WithChangedText(SourceText.From(text.Replace(Comment, "Runs one clock per world.", StringComparison.Ordinal)));

        var second = GeneratorHarness.Run(first.Driver, compilation.ReplaceSyntaxTree(services, edited));

        foreach (var step in Steps)
        {
            Assert.Contains(second.Outputs(step), output => output.Reason == IncrementalStepRunReason.Modified);
        }

        Assert.Contains("/// <summary>Runs one clock per world.</summary>", second.Source("gamesystem.golden.v1.ClockService.Interface.g.cs"), StringComparison.Ordinal);
    }

    private static void AssertAllCached(GeneratorRun run)
    {
        foreach (var step in Steps)
        {
            var outputs = run.Outputs(step).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, output => Assert.True(
                output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"Step {step} reported {output.Reason} for {output.Value}."));
        }
    }
}
