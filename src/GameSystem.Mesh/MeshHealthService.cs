using System.Collections.Frozen;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GameSystem.Mesh;

/// <summary>
/// The standard <c>grpc.health.v1.Health</c> service for the services one host serves, computed
/// from real probes: the host's own (NATS connected, the state store reachable), each service's
/// <see cref="IMeshReadiness"/> and its <see cref="MeshHealthTarget.Dependencies"/>. The probes
/// run once per <see cref="MeshHealthOptions.PollInterval"/> for every caller together; Check and
/// List answer from the latest round, Watch sends the status and then each change, and
/// <see cref="Report"/> gives the whole round to the host's other views of its health.
/// </summary>
/// <remarks>
/// <para>
/// Names: a service's proto full name, and <c>""</c> for the host as a whole, which is SERVING
/// when the host's probes pass and every implemented service is SERVING. A service served from
/// its contract only (every call UNIMPLEMENTED) is NOT_SERVING: it exists on the mesh, so it is
/// not unknown, but it will not serve a call. An unknown name is NOT_FOUND for Check and
/// SERVICE_UNKNOWN for Watch, as the gRPC health protocol says.
/// </para>
/// <para>
/// A check that has passed before turns its services NOT_SERVING only after failing
/// <see cref="MeshHealthOptions.FailureThreshold"/> rounds in a row, so one slow ping never flaps a
/// healthy host; one that has never passed fails at once, and one passing round restores it.
/// </para>
/// <para>
/// <see cref="BeginStop"/> turns every status NOT_SERVING at once, before the host drains, so
/// watchers move away while its calls finish; the service keeps answering until
/// <see cref="EndWatchesAsync"/>, after the drain.
/// </para>
/// </remarks>
public sealed partial class MeshHealthService : IHealth, IAsyncDisposable
{
    /// <summary>The name the whole host answers under.</summary>
    public const string Overall = "";

    private readonly MeshHealthOptions _options;
    private readonly IReadOnlyList<MeshHealthProbe> _hostProbes;
    private readonly IReadOnlyList<MeshHealthTarget> _targets;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();

    // Touched only by the rounds, which run one at a time.
    private readonly Dictionary<string, CheckHistory> _history = new(StringComparer.Ordinal);
    private Snapshot _current;
    private MeshHealthReport _report;
    private Task? _polling;
    private bool _stopping;
    private bool _ended;

    /// <summary>Creates the service for <paramref name="targets"/>; nothing runs until <see cref="StartAsync"/>.</summary>
    public MeshHealthService(IEnumerable<MeshHealthTarget> targets, IEnumerable<MeshHealthProbe> hostProbes, MeshHealthOptions? options = null, TimeProvider? timeProvider = null, ILogger<MeshHealthService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(hostProbes);
        _targets = [.. targets];
        _hostProbes = [.. hostProbes];
        _options = options ?? MeshHealthOptions.Default;
        if (_options.PollInterval <= TimeSpan.Zero || _options.ProbeTimeout <= TimeSpan.Zero || _options.FailureThreshold < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "PollInterval and ProbeTimeout must be positive, FailureThreshold at least 1.");
        }

