using System.Text.RegularExpressions;
using GameSystem.Auth.V1;
using GameSystem.Testing;
using Grpc.Core;

namespace GameSystem.Host.Tests;

/// <summary>
/// The host as it runs in production: caller identity enforced, auth among the services it
/// serves (or served by another host on the same store), with the mesh's secrets fixed so that
/// several hosts of one test share them, as one deployment's hosts do. Password hashing is
/// cheap, for a 2-core machine.
/// </summary>
internal static partial class IdentityHost
{
    /// <summary>Made an administrator by auth when it registers (<c>GameSystem:Auth:Administrators</c>).</summary>
    public const string Administrator = "ops";

    private const string Password = "correct horse battery";

    /// <summary>What every host of a test is given: identity on, the service secret and auth's key-encryption key.</summary>
    public static Dictionary<string, string> Environment() => new()
    {
        ["GameSystem__Identity__Mode"] = "Enforce",
        ["GameSystem__Identity__ServiceSecret"] = Convert.ToBase64String([.. Enumerable.Range(7, 32).Select(i => (byte)i)]),
        ["GameSystem__Auth__KeyEncryptionKey"] = Convert.ToBase64String([.. Enumerable.Range(100, 32).Select(i => (byte)i)]),
        ["GameSystem__Auth__PasswordMemoryKib"] = "1024",
        ["GameSystem__Auth__PasswordIterations"] = "1",
    };

    public static string[] Arguments(NatsServerFixture nats, string prefix, string services, params string[] more) =>
        ["--services", services, "--nats", nats.Url, "--GameSystem:Mesh:SubjectPrefix", prefix,
         "--GameSystem:Auth:Administrators:0", Administrator, .. more];

    /// <summary>
    /// Starts a host serving <paramref name="services"/> (<c>all</c> for every service) and returns
    /// once its banner has listed every service it serves, which it prints after each instance
    /// made its first attempt to register.
    /// </summary>
    public static async Task<HostProcess> StartServingAsync(NatsServerFixture nats, string prefix, string services, CancellationToken cancellationToken, params string[] more)
    {
        var host = HostProcess.Start(Arguments(nats, prefix, services, more), Environment());
        try
        {
            var serving = await host.WaitForOutputAsync(line => ServingLine().IsMatch(line), TimeManagerHost.StartTimeout, cancellationToken);
            var count = int.Parse(ServingLine().Match(serving).Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var listed = 0;
            await host.WaitForOutputAsync(line => line.Contains($" {prefix}.gamesystem.", StringComparison.Ordinal) && ++listed == count, TimeManagerHost.StartTimeout, cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Registers <paramref name="username"/> with auth, logs it in, and returns the metadata that carries its access token.</summary>
    public static async Task<Metadata> LoginAsync(AuthServiceClient auth, string username, CancellationToken cancellationToken)
    {
        await auth.RegisterAsync(new RegisterRequest { Username = username, Email = $"{username}@example.com", Password = Password, RequestId = Guid.NewGuid().ToString() }, cancellationToken: cancellationToken);
        var login = await auth.LoginAsync(new LoginRequest { Login = username, Password = Password, ClientName = "host-tests" }, cancellationToken: cancellationToken);
        return new Metadata { { "authorization", "Bearer " + login.Tokens.AccessToken } };
    }

    /// <summary>The instances the host registered with capability-registry (<c>&lt;service&gt;-&lt;host instance id&gt;</c>), as it logged them.</summary>
    public static IReadOnlyList<string> Registered(HostProcess host) =>
        [.. host.Output.Select(line => RegisteredLine().Match(line)).Where(m => m.Success).Select(m => m.Groups["instance"].Value)];

    [GeneratedRegex(@"Serving (?<count>\d+) services: \d+ implemented")]
    private static partial Regex ServingLine();

    [GeneratedRegex(@"Registered (?<instance>\S+) with capability-registry \(lease")]
    private static partial Regex RegisteredLine();
}
