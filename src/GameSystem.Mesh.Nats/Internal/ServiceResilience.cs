using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Hedging;
using Polly.Retry;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// The Polly pipelines of one target service, built once per client and service: one circuit
/// breaker, shared by a pipeline for methods that must not be repeated (the breaker alone), one
/// that retries retry-safe methods in front of it, and, when hedging is on, one that hedges
/// <c>NO_SIDE_EFFECTS</c> methods in front of it.
/// </summary>
internal sealed class ServiceResilience
{
    /// <summary>Attempts made before the current one: what <c>grpc-previous-rpc-attempts</c> carries.</summary>
    public static readonly ResiliencePropertyKey<int> PreviousAttempts = new("gamesystem.mesh.previous-attempts");

    /// <summary>The call's deadline (a <see cref="Stopwatch"/> timestamp), set by an attempt that failed.</summary>
    public static readonly ResiliencePropertyKey<long> Deadline = new("gamesystem.mesh.deadline");

    // The delay the retry predicate chose, so the delay generator uses the same draw.
    private static readonly ResiliencePropertyKey<TimeSpan> NextDelay = new("gamesystem.mesh.retry-delay");

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MeshRetryOptions _retry;
    private readonly bool[] _retryable = new bool[17];
    private readonly KeyValuePair<string, object?> _serviceTag;
    private readonly CircuitBreakerStateProvider? _breaker;
    private long _openUntil;

