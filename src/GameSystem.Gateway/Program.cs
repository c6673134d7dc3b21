using GameSystem.Gateway;
using GameSystem.Settings;

Microsoft.AspNetCore.Builder.WebApplication app;
try
{
    app = GatewayApplication.Build(args);
}
catch (SettingException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine($"GameSystem gateway could not build its routes: {ex.Message}");
    return 3;
}

await using (app.ConfigureAwait(false))
{
    await app.StartAsync().ConfigureAwait(false);
    foreach (var address in GatewayApplication.Addresses(app))
    {
        Console.WriteLine($"GameSystem gateway listening on {address} (OpenAPI: {address}{GatewayApplication.OpenApiPath}, reference: {address}{GatewayApplication.DocsPath})");
    }

    Console.WriteLine($"GameSystem gateway metrics: {string.Join(", ", GatewayApplication.MetricsAddresses(app).Select(a => a + "/metrics"))}");

    await app.WaitForShutdownAsync().ConfigureAwait(false);
    return 0;
}
