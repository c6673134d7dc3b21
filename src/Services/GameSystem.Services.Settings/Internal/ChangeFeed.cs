using System.Threading.Channels;
using GameSystem.EventBus.V1;
using GameSystem.Settings.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.Settings.Internal;

/// <summary>
/// This instance's view of every <c>settings.setting.changed</c> event, from whichever
/// instance made the change: one ephemeral event-bus subscription, shared by the watches this
/// instance serves, opened when the first watch joins and closed when the last one leaves.
/// </summary>
/// <remarks>
/// <para>
/// A watch joins before it reads anything from the store, and <see cref="JoinAsync"/> returns
/// only once the subscription is live (event-bus has sent its first message), so every change
/// committed after the watch's first read reaches it: the change's event is published after
/// the commit, hence after the subscription started.
/// </para>
/// <para>
/// When the subscription breaks (event-bus restarting, a network fault), the feed subscribes
/// again from the sequence after the last event it saw, so the watches miss nothing the
/// stream still holds; they only see the changes late.
/// </para>
/// </remarks>
internal sealed partial class ChangeFeed : IDisposable
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(5);

    private readonly EventBusServiceClient _eventBus;
    private readonly SettingsOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<Watcher> _watchers = [];
    private Run? _run;

    public ChangeFeed(EventBusServiceClient eventBus, SettingsOptions options, ILogger logger)
    {
        _eventBus = eventBus;
        _options = options;
        _logger = logger;
    }

    /// <summary>Watchers currently joined (for tests and diagnostics).</summary>
    public int WatcherCount
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>
    /// Joins the feed; the watcher receives every change published from the moment this
    /// returns. UNAVAILABLE when event-bus cannot be subscribed to within the start timeout.
    /// </summary>
    public async ValueTask<Watcher> JoinAsync(CancellationToken cancellationToken)
    {
        var watcher = new Watcher(this, _options.WatchBacklog);
        Run run;
        lock (_gate)
        {
            _watchers.Add(watcher);
            if (_run is null)
            {
                _run = new Run();
                var started = _run;
                started.Loop = Task.Run(() => SubscribeLoopAsync(started), CancellationToken.None);
            }

            run = _run;
        }

        try
        {
            await run.Live.Task.WaitAsync(_options.WatchStartTimeout, cancellationToken).ConfigureAwait(false);
            return watcher;
        }
        catch (TimeoutException)
        {
            watcher.Dispose();
            throw Errors.Unavailable($"WatchSettings needs event-bus, and its subscription to stream '{_options.EventStream}' did not start within {_options.WatchStartTimeout.TotalSeconds:0.#}s ({run.LastError ?? "no answer"}); retry when event-bus is up.");
        }
        catch
        {
            watcher.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Run? run;
        lock (_gate)
        {
            run = _run;
            _run = null;
        }

        run?.Stop.Cancel();
    }

    private void Leave(Watcher watcher)
    {
        Run? stopped = null;
        lock (_gate)
        {
            if (_watchers.Remove(watcher) && _watchers.Count == 0)
            {
                stopped = _run;
                _run = null;
            }
        }

        stopped?.Stop.Cancel();
    }

    private async Task SubscribeLoopAsync(Run run)
    {
        var cancellationToken = run.Stop.Token;
        ulong lastSeen = 0;
        var retry = FirstRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            var request = new SubscribeRequest
            {
                Stream = _options.EventStream,
                TypeFilters = { ChangeEvents.SettingChangedType },
                DeliverPolicy = lastSeen == 0 ? DeliverPolicy.New : DeliverPolicy.BySequence,
                StartSequence = lastSeen == 0 ? 0 : lastSeen + 1,
                HeartbeatInterval = Duration.FromTimeSpan(Heartbeat),
            };
            try
            {
                await foreach (var item in _eventBus.SubscribeAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    if (run.Live.TrySetResult())
                    {
                        LogSubscribed(_logger, _options.EventStream);
                    }

                    retry = FirstRetry;
                    if (item.ItemCase == SubscribeResponse.ItemOneofCase.Heartbeat)
                    {
                        // Before any event, resume from what the stream held when it was idle.
                        lastSeen = lastSeen == 0 ? item.Heartbeat.StreamLastSequence : lastSeen;
                        continue;
                    }

                    lastSeen = item.Event.Sequence;
                    if (Parse(item.Event) is { } change)
                    {
                        Dispatch(change);
                    }
                }

                run.LastError = "the subscription ended";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                run.LastError = $"{ex.StatusCode}: {ex.Status.Detail}";
                LogSubscriptionFailed(_logger, _options.EventStream, ex.StatusCode, ex.Status.Detail, retry.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(retry, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
        }
    }

    private SettingChanged? Parse(StoredEvent stored)
    {
        if (!string.Equals(stored.Event?.PayloadType, SettingChanged.Descriptor.FullName, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return SettingChanged.Parser.ParseFrom(stored.Event!.Payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            LogUnreadable(_logger, stored.Event!.EventId, stored.Sequence, ex.Message);
            return null;
        }
    }

    private void Dispatch(SettingChanged change)
    {
        Watcher[] watchers;
        lock (_gate)
        {
            watchers = [.. _watchers];
        }

        foreach (var watcher in watchers)
        {
            watcher.Offer(change);
        }
    }

    [LoggerMessage(EventId = 2400, Level = LogLevel.Debug, Message = "Watch feed subscribed to settings changes on stream {Stream}")]
    private static partial void LogSubscribed(ILogger logger, string stream);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "Watch feed lost its subscription to stream {Stream} ({Code}: {Detail}); subscribing again in {DelayMs}ms from the last event seen")]
    private static partial void LogSubscriptionFailed(ILogger logger, string stream, StatusCode code, string detail, double delayMs);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Warning, Message = "Watch feed skipped event {EventId} (#{Sequence}): its payload is not a SettingChanged ({Problem})")]
    private static partial void LogUnreadable(ILogger logger, string eventId, ulong sequence, string problem);

    /// <summary>One subscription's lifetime: from the first watch joining to the last leaving.</summary>
    private sealed class Run
    {
        public CancellationTokenSource Stop { get; } = new();

        public TaskCompletionSource Live { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task? Loop { get; set; }

        public string? LastError { get; set; }
    }

    /// <summary>One watch's queue of changes; disposing it leaves the feed.</summary>
    public sealed class Watcher : IDisposable
    {
        private readonly ChangeFeed _feed;
        private readonly Channel<SettingChanged> _changes;
        private readonly int _backlog;

        internal Watcher(ChangeFeed feed, int backlog)
        {
            _feed = feed;
            _backlog = backlog;
            _changes = Channel.CreateBounded<SettingChanged>(new BoundedChannelOptions(backlog) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        }

        /// <summary>The changes, in stream order; ends with RESOURCE_EXHAUSTED if the watch falls too far behind.</summary>
        public ChannelReader<SettingChanged> Changes => _changes.Reader;

        internal void Offer(SettingChanged change)
        {
            if (!_changes.Writer.TryWrite(change))
            {
                _changes.Writer.TryComplete(Errors.ResourceExhausted($"This watch fell {_backlog} changes behind and was ended so it cannot hold the server's memory; read faster or watch fewer keys, then watch again (with send_initial to resynchronise)."));
            }
        }

        public void Dispose()
        {
            _changes.Writer.TryComplete();
            _feed.Leave(this);
        }
    }
}
