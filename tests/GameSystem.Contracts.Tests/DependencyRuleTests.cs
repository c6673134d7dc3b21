using System.Diagnostics;

namespace GameSystem.Contracts.Tests;

/// <summary>
/// The build refuses a service project that references another service's project (GSBUILD001)
/// or that lives anywhere but <c>src/Services/</c>, where the host finds services (GSBUILD002).
/// </summary>
public sealed class DependencyRuleTests
{
    [Fact(Timeout = 120_000)]
    public async Task ServiceProject_ReferencingAnotherService_FailsTheBuildWithGSBUILD001()
    {
        var (exitCode, output) = await RunRuleAsync(ServicesFolder, "GameSystem.Services.Questing", "GameSystem.Services.Payments/GameSystem.Services.Payments.csproj");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("GSBUILD001", output, StringComparison.Ordinal);
        Assert.Contains("GameSystem.Services.Questing references GameSystem.Services.Payments", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task ServiceProject_ReferencingOnlyContractsAndRuntime_Passes()
    {
        var (exitCode, output) = await RunRuleAsync(ServicesFolder, "GameSystem.Services.Questing", "../GameSystem.Contracts/GameSystem.Contracts.csproj");

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("GSBUILD", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task ServiceProject_OutsideSrcServices_FailsTheBuildWithGSBUILD002()
    {
        var (exitCode, output) = await RunRuleAsync("src", "GameSystem.Services.Questing", "GameSystem.Contracts/GameSystem.Contracts.csproj");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("GSBUILD002", output, StringComparison.Ordinal);
        Assert.Contains("must be src/Services/GameSystem.Services.Questing/GameSystem.Services.Questing.csproj", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task PlatformProject_OutsideSrcServices_Passes()
    {
        var (exitCode, output) = await RunRuleAsync("src", "GameSystem.Gateway", "GameSystem.Contracts/GameSystem.Contracts.csproj");

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("GSBUILD", output, StringComparison.Ordinal);
    }

    private const string ServicesFolder = "src/Services";

    // Runs only the rules' targets on a throwaway project in <folder>/<name>/ of a scratch
    // tree holding a copy of src/Directory.Build.targets, as the real tree does.
    private static async Task<(int ExitCode, string Output)> RunRuleAsync(string folder, string projectName, string reference)
    {
        var directory = Directory.CreateTempSubdirectory("gamesystem-rule-");
        try
        {
            var projectDirectory = Directory.CreateDirectory(Path.Combine(directory.FullName, folder, projectName)).FullName;
            var project = Path.Combine(projectDirectory, projectName + ".csproj");
            var targets = Path.Combine(directory.FullName, "src", "Directory.Build.targets");
            File.Copy(Path.Combine(Contracts.RepositoryRoot, "src", "Directory.Build.targets"), targets);
            await File.WriteAllTextAsync(project, $"""
                <Project>
                  <ItemGroup><ProjectReference Include="../{reference}" /></ItemGroup>
                  <Target Name="ResolveProjectReferences" />
                  <Target Name="Build" />
                  <Import Project="{targets}" />
                </Project>
                """, TestContext.Current.CancellationToken);
            var start = new ProcessStartInfo("dotnet", ["msbuild", project, "-t:GameSystemForbidServiceReferences;GameSystemRequireServicesFolder", "-nologo"])
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
