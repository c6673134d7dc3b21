namespace GameSystem.Mesh.Generators.Tests;

/// <summary>The source emitted for <c>Protos/golden.proto</c>, compared with <c>Golden/</c>.</summary>
public sealed class GoldenTests
{
    private const string Service = "gamesystem.golden.v1.ClockService";

    private static readonly Lazy<GeneratorRun> GoldenRun = new(() => GeneratorHarness.Run(GeneratorHarness.Compilation(ProtocOutput.Load("Golden"))));

    [Fact]
    public void GoldenContract_EmitsInterfaceClientDispatcherAndDependencyInjectionFiles()
    {
        string[] expected =
        [
            $"{Service}.Client.g.cs",
            $"{Service}.DependencyInjection.g.cs",
            $"{Service}.Dispatcher.g.cs",
            $"{Service}.Interface.g.cs",
        ];

        Assert.Equal(expected, GoldenRun.Value.HintNames);
        Assert.Empty(GoldenRun.Value.Diagnostics);
        if (GoldenFile.Updating)
        {
            foreach (var stale in GoldenFile.Names().Except(expected))
            {
                GoldenFile.Delete(stale);
            }
        }

        Assert.Equal(expected, GoldenFile.Names());
    }

    [Theory]
    [InlineData("Interface")]
    [InlineData("Client")]
    [InlineData("Dispatcher")]
    [InlineData("DependencyInjection")]
    public void EmittedFile_MatchesItsGoldenFile(string part)
    {
        var hintName = $"{Service}.{part}.g.cs";

        GoldenFile.AssertMatches(hintName, GoldenRun.Value.Source(hintName));
    }
}
