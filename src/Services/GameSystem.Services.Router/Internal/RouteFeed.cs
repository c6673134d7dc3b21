using GameSystem.EventBus.V1;
using GameSystem.Router.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Router.Internal;

/// <summary>
/// Keeps this instance's <see cref="RouteCache"/> current with the changes made on every
/// instance: an ephemeral event-bus subscription to <c>router.route.changed</c> (each instance
/// needs every change, so not a durable consumer, which event-bus gives to one instance only).
/// </summary>
/// <remarks>
/// It starts without a gap: it reads the stream's last sequence, then the table, then
/// subscribes from the sequence after it. An event published before that sequence was read
/// belongs to a change committed before the table was read, so it is in the table; every later
/// one is delivered. After a disconnect it resumes from the sequence after the last one it
/// received. Events apply in table-revision order; one that skips a revision (removed by the
/// stream's retention, say) makes the cache read the whole table again.
/// </remarks>
internal sealed partial class RouteFeed : IAsyncDisposable
{
    private readonly RouteCache _cache;
    private readonly EventBusServiceClient _eventBus;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _firstBackoff;
    private readonly TimeSpan _maxBackoff;
    private readonly TimeSpan _heartbeat;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _live = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _disposed;

    public RouteFeed(RouteCache cache, EventBusServiceClient eventBus, ILogger logger, TimeProvider time, TimeSpan firstBackoff, TimeSpan maxBackoff, TimeSpan heartbeat)
    {
        _heartbeat = heartbeat;
        _cache = cache;
        _eventBus = eventBus;
        _logger = logger;
        _time = time;
        _firstBackoff = firstBackoff;
        _maxBackoff = maxBackoff;
    }

    /// <summary>Completes when the subscription first delivered something (an event or a heartbeat).</summary>
    public Task Live => _live.Task;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        string? stream = null;
        ulong next = 0;
        var backoff = _firstBackoff;
        var down = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (next == 0)
                {
                    stream = await StreamOfChangesAsync(cancellationToken).ConfigureAwait(false);
                    var info = await _eventBus.GetStreamInfoAsync(new GetStreamInfoRequest { Stream = stream }, cancellationToken: cancellationToken).ConfigureAwait(false);
                    await _cache.LoadAsync(cancellationToken).ConfigureAwait(false);
                    next = info.Stream.LastSequence + 1;
                }

                var request = new SubscribeRequest
                {
                    Stream = stream!,
                    TypeFilters = { ChangeEvents.RouteChangedType },
                    DeliverPolicy = DeliverPolicy.BySequence,
                    StartSequence = next,
                    HeartbeatInterval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(_heartbeat),
                };
                await foreach (var item in _eventBus.SubscribeAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    if (down)
                    {
                        down = false;
                        LogReconnected(_logger, next);
                    }

                    backoff = _firstBackoff;
                    _live.TrySetResult();
                    if (item.ItemCase != SubscribeResponse.ItemOneofCase.Event)
                    {
                        continue;
                    }

                    next = item.Event.Sequence + 1;
                    if (!_cache.Apply(Parse(item.Event)))
                    {
                        LogGap(_logger, item.Event.Sequence);
                        await _cache.LoadAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RpcException or InvalidProtocolBufferException or InvalidOperationException)
            {
                if (!down)
                {
                    down = true;
                    LogDisconnected(_logger, ex.Message);
                }
            }

            try
            {
                await Task.Delay(Jitter(backoff), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _maxBackoff.Ticks));
        }
    }

    private async ValueTask<string> StreamOfChangesAsync(CancellationToken cancellationToken)
    {
        var streams = await _eventBus.ListStreamsAsync(new ListStreamsRequest { CapturesType = ChangeEvents.RouteChangedType }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return streams.Streams.FirstOrDefault()?.Name
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"No event-bus stream captures '{ChangeEvents.RouteChangedType}'; add one (the default 'events' stream captures every type)."));
    }

    private static RouteChanged Parse(StoredEvent stored) =>
        stored.Event.PayloadType == RouteChanged.Descriptor.FullName
            ? RouteChanged.Parser.ParseFrom(stored.Event.Payload)
            : throw new InvalidOperationException($"Event {stored.Event.EventId} ({stored.Event.Type}) carries a '{stored.Event.PayloadType}' payload, not '{RouteChanged.Descriptor.FullName}'.");

    private static TimeSpan Jitter(TimeSpan backoff) => backoff * (0.5 + (System.Random.Shared.NextDouble() / 2));

    [LoggerMessage(EventId = 9110, Level = LogLevel.Warning, Message = "Route change events from event-bus are unavailable ({Reason}); this instance's routing table may fall behind until they are back")]
    private static partial void LogDisconnected(ILogger logger, string reason);

    [LoggerMessage(EventId = 9111, Level = LogLevel.Information, Message = "Route change events from event-bus are back, from sequence {Sequence}")]
    private static partial void LogReconnected(ILogger logger, ulong sequence);

    [LoggerMessage(EventId = 9112, Level = LogLevel.Warning, Message = "Route change event at sequence {Sequence} skips a table revision (an event was missed); reloaded the routing table")]
    private static partial void LogGap(ILogger logger, ulong sequence);
}