        if (_targets.Select(t => t.ServiceFullName).Distinct(StringComparer.Ordinal).Count() != _targets.Count || _targets.Any(t => t.ServiceFullName.Length == 0))
        {
            throw new ArgumentException("Each target needs a distinct, non-empty service name.", nameof(targets));
        }

        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        // Until the first round has run nothing is known to work.
        _current = new Snapshot(_targets.Select(t => t.ServiceFullName).Append(Overall).ToFrozenDictionary(n => n, _ => ServingStatus.NotServing, StringComparer.Ordinal), []);
        _report = new MeshHealthReport(
            null,
            false,
            [],
            _targets.ToFrozenDictionary(t => t.ServiceFullName, t => new MeshServiceHealth(t.ServiceFullName, t.IsImplemented, ServingStatus.NotServing, ["no health round has run yet"]), StringComparer.Ordinal),
            ServingStatus.NotServing);
    }

    /// <summary>The latest round in full: each check's result and each service's status with its reasons.</summary>
    public MeshHealthReport Report => Volatile.Read(ref _report);

    /// <summary>The latest status of <paramref name="service"/> (<see cref="Overall"/> for the host); null when it is not served here.</summary>
    public ServingStatus? StatusOf(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return Volatile.Read(ref _current).Statuses.TryGetValue(service, out var status) ? status : null;
    }

    /// <summary>Each service's latest status (the host's own, <see cref="Overall"/>, left out): true when SERVING.</summary>
    internal IEnumerable<(string Service, bool Serving)> ServiceStatuses() =>
        Volatile.Read(ref _current).Statuses.Where(p => p.Key.Length > 0).Select(p => (p.Key, p.Value == ServingStatus.Serving));

    /// <summary>Runs the first health round, so the service answers with real statuses from the start, then keeps polling.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_polling is not null)
        {
            throw new InvalidOperationException("The health service is already started.");
        }

        Publish(await EvaluateAsync(cancellationToken).ConfigureAwait(false));
        _polling = PollAsync(_stop.Token);
        MeshTelemetry.ReportHealth(this);
    }

    /// <summary>A graceful stop begins: every status is NOT_SERVING from now on, and watchers are told at once.</summary>
    public void BeginStop()
    {
        lock (_gate)
        {
            _stopping = true;
        }

        const string Stopping = "the host is stopping";
        var report = Volatile.Read(ref _report);
        Publish(new Snapshot(
            _current.Statuses.ToFrozenDictionary(p => p.Key, _ => ServingStatus.NotServing, StringComparer.Ordinal),
            [Stopping],
            report: report with
            {
                Stopping = true,
                Overall = ServingStatus.NotServing,
                Services = report.Services.ToFrozenDictionary(p => p.Key, p => p.Value with { Status = ServingStatus.NotServing, Failures = [Stopping] }, StringComparer.Ordinal),
            }));
    }

    /// <summary>
    /// Ends every Watch with UNAVAILABLE (its caller retries elsewhere, as the protocol asks) and
    /// stops polling: the host calls this once its other services have drained, so the health
    /// server's own drain has nothing left to wait for.
    /// </summary>
    public async Task EndWatchesAsync()
    {
        BeginStop();
        lock (_gate)
        {
            _ended = true;
        }

        Publish(Volatile.Read(ref _current).Ending());
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_polling is not null)
        {
            await _polling.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <inheritdoc/>
    public ValueTask<HealthCheckResponse> CheckAsync(HealthCheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return StatusOf(request.Service) is { } status
            ? ValueTask.FromResult(new HealthCheckResponse { Status = status })
            : throw MeshStatus.Error(StatusCode.NotFound, $"'{request.Service}' is not a service this host serves; ask for one of its services by proto full name (List names them), or \"\" for the host.");
    }

    /// <inheritdoc/>
    public ValueTask<HealthListResponse> ListAsync(HealthListRequest request, ServerCallContext context)
    {
        var response = new HealthListResponse();
        foreach (var (service, status) in Volatile.Read(ref _current).Statuses)
        {
            response.Statuses[service] = new HealthCheckResponse { Status = status };
        }

        return ValueTask.FromResult(response);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<HealthCheckResponse> WatchAsync(HealthCheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ServingStatus? sent = null;
        while (true)
        {
            var snapshot = Volatile.Read(ref _current);
            var status = snapshot.Statuses.TryGetValue(request.Service, out var known) ? known : ServingStatus.ServiceUnknown;
            if (status != sent)
            {
                sent = status;
                yield return new HealthCheckResponse { Status = status };
            }

            if (snapshot.Ended)
            {
                throw MeshStatus.Error(StatusCode.Unavailable, "This host has stopped; watch the health of another instance.");
            }

            // Ends with the call (the caller cancels, or its deadline passes).
            await snapshot.Changed.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        MeshTelemetry.StopReportingHealth(this);
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_polling is not null)
        {
            await _polling.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.PollInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Publish(await EvaluateAsync(cancellationToken).ConfigureAwait(false));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    /// <summary>One health round: every probe once, the host's and each service's at the same time.</summary>
    private async Task<Snapshot> EvaluateAsync(CancellationToken cancellationToken)
    {
        var host = Task.WhenAll(_hostProbes.Select(p => FailureOfAsync(p.Name, p.IsHealthyAsync, cancellationToken)));
        var services = _targets.Select(t => ServiceChecksAsync(t, cancellationToken)).ToList();
        var hostResults = await host.ConfigureAwait(false);
        var hostChecks = _hostProbes.Select((p, i) => Judge(p.Name, p.Name, hostResults[i])).ToList();
        var hostFailures = hostChecks.Where(c => !c.Healthy).Select(c => c.Failure!).ToList();
        var statuses = new Dictionary<string, ServingStatus>(StringComparer.Ordinal);
        var reported = new Dictionary<string, MeshServiceHealth>(StringComparer.Ordinal);
        var reasons = new List<string>(hostFailures);
        var overall = hostFailures.Count == 0;
        for (var i = 0; i < _targets.Count; i++)
        {
            var target = _targets[i];
            var failed = target.IsImplemented
                ? (await services[i].ConfigureAwait(false)).Select(c => (Result: Judge($"{target.ServiceFullName}/{c.Name}", c.Name, c.Failure), c.IsDependency)).Where(c => !c.Result.Healthy).ToList()
                : [(new MeshHealthCheckResult("implementation", false, "not implemented (every call answers UNIMPLEMENTED)", 0), false)];
            var own = failed.Select(c => c.Result.Failure!).ToList();
            var serving = hostFailures.Count == 0 && own.Count == 0;
            statuses[target.ServiceFullName] = serving ? ServingStatus.Serving : ServingStatus.NotServing;
            reported[target.ServiceFullName] = new MeshServiceHealth(target.ServiceFullName, target.IsImplemented, statuses[target.ServiceFullName], [.. hostFailures, .. own])
            {
                OnlyDependenciesFailing = !serving && hostFailures.Count == 0 && failed.TrueForAll(c => c.IsDependency),
            };
            if (target.IsImplemented && !serving)
            {
                overall = false;
                reasons.AddRange(own.Select(f => $"{target.ServiceFullName}: {f}"));
            }
        }

        statuses[Overall] = overall ? ServingStatus.Serving : ServingStatus.NotServing;
        var report = new MeshHealthReport(_time.GetUtcNow(), false, hostChecks, reported.ToFrozenDictionary(StringComparer.Ordinal), statuses[Overall]);
        return new Snapshot(statuses.ToFrozenDictionary(StringComparer.Ordinal), reasons, report: report);
    }

    /// <summary>Each of the service's own checks this round: its name, and why it failed (null when it passed), and whether it is one of its dependencies.</summary>
    private async Task<(string Name, string? Failure, bool IsDependency)[]> ServiceChecksAsync(MeshHealthTarget target, CancellationToken cancellationToken)
    {
        if (!target.IsImplemented)
        {
            return [];
        }

        var names = target.Dependencies.Select(p => p.Name).ToList();
        var checks = target.Dependencies.Select(p => FailureOfAsync(p.Name, p.IsHealthyAsync, cancellationToken)).ToList();
        if (target.Readiness is { } readiness)
        {
            names.Add("the service itself");
            checks.Add(FailureOfAsync("the service itself", readiness.IsReadyAsync, cancellationToken));
        }

        var failures = await Task.WhenAll(checks).ConfigureAwait(false);
        return [.. names.Zip(failures).Select((c, i) => (c.First, c.Second, i < target.Dependencies.Count))];
    }

    /// <summary>
    /// This round's result of one check, after hysteresis: a check that has passed before is still
    /// healthy until it fails <see cref="MeshHealthOptions.FailureThreshold"/> rounds in a row.
    /// </summary>
    private MeshHealthCheckResult Judge(string key, string name, string? failure)
    {
        ref var history = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_history, key, out _);
        if (failure is null)
        {
            history = new CheckHistory(EverPassed: true, Streak: 0);
            return new MeshHealthCheckResult(name, true, null, 0);
        }

        history = history with { Streak = history.Streak + 1 };
        return new MeshHealthCheckResult(name, history.EverPassed && history.Streak < _options.FailureThreshold, failure, history.Streak);
    }

    /// <summary>Null when the probe passes; otherwise why it failed, for the log.</summary>
    private async Task<string?> FailureOfAsync(string name, Func<CancellationToken, ValueTask<bool>> probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ProbeTimeout);
        try
        {
            return await probe(timeout.Token).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false) ? null : $"{name} is not ready";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return $"{name} did not answer within {_options.ProbeTimeout.TotalSeconds:0.#} s";
        }
#pragma warning disable CA1031 // A probe that throws is a failed probe, whatever it throws; the round goes on.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return $"{name} failed: {ex.Message}";
        }
    }

    private void Publish(Snapshot next)
    {
        Snapshot previous;
        lock (_gate)
        {
            // A round that started before the stop must not turn a service SERVING again.
            if (_stopping && next.Statuses.Values.Any(s => s != ServingStatus.NotServing))
            {
                return;
            }

            if (_ended && !next.Ended)
            {
                next = next.Ending();
            }

            // Every round is reported, even one that changes no status: its time and its failures are news.
            if (next.Report is { } report && (report.Stopping || !_stopping))
            {
                Volatile.Write(ref _report, report);
            }

            previous = _current;
            if (previous.Ended == next.Ended && previous.Statuses.Count == next.Statuses.Count && previous.Statuses.All(p => next.Statuses[p.Key] == p.Value))
            {
                return;
            }

            Volatile.Write(ref _current, next);
        }

        foreach (var (service, status) in next.Statuses)
        {
            if (previous.Statuses[service] != status)
            {
                LogStatusChanged(_logger, service.Length == 0 ? "the host" : service, status, next.Reasons.Count == 0 ? "all checks pass" : string.Join("; ", next.Reasons));
            }
        }

        previous.Signal();
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Health: {Service} is {Status} ({Reasons})")]
    private static partial void LogStatusChanged(ILogger logger, string service, ServingStatus status, string reasons);

    /// <summary>The statuses of one round, and the signal that a later one changed them.</summary>
    private sealed class Snapshot(FrozenDictionary<string, ServingStatus> statuses, IReadOnlyList<string> reasons, bool ended = false, MeshHealthReport? report = null)
    {
        private readonly TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public FrozenDictionary<string, ServingStatus> Statuses { get; } = statuses;

        public IReadOnlyList<string> Reasons { get; } = reasons;

        /// <summary>True once the host has stopped: watches end.</summary>
        public bool Ended { get; } = ended;

        /// <summary>The round in full; null for a snapshot that only marks the end.</summary>
        public MeshHealthReport? Report { get; } = report;

        public Task Changed => _changed.Task;

        public Snapshot Ending() => new(Statuses, Reasons, ended: true);

        public void Signal() => _changed.TrySetResult();
    }

    private readonly record struct CheckHistory(bool EverPassed, int Streak);
}
