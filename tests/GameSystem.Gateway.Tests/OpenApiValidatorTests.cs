using System.Diagnostics;
using GameSystem.Gateway.OpenApi;
using GameSystem.Mesh;

namespace GameSystem.Gateway.Tests;

/// <summary>
/// The document checked by code that is not ours: @seriousme/openapi-schema-validator (npm),
/// which validates against the official OpenAPI 3.1 JSON schema. It is installed by
/// <c>eng/install-prereqs.sh --with-openapi-validator</c>; without it this test fails, never skips.
/// </summary>
public sealed class OpenApiValidatorTests
{
    [Fact(Timeout = 120_000)]
    public async Task TheGeneratedDocument_PassesTheOfficialOpenApi31Schema()
    {
        var root = RepositoryRoot();
        var validator = Path.Combine(root, ".tools", "openapi", "node_modules", ".bin", "validate-api");
        Assert.True(File.Exists(validator), $"The OpenAPI validator is not installed at {validator}: run `eng/install-prereqs.sh --with-openapi-validator` first.");

        // Every contract's routes, and the test contracts' (the HttpRule examples: `**`, resource
        // names, body fields, response_body, additional bindings; a method with scopes).
        var contracts = (MeshServiceInfo[])[.. GatewayApplication.Contracts, GatewayHarness.ProbeContract, GatewayHarness.MessagingContract];
        var document = OpenApiDocumentBuilder.ToJson(OpenApiDocumentBuilder.Build(GatewayRouteTable.Build(contracts)));
        var file = Path.Combine(Path.GetTempPath(), $"gamesystem-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, document, TestContext.Current.CancellationToken);
        try
        {
            using var process = Process.Start(new ProcessStartInfo(validator, [file])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);

            var said = (await output) + (await error);
            Assert.True(process.ExitCode == 0, $"validate-api exited {process.ExitCode}:\n{said}");
            Assert.Contains("\"valid\": true", said, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GameSystem.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds GameSystem.sln.");
    }
}