    public ServiceResilience(string serviceFullName, MeshResilienceOptions options, TimeProvider time, ILogger logger)
    {
        ServiceFullName = serviceFullName;
        _time = time;
        _logger = logger;
        _retry = options.Retry;
        _serviceTag = new("rpc.service", serviceFullName);
        foreach (var code in _retry.RetryableStatusCodes)
        {
            if ((int)code is > 0 and < 17)
            {
                _retryable[(int)code] = true;
            }
        }

        var breaker = ResiliencePipeline.Empty;
        if (options.CircuitBreaker is { Enabled: true } breakerOptions)
        {
            _breaker = new CircuitBreakerStateProvider();
            breaker = new ResiliencePipelineBuilder { Name = serviceFullName, TimeProvider = time }
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions
                {
                    FailureRatio = breakerOptions.FailureRatio,
                    MinimumThroughput = breakerOptions.MinimumThroughput,
                    SamplingDuration = breakerOptions.SamplingDuration,
                    BreakDuration = breakerOptions.BreakDuration,
                    StateProvider = _breaker,
                    ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal }),
                    OnOpened = OnOpened,
                    OnHalfOpened = _ =>
                    {
                        Log.CircuitHalfOpened(_logger, ServiceFullName);
                        return default;
                    },
                    OnClosed = _ =>
                    {
                        Volatile.Write(ref _openUntil, 0);
                        Log.CircuitClosed(_logger, ServiceFullName);
                        return default;
                    },
                })
                .Build();
        }

        Plain = breaker;
        Retrying = _retry.MaxRetryAttempts == 0 ? breaker : new ResiliencePipelineBuilder { Name = serviceFullName, TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _retry.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Constant,
                Delay = TimeSpan.Zero,
                ShouldHandle = ShouldRetry,
                DelayGenerator = static args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(NextDelay, TimeSpan.Zero)),
                OnRetry = OnRetry,
            })
            .AddPipeline(breaker)
            .Build();

        if (options.Hedging is { Enabled: true } hedging)
        {
            Hedging = new ResiliencePipelineBuilder<object> { Name = serviceFullName, TimeProvider = time }
                .AddHedging(new HedgingStrategyOptions<object>
                {
                    MaxHedgedAttempts = hedging.MaxHedgedAttempts,
                    Delay = hedging.Delay,
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is RpcException error && IsRetryable(error) && PushbackOf(error) is not < 0),
                    ActionGenerator = static args =>
                    {
                        args.ActionContext.Properties.Set(PreviousAttempts, args.AttemptNumber);
                        return () => args.Callback(args.ActionContext);
                    },
                })
                .AddPipeline(breaker)
                .Build();
        }
    }

    public string ServiceFullName { get; }

    /// <summary>For methods that must not be repeated: the breaker alone (or nothing).</summary>
    public ResiliencePipeline Plain { get; }

    /// <summary>For retry-safe methods: retries, each attempt through the breaker.</summary>
    public ResiliencePipeline Retrying { get; }

    /// <summary>For <c>NO_SIDE_EFFECTS</c> methods when hedging is on; else null.</summary>
    public ResiliencePipeline<object>? Hedging { get; }

    /// <summary>
    /// The breaker's state. An open circuit whose break has ended is reported half-open: Polly moves
    /// it there at the next call, and a service nobody calls must not look broken forever.
    /// </summary>
    public MeshCircuitState State => _breaker?.CircuitState switch
    {
        null or CircuitState.Closed => MeshCircuitState.Closed,
        CircuitState.HalfOpen => MeshCircuitState.HalfOpen,
        _ => _time.GetUtcNow().UtcTicks < Volatile.Read(ref _openUntil) ? MeshCircuitState.Open : MeshCircuitState.HalfOpen,
    };

    /// <summary>
    /// The server's <c>grpc-retry-pushback-ms</c>: null when it sent none, the delay in
    /// milliseconds, or -1 when it said not to retry (a negative or malformed value, gRFC A6).
    /// </summary>
    public static int? PushbackOf(RpcException error)
    {
        var value = error.Trailers.GetValue(WireHeaders.RetryPushback);
        if (value is null)
        {
            return null;
        }

        return WireHeaders.TryParseDecimal(value.AsSpan(), out var milliseconds) ? milliseconds : -1;
    }

    private bool IsRetryable(RpcException error) => (int)error.StatusCode is > 0 and < 17 && _retryable[(int)error.StatusCode];

    private ValueTask<bool> ShouldRetry(RetryPredicateArguments<object> args)
    {
        // A circuit-open rejection is not an RpcException: failing fast is its point.
        if (args.Outcome.Exception is not RpcException error || !IsRetryable(error) || args.Context.CancellationToken.IsCancellationRequested
            || !args.Context.Properties.TryGetValue(Deadline, out var deadline))
        {
            return ValueTask.FromResult(false);
        }

        TimeSpan delay;
        switch (PushbackOf(error))
        {
            case < 0:
                return ValueTask.FromResult(false);
            case { } pushback:
                delay = TimeSpan.FromMilliseconds(pushback);
                break;
            default:
                var bound = Math.Min(_retry.InitialBackoff.TotalMilliseconds * Math.Pow(_retry.BackoffMultiplier, args.AttemptNumber), _retry.MaxBackoff.TotalMilliseconds);
                delay = TimeSpan.FromMilliseconds(bound * Random.Shared.NextDouble());
                break;
        }

        // A retry that could not finish before the deadline only turns the error the caller
        // gets into DEADLINE_EXCEEDED, later.
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
        if (delay >= left)
        {
            return ValueTask.FromResult(false);
        }

        args.Context.Properties.Set(NextDelay, delay);
        return ValueTask.FromResult(true);
    }

    private ValueTask OnRetry(OnRetryArguments<object> args)
    {
        args.Context.Properties.Set(PreviousAttempts, args.AttemptNumber + 1);
        if (MeshTelemetry.ClientRetries.Enabled)
        {
            MeshTelemetry.ClientRetries.Add(1, _serviceTag, new KeyValuePair<string, object?>("rpc.method", args.Context.OperationKey));
        }

        return default;
    }

    private ValueTask OnOpened(OnCircuitOpenedArguments<object> args)
    {
        Volatile.Write(ref _openUntil, (_time.GetUtcNow() + args.BreakDuration).UtcTicks);
        var failure = args.Outcome.Exception is RpcException error
            ? string.Create(CultureInfo.InvariantCulture, $"{error.StatusCode}: {error.Status.Detail}")
            : args.Outcome.Exception?.Message ?? "none";
        Log.CircuitOpened(_logger, ServiceFullName, args.BreakDuration.TotalSeconds, failure);
        return default;
    }
}
