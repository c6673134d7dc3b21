using System.Diagnostics;
using System.Runtime.InteropServices;

namespace GameSystem.Host.Tests;

/// <summary>
/// The real host executable in a child process: <c>dotnet GameSystem.Host.dll</c> from this
/// test's output directory, where the build copies it together with its runtimeconfig,
/// appsettings.json and the <c>GameSystem.Services.*</c> assemblies it discovers. Captures
/// its output line by line, sends it signals, and kills it on dispose if it still runs.
/// </summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<string> _output = [];
    private readonly List<string> _errors = [];
    private TaskCompletionSource _changed = NewSignal();
    private bool _outputClosed;

    private HostProcess(Process process) => _process = process;

    /// <summary>Where the host was started from; the catalog discovers services here.</summary>
    public static string Directory => AppContext.BaseDirectory;

    public int Id => _process.Id;

    /// <summary>True once the host process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Standard output so far, one entry per line.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_gate)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Standard error so far, one entry per line.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_gate)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Everything the host printed, for failure messages.</summary>
    public string Transcript
    {
        get
        {
            lock (_gate)
            {
                return $"stdout:\n{string.Join('\n', _output)}\nstderr:\n{string.Join('\n', _errors)}";
            }
        }
    }

    /// <summary>
    /// Starts the host with <paramref name="arguments"/>. Only the arguments, the given
    /// environment and appsettings.json configure it: <c>GameSystem__*</c> variables of the
    /// test run are not passed on, and caller identity is off unless the environment given
    /// sets <c>GameSystem__Identity__Mode</c>.
    /// </summary>
    public static HostProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var hostDll = Path.Combine(Directory, "GameSystem.Host.dll");
        if (!File.Exists(hostDll) || !File.Exists(Path.Combine(Directory, "GameSystem.Host.runtimeconfig.json")))
        {
            throw new InvalidOperationException($"GameSystem.Host.dll and its runtimeconfig are not in {Directory}: the test project must reference src/GameSystem.Host.");
        }

        var info = new ProcessStartInfo(DotNet())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        info.ArgumentList.Add(hostDll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("GameSystem__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }

        // Tests that are not about caller identity call without tokens; those that are turn it on.
        info.Environment["GameSystem__Identity__Mode"] = "Off";

        // Hosts of parallel tests would all want the management listener's default port: each
        // takes a free one (the banner names it) unless the environment given sets one.
        info.Environment["GameSystem__Host__Http__Urls"] = "http://127.0.0.1:0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => host.Append(host._output, e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(host._errors, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Waits for a line of standard output that <paramref name="match"/> accepts and returns it.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var seen = 0;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                for (; seen < _output.Count; seen++)
                {
                    if (match(_output[seen]))
                    {
                        return _output[seen];
                    }
                }

                if (_outputClosed)
                {
                    throw new InvalidOperationException($"The host closed its output without printing the line waited for.\n{Transcript}");
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The host did not print the line waited for within {timeout.TotalSeconds} s.\n{Transcript}");
            }
        }
    }

    /// <summary>Sends SIGTERM, as a container runtime or systemd does to stop a service.</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Kills the host with SIGKILL, as a crash or an out-of-memory kill ends it: nothing runs on the way out.</summary>
    public void Crash() => _process.Kill(entireProcessTree: true);

    /// <summary>Waits for the host to exit (and for its output to be read) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The host did not exit within {timeout.TotalSeconds} s.\n{Transcript}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    // The same dotnet that runs the tests, so the host gets the same runtime.
    private static string DotNet()
    {
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Append(List<string> lines, string? line)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (line is not null)
            {
                lines.Add(line);
            }
            else if (ReferenceEquals(lines, _output))
            {
                _outputClosed = true;
            }

            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    // DllImport rather than LibraryImport: the signature is blittable, so no marshalling
    // code is generated and the project needs no unsafe code.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
