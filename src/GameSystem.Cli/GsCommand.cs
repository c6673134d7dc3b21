using GameSystem.Auth.V1;
using GameSystem.Cli.Internal;
using GameSystem.Mesh;
using GameSystem.Mesh.Nats;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Cli;

/// <summary>
/// The <c>gs</c> command: <c>list</c>, <c>describe</c> and <c>call</c> any service of the
/// mesh. Everything it knows of the services comes from the generated catalog; every call
/// goes through <see cref="NatsMeshClient"/>, as a generated client's would.
/// </summary>
public static class GsCommand
{
    // Set by eng/gs.sh so help and hints show the command as the user typed it.
    private const string ProgramKey = "GS_PROGRAM";

    // An access token to send as is, and where `gs login` keeps its tokens.
    private const string TokenKey = "GS_TOKEN";
    private const string TokenFileKey = "GS_TOKEN_FILE";

    /// <summary>
    /// Runs one command and returns its exit code (<see cref="GsExitCode"/>). Settings come
    /// from the same environment variables as the host's (<c>GameSystem__Nats__Servers</c>,
    /// <c>GameSystem__Mesh__SubjectPrefix</c>); options on the command line win.
    /// </summary>
    public static Task<int> RunAsync(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        RunAsync(args, input, output, error, new ConfigurationBuilder().AddEnvironmentVariables().Build(), cancellationToken);

    internal static async Task<int> RunAsync(
        IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error, IConfiguration environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var program = environment[ProgramKey] is { Length: > 0 } name ? name : "gs";
        try
        {
            var line = CommandLine.Parse(args);
            var directory = ServiceDirectory.Contracts;
            switch (line.Command)
            {
                case "list" when line.Arguments.IsEmpty:
                    CatalogPrinter.WriteList(output, directory);
                    return GsExitCode.Ok;
                case "describe" when line.Arguments.Length is 1 or 2:
                    var service = directory.FindService(line.Arguments[0]);
                    if (line.Arguments.Length == 1)
                    {
                        CatalogPrinter.WriteService(output, service, program);
                    }
                    else
                    {
                        CatalogPrinter.WriteMethod(output, service, ServiceDirectory.FindMethod(service, line.Arguments[1]), program);
                    }

                    return GsExitCode.Ok;
                case "call" when line.Arguments.Length is 2 or 3:
                    return await CallAsync(line, directory, input, output, error, environment, program, cancellationToken).ConfigureAwait(false);
                case "login" when line.Arguments.Length == 1:
                case "logout" when line.Arguments.IsEmpty:
                    return await SessionAsync(line, input, output, error, environment, cancellationToken).ConfigureAwait(false);
                case "help":
                    await output.WriteAsync(Usage(program)).ConfigureAwait(false);
                    return GsExitCode.Ok;
                case "list" or "describe" or "call" or "login" or "logout":
                    throw new UsageException($"wrong number of arguments for '{line.Command}'.", pointsToHelp: true);
                default:
                    throw new UsageException($"unknown command '{line.Command}'.", pointsToHelp: true);
            }
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            if (ex.PointsToHelp)
            {
                await error.WriteLineAsync($"Run '{program} --help' for usage.").ConfigureAwait(false);
            }

            return GsExitCode.Usage;
        }
    }

    private static async Task<int> CallAsync(
        CommandLine line, ServiceDirectory directory, TextReader input, TextWriter output, TextWriter error, IConfiguration environment, string program, CancellationToken cancellationToken)
    {
        var service = directory.FindService(line.Arguments[0]);
        var method = ServiceDirectory.FindMethod(service, line.Arguments[1]);
        var json = line.Arguments.Length == 3 ? await ReadRequestAsync(line.Arguments[2], input, cancellationToken).ConfigureAwait(false) : "{}";
        var registry = TypeRegistry.FromFiles([.. directory.Services.Select(s => s.Descriptor.File), ErrorDetailsReflection.Descriptor]);
        IMessage request;
        try
        {
            request = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(registry)).Parse(json, method.Descriptor.InputType);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            throw new UsageException(
                $"the request is not a valid {method.Descriptor.InputType.FullName} in proto3 JSON: {ex.Message} ('{program} describe {service.Name} {method.Name}' shows its fields)");
        }

        var formatter = new JsonFormatter(JsonFormatter.Settings.Default
            .WithTypeRegistry(registry)
            .WithFormatDefaultValues(line.Defaults)
            .WithIndentation());
        var mesh = await MeshConnection.OpenAsync(line, environment, error).ConfigureAwait(false);
        if (mesh is null)
        {
            return GsExitCode.NatsUnreachable;
        }

        await using var meshScope = mesh.ConfigureAwait(false);

        var invoker = mesh.Invoker;
        try
        {
            line = await WithTokenAsync(line, environment, mesh, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            await error.WriteLineAsync($"error: the saved session could not be refreshed ({CatalogPrinter.ProtoName(ex.StatusCode)}: {ex.Status.Detail}); run '{program} login <user>' again.").ConfigureAwait(false);
            return GsExitCode.ForStatus(ex.StatusCode);
        }

        var streaming = method.Type == MethodType.ServerStreaming;
        try
        {
            await method.Accept(new MeshCall(invoker, request, line, formatter, output, cancellationToken)).ConfigureAwait(false);
            return GsExitCode.Ok;
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // Watching a stream until Ctrl+C is how streams are used; a unary call cut short is not.
            return streaming ? GsExitCode.Ok : GsExitCode.Interrupted;
        }
        catch (RpcException ex)
        {
            await WriteErrorAsync(error, ex, formatter, service, program).ConfigureAwait(false);
            return GsExitCode.ForStatus(ex.StatusCode);
        }
    }

    // `gs login <user>`: the password is the first line of stdin (typed, or piped in).
    private static async Task<int> SessionAsync(CommandLine line, TextReader input, TextWriter output, TextWriter error, IConfiguration environment, CancellationToken cancellationToken)
    {
        var file = TokenFileOf(environment) ?? throw new UsageException($"{TokenFileKey} is not set: eng/gs.sh sets it to .run/gs-token.json.");
        var mesh = await MeshConnection.OpenAsync(line, environment, error).ConfigureAwait(false);
        if (mesh is null)
        {
            return GsExitCode.NatsUnreachable;
        }

        await using var meshScope = mesh.ConfigureAwait(false);

        var auth = new AuthServiceClient(mesh.Invoker);
        try
        {
            if (line.Command == "logout")
            {
                if (file.Read() is { } saved)
                {
                    await auth.LogoutAsync(new LogoutRequest { RefreshToken = saved.RefreshToken }, cancellationToken: cancellationToken).ConfigureAwait(false);
                    file.Delete();
                }

                await output.WriteLineAsync("Logged out.").ConfigureAwait(false);
                return GsExitCode.Ok;
            }

            if (!Console.IsInputRedirected && ReferenceEquals(input, Console.In))
            {
                await error.WriteAsync("Password: ").ConfigureAwait(false);
            }

            var password = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? string.Empty;
            var response = await auth.LoginAsync(new LoginRequest { Login = line.Arguments[0], Password = password, ClientName = "gs" }, cancellationToken: cancellationToken).ConfigureAwait(false);
            file.Write(response.Tokens);
            await output.WriteLineAsync(
                $"Logged in as {response.Account.Username} ({response.Account.AccountId}), scopes: {string.Join(' ', response.Tokens.Scopes)}; tokens saved in {file.Path}.").ConfigureAwait(false);
            return GsExitCode.Ok;
        }
        catch (RpcException ex)
        {
            await error.WriteLineAsync($"ERROR {CatalogPrinter.ProtoName(ex.StatusCode)}: {ex.Status.Detail}").ConfigureAwait(false);
            return GsExitCode.ForStatus(ex.StatusCode);
        }
    }

    // A token given on the command line (--metadata authorization=…) wins, then GS_TOKEN, then
    // the session `gs login` saved, refreshed first when its access token is about to expire.
    private static async Task<CommandLine> WithTokenAsync(CommandLine line, IConfiguration environment, MeshConnection mesh, CancellationToken cancellationToken)
    {
        if (line.Metadata.GetValue("authorization") is not null)
        {
            return line;
        }

        var token = environment[TokenKey];
        if (string.IsNullOrEmpty(token) && TokenFileOf(environment) is { } file && file.Read() is { } saved)
        {
            if (saved.AccessTokenExpireTime is null || saved.AccessTokenExpireTime.ToDateTimeOffset() - DateTimeOffset.UtcNow < TokenFile.RefreshBefore)
            {
                var refreshed = await new AuthServiceClient(mesh.Invoker).RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = saved.RefreshToken }, cancellationToken: cancellationToken).ConfigureAwait(false);
                saved = refreshed.Tokens;
                file.Write(saved);
            }

            token = saved.AccessToken;
        }

