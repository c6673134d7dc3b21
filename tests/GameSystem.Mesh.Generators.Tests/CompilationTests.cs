using System.Runtime.Loader;
using Google.Protobuf.Reflection;
using Microsoft.CodeAnalysis;

namespace GameSystem.Mesh.Generators.Tests;

/// <summary>What the generator emits compiles next to protoc's output, and works once loaded.</summary>
public sealed class CompilationTests
{
    [Theory]
    [InlineData("Golden")]
    [InlineData("Unsupported")]
    [InlineData("Empty")]
    public void EmittedCode_CompilesWithProtocOutputAndTheMeshRuntime(string proto)
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load(proto)));

        var emitted = run.Output.Emit(Stream.Null, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Empty(emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
        Assert.True(emitted.Success);
    }

    [Fact]
    public void EmittedCode_RaisesNoCompilerWarnings()
    {
        // CS1591 (missing XML comment) has its own test below.
        var warnings = WarningsInEmittedCode().Where(d => d.Id != "CS1591");

        Assert.Empty(warnings);
    }

    [Fact]
    public void RpcWithoutComment_StillGetsDocumentedMembers()
    {
        Assert.DoesNotContain(WarningsInEmittedCode(), d => d.Id == "CS1591");
    }

    [Fact]
    public void EmittedDispatcher_ReadsTheContractOptionsOfEachRpc()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load("Golden")));
        using var image = new MemoryStream();
        Assert.True(run.Output.Emit(image, cancellationToken: TestContext.Current.CancellationToken).Success);
        image.Position = 0;
        var context = new AssemblyLoadContext(nameof(EmittedDispatcher_ReadsTheContractOptionsOfEachRpc), isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(image);
            var info = (MeshServiceInfo)assembly.GetType("GameSystem.Golden.V1.ClockServiceDispatcher", throwOnError: true)!
                .GetProperty("Info")!.GetValue(null)!;
            var methods = assembly.GetType("GameSystem.Golden.V1.ClockService+MeshMethods", throwOnError: true)!;
            var getClock = (MeshMethod)methods.GetField("GetClock")!.GetValue(null)!;
            var watchClock = (MeshMethod)methods.GetField("WatchClock")!.GetValue(null)!;
            var ping = (MeshMethod)methods.GetField("Ping")!.GetValue(null)!;

            Assert.Equal("gamesystem.golden.v1.ClockService", info.FullName);
            Assert.Equal("/gamesystem.golden.v1.ClockService/GetClock", getClock.Path);
            Assert.Equal(Grpc.Core.MethodType.Unary, getClock.Type);
            Assert.Equal(MethodOptions.Types.IdempotencyLevel.NoSideEffects, getClock.Idempotency);
            Assert.Equal(TimeSpan.FromSeconds(2), getClock.DefaultTimeout);
            Assert.Equal(Grpc.Core.MethodType.ServerStreaming, watchClock.Type);
            Assert.Equal(TimeSpan.FromSeconds(5), watchClock.DefaultTimeout);
            Assert.Equal([getClock, watchClock, ping], info.Methods);
        }
        finally
        {
            context.Unload();
        }
    }

    private static IEnumerable<Diagnostic> WarningsInEmittedCode()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load("Golden")));
        var emittedTrees = run.Result.GeneratedSources.Select(s => s.SyntaxTree).ToHashSet();
        return run.Output.GetDiagnostics(TestContext.Current.CancellationToken)
            .Where(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && emittedTrees.Contains(tree));
    }
}
