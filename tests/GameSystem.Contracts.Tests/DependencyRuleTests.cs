using System.Diagnostics;

namespace GameSystem.Contracts.Tests;

/// <summary>The build refuses a service project that references another service's project.</summary>
public sealed class DependencyRuleTests
{
    [Fact(Timeout = 120_000)]
    public async Task ServiceProject_ReferencingAnotherService_FailsTheBuildWithGSBUILD001()
    {
        var (exitCode, output) = await RunRuleAsync("GameSystem.Services.Questing", "GameSystem.Services.Payments/GameSystem.Services.Payments.csproj");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("GSBUILD001", output, StringComparison.Ordinal);
        Assert.Contains("GameSystem.Services.Questing references GameSystem.Services.Payments", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task ServiceProject_ReferencingOnlyContractsAndRuntime_Passes()
    {
        var (exitCode, output) = await RunRuleAsync("GameSystem.Services.Questing", "GameSystem.Contracts/GameSystem.Contracts.csproj");

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("GSBUILD001", output, StringComparison.Ordinal);
    }

    // Runs only the rule's target on a throwaway project that imports src/Directory.Build.targets.
    private static async Task<(int ExitCode, string Output)> RunRuleAsync(string projectName, string reference)
    {
        var directory = Directory.CreateTempSubdirectory("gamesystem-rule-");
        try
        {
            var project = Path.Combine(directory.FullName, projectName + ".csproj");
            var targets = Path.Combine(Contracts.RepositoryRoot, "src", "Directory.Build.targets");
            await File.WriteAllTextAsync(project, $"""
                <Project>
                  <ItemGroup><ProjectReference Include="../{reference}" /></ItemGroup>
                  <Target Name="ResolveProjectReferences" />
                  <Target Name="Build" />
                  <Import Project="{targets}" />
                </Project>
                """, TestContext.Current.CancellationToken);
            var start = new ProcessStartInfo("dotnet", ["msbuild", project, "-t:GameSystemForbidServiceReferences", "-nologo"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            return (process.ExitCode, await stdout + await stderr);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