        if (string.IsNullOrEmpty(token))
        {
            return line;
        }

        var metadata = new Metadata();
        foreach (var entry in line.Metadata)
        {
            metadata.Add(entry);
        }

        metadata.Add("authorization", "Bearer " + token);
        return line with { Metadata = metadata };
    }

    private static TokenFile? TokenFileOf(IConfiguration environment) =>
        environment[TokenFileKey] is { Length: > 0 } path ? new TokenFile(path) : null;

    private static async Task WriteErrorAsync(TextWriter error, RpcException ex, JsonFormatter formatter, MeshServiceInfo service, string program)
    {
        await error.WriteLineAsync($"ERROR {CatalogPrinter.ProtoName(ex.StatusCode)}: {ex.Status.Detail}").ConfigureAwait(false);
        if (ex.GetRpcStatus() is { Details.Count: > 0 } status)
        {
            foreach (var detail in status.Details)
            {
                await error.WriteLineAsync($"  {Compact(formatter.Format(detail))}").ConfigureAwait(false);
            }
        }

        if (ex.StatusCode == StatusCode.Unavailable)
        {
            await error.WriteLineAsync(
                $"Is a host serving {service.Name}? Start the mesh with eng/run-mesh.sh, and use the host's subject prefix (--prefix).").ConfigureAwait(false);
        }
        else if (ex.StatusCode == StatusCode.InvalidArgument)
        {
            await error.WriteLineAsync($"'{program} describe {service.Name}' shows what each request carries.").ConfigureAwait(false);
        }
    }

    // Details go on one line each, under the status line.
    private static string Compact(string json) =>
        string.Join(' ', json.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    private static async Task<string> ReadRequestAsync(string argument, TextReader input, CancellationToken cancellationToken)
    {
        if (argument == "-")
        {
            return await input.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }

        if (argument.StartsWith('@'))
        {
            try
            {
                return await File.ReadAllTextAsync(argument[1..], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read the request from '{argument[1..]}': {ex.Message}");
            }
        }

        return argument;
    }

    private static string Usage(string program) => $"""
        {program}: call GameSystem services on the mesh from the shell.

        Usage:
          {program} list                               every service and its rpcs
          {program} describe <service> [<method>]      the fields a request carries
          {program} call <service> <method> [<json>]   call an rpc, print the response as proto3 JSON
          {program} login <username or e-mail>        log in (password on the first line of stdin); calls then carry the token
          {program} logout                             end the saved session

          <json> is the request in proto3 JSON ({program} describe shows its fields), - to read it
          from stdin, or @file; without it the request is empty. <service> is the mesh name shown
          by list (time-manager); <method> is the rpc name in any case, or with dashes (get-clock).

        Options:
          --nats <url[,url]>     NATS servers (default: GameSystem__Nats__Servers, else nats://127.0.0.1:4222)
          --prefix <token>       subject prefix (default: GameSystem__Mesh__SubjectPrefix, else gs)
          --timeout <duration>   deadline of the call: 500ms, 5s, 2m (default: the contract's)
          --metadata <key=value> request metadata, repeatable (base64 value for keys ending in -bin)
          --defaults             also print fields that hold their default value
          --count <n>            end a stream after n messages (otherwise Ctrl+C ends it)

        Calls carry an access token: --metadata authorization="Bearer <token>", else GS_TOKEN,
        else the session '{program} login' saved in GS_TOKEN_FILE (refreshed when it expires).

        Exit codes: 0 ok, 2 bad usage or input, 3 NATS unreachable, 130 interrupted,
        64 + the gRPC status code when the call fails (69 NOT_FOUND, 67 INVALID_ARGUMENT, 78 UNAVAILABLE).

        """;
}
