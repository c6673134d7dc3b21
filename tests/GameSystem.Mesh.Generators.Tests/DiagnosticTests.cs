using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GameSystem.Mesh.Generators.Tests;

/// <summary>One test per diagnostic: id, severity, what the message names, and where it points.</summary>
public sealed class DiagnosticTests
{
    [Fact]
    public void ClientStreamingRpc_ReportsGSMESH001NamingTheMethod()
    {
        var trees = ProtocOutput.Load("Unsupported");

        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(trees));

        var diagnostic = run.Single("GSMESH001");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("rpc Upload of service gamesystem.unsupported.v1.UploadService", message, StringComparison.Ordinal);
        Assert.Contains("'rpc Upload(UploadChunk)'", message, StringComparison.Ordinal);
        AssertPointsAt(diagnostic, trees.Services("Unsupported"), "__Method_Upload");
    }

    [Fact]
    public void ClientStreamingRpc_IsLeftOutWhileTheOtherRpcsOfItsServiceAreGenerated()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load("Unsupported")));

        var client = run.Source("gamesystem.unsupported.v1.UploadService.Client.g.cs");
        Assert.Contains(" PingAsync(", client, StringComparison.Ordinal);
        Assert.DoesNotContain("UploadAsync", client, StringComparison.Ordinal);
    }

    [Fact]
    public void BidirectionalStreamingRpc_ReportsGSMESH002NamingTheMethod()
    {
        var trees = ProtocOutput.Load("Unsupported");

        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(trees));

        var diagnostic = run.Single("GSMESH002");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("rpc Chat of service gamesystem.unsupported.v1.ChatService", message, StringComparison.Ordinal);
        Assert.Contains("'rpc Chat(ChatLine) returns (stream ...)'", message, StringComparison.Ordinal);
        AssertPointsAt(diagnostic, trees.Services("Unsupported"), "__Method_Chat");
        // Its only rpc is unsupported: nothing to generate, and no second "declares no rpc" warning.
        Assert.DoesNotContain(run.HintNames, name => name.Contains("ChatService", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Diagnostics, d => d.Id == "GSMESH003");
    }

    [Fact]
    public void ServiceWithoutRpcs_ReportsGSMESH003WarningNamingTheService()
    {
        var trees = ProtocOutput.Load("Empty");

        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(trees));

        var diagnostic = run.Single("GSMESH003");
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains("Service gamesystem.empty.v1.PlaceholderService declares no rpc", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        AssertPointsAt(diagnostic, trees.Services("Empty"), "PlaceholderService");
        Assert.Empty(run.HintNames);
    }

    [Fact]
    public void ContractsWithoutMeshRuntime_ReportsGSMESH004NamingTheProject()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load("Golden"), withMeshRuntime: false));

        var diagnostic = run.Single("GSMESH004");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"Project {GeneratorHarness.AssemblyName} compiles gRPC contracts but does not reference GameSystem.Mesh", message, StringComparison.Ordinal);
        Assert.Equal(Location.None, diagnostic.Location);
    }

    [Fact]
    public void ContractsWithMeshRuntime_DoNotReportGSMESH004()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load("Golden")));

        Assert.DoesNotContain(run.Diagnostics, d => d.Id == "GSMESH004");
    }

    [Fact]
    public void MethodFieldWithoutGrpcToolsInitializer_ReportsGSMESH005NamingTheField()
    {
        var services = ProtocOutput.Load("Golden").Services("Golden");
        var edited = EditMethodField(services, "__Method_GetClock", field => field.WithInitializer(
            SyntaxFactory.EqualsValueClause(SyntaxFactory.ParseExpression("CreateGetClockMethod()"))));

        var run = GeneratorHarness.Run(GeneratorHarness.Compilation([ProtocOutput.Load("Golden")[0], edited]));

        var diagnostic = run.Single("GSMESH005");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains(
            "Field __Method_GetClock of gamesystem.golden.v1.ClockService is not a method definition in the shape Grpc.Tools generates (no 'new grpc::Method<,>(type, service, name, ...)' initializer)",
            diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture),
            StringComparison.Ordinal);
        AssertPointsAt(diagnostic, edited, "__Method_GetClock");
        Assert.DoesNotContain("GetClockAsync", run.Source("gamesystem.golden.v1.ClockService.Client.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void MethodFieldWithComputedName_ReportsGSMESH005NamingTheField()
    {
        var services = ProtocOutput.Load("Golden").Services("Golden");
        var edited = EditMethodField(services, "__Method_WatchClock", field =>
        {
            var creation = (BaseObjectCreationExpressionSyntax)field.Initializer!.Value;
            var name = creation.ArgumentList!.Arguments[2];
            return field.ReplaceNode(name, name.WithExpression(SyntaxFactory.ParseExpression("string.Concat(\"Watch\", \"Clock\")")));
        });

        var run = GeneratorHarness.Run(GeneratorHarness.Compilation([ProtocOutput.Load("Golden")[0], edited]));

        var diagnostic = run.Single("GSMESH005");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains(
            "Field __Method_WatchClock of gamesystem.golden.v1.ClockService is not a method definition in the shape Grpc.Tools generates (method type or name is not a constant)",
            diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture),
            StringComparison.Ordinal);
        AssertPointsAt(diagnostic, edited, "__Method_WatchClock");
    }

    private static SyntaxTree EditMethodField(SyntaxTree tree, string field, Func<VariableDeclaratorSyntax, VariableDeclaratorSyntax> edit)
    {
        var root = tree.GetRoot(TestContext.Current.CancellationToken);
        var declarator = root.DescendantNodes().OfType<VariableDeclaratorSyntax>().Single(v => v.Identifier.Text == field);
        return tree.WithRootAndOptions(root.ReplaceNode(declarator, edit(declarator)), tree.Options);
    }

    // Where the IDE puts the squiggle: on the declaration the user has to look at.
    private static void AssertPointsAt(Diagnostic diagnostic, SyntaxTree tree, string text)
    {
        Assert.Equal(tree.FilePath, diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(text, tree.GetText(TestContext.Current.CancellationToken).ToString(diagnostic.Location.SourceSpan));
    }
}
