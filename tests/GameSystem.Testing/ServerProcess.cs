using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GameSystem.Testing;

/// <summary>
/// A real server binary (nats-server, redis-server) started on a free loopback port for
/// the length of a test run, and killed afterwards.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly bool _ownsWorkDirectory;

    private ServerProcess(Process process, int port, string workDirectory, bool ownsWorkDirectory)
    {
        _process = process;
        Port = port;
        WorkDirectory = workDirectory;
        _ownsWorkDirectory = ownsWorkDirectory;
    }

    /// <summary>The server's process id (benchmarks read its CPU time from <c>/proc</c>).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The server's directory: a scratch one deleted on dispose, or the one the caller gave (kept, so a restart finds its data).</summary>
    public string WorkDirectory { get; }

    /// <summary>What the server printed so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>
    /// Starts <paramref name="binary"/> with the arguments <paramref name="arguments"/> builds
    /// for a free port (or <paramref name="port"/>) and a directory (a scratch one, or
    /// <paramref name="workDirectory"/> to restart a server on its data), with
    /// <paramref name="environment"/> added to its environment, and waits until the port accepts connections.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(string binary, string installHint, Func<int, string, IEnumerable<string>> arguments, TimeSpan startTimeout, int? port = null, string? workDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var path = FindOnPath(binary) ?? throw new InvalidOperationException(
            $"'{binary}' was not found on PATH. {installHint}");
        port ??= FreePort();
        var work = workDirectory ?? Directory.CreateTempSubdirectory($"gamesystem-{binary}-").FullName;
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        foreach (var argument in arguments(port.Value, work))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {path}.");
        var server = new ServerProcess(process, port.Value, work, ownsWorkDirectory: workDirectory is null);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < startTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{binary} exited with code {process.ExitCode} at start:\n{server.Output}");
            }

            if (await CanConnectAsync(port.Value).ConfigureAwait(false))
            {
                return server;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        await server.DisposeAsync().ConfigureAwait(false);
        throw new TimeoutException($"{binary} did not accept connections on 127.0.0.1:{port} within {startTimeout.TotalSeconds} s:\n{server.Output}");
    }

    /// <summary>Kills the process (as a crash would) and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
        if (!_ownsWorkDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Runs <paramref name="binary"/> to completion (a client tool such as redis-cli) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string binary, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var path = FindOnPath(binary) ?? throw new InvalidOperationException($"'{binary}' was not found on PATH.");
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {path}.");
        using var cancel = new CancellationTokenSource(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var stderr = process.StandardError.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{binary} {string.Join(' ', info.ArgumentList)} did not finish within {timeout.TotalSeconds} s.");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }

    /// <summary>A port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string? FindOnPath(string binary)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Concat(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]);
        return directories.Select(d => Path.Combine(d, binary)).FirstOrDefault(File.Exists);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
