using System.Collections.Concurrent;
using System.Threading.Channels;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Events.Internal;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Events;

/// <summary>
/// Delivers one service's outbox (<see cref="EventOutbox"/>) to event-bus: every event at
/// least once, in order per partition, deduplicated there by its event id, which is fixed in
/// the stored bytes. The host runs one for every service that takes an outbox.
/// </summary>
/// <remarks>
/// <para>
/// A pass lists the partitions that may hold events (on a sweep, every
/// <see cref="EventRelayOptions.SweepInterval"/>) or takes those this process just wrote to
/// (woken by <see cref="EventOutbox"/> the moment a transaction applied), claims each one's
/// outbox with a lease, so that relays of other instances never deliver a partition at the same
/// time, publishes its events oldest first and completes what event-bus accepted. Partitions
/// that stay empty are retired from the listing.
/// </para>
/// <para>
/// Events go out one <c>Publish</c> at a time per partition, never <c>PublishBatch</c>:
/// a batch is not atomic and event-bus goes on with the rest of it after an event fails, so a
/// later event of the partition would be stored before an earlier one that is retried later.
/// Throughput comes from delivering up to <see cref="EventRelayOptions.MaxConcurrentPartitions"/>
/// partitions at once.
/// </para>
/// <para>
/// Nothing is dropped. While event-bus (or the store) cannot be reached every partition waits,
/// with jittered exponential backoff and one warning when it starts and one line when it ends.
/// An event event-bus refuses (no stream captures its type, invalid …) stays first in its
/// partition's outbox: it is logged by event id, retried with backoff, and holds back the later
/// events of that partition only, until an operator fixes the cause.
/// </para>
/// </remarks>
public sealed partial class EventRelay : IHostedService, IAsyncDisposable
{
    private readonly EventOutbox _outbox;
    private readonly IStateOutboxStore _store;
    private readonly EventBusServiceClient _eventBus;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly EventRelayOptions _options;
    private readonly TimeSpan _publishBudget;
    private readonly ConcurrentDictionary<string, byte> _hot = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PartitionState> _partitions = new(StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _health = new();
    private readonly KeyValuePair<string, object?> _outboxTag;
    private Backoff _backoff;
    // UTC ticks; read by every pass worker without the lock, so one word, never torn.
    private long _pausedUntil;
    private Outage? _busOutage;
    private Outage? _storeOutage;
    private bool _backlogged;
    private volatile bool _stopping;
    private Task? _loop;
    private int _disposed;

    /// <summary>Creates the relay of <paramref name="outbox"/>; it delivers once started.</summary>
    /// <param name="outbox">The service's outbox (its name is the outbox the store keeps).</param>
    /// <param name="store">The store the service's transactions enqueue to.</param>
    /// <param name="eventBus">The event-bus client.</param>
    /// <param name="logger">Where outages, refused events and backlogs are reported.</param>
    /// <param name="timeProvider">The clock for waits and ages; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="options">How to deliver; <see cref="EventRelayOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public EventRelay(EventOutbox outbox, IStateOutboxStore store, EventBusServiceClient eventBus, ILogger<EventRelay>? logger = null, TimeProvider? timeProvider = null, EventRelayOptions? options = null)
    {
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _eventBus = eventBus ?? throw new ArgumentNullException(nameof(eventBus));
        _logger = logger ?? NullLogger<EventRelay>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _options = options ?? EventRelayOptions.Default;
        _options.Validate();
        _backoff = new Backoff(_options.FirstBackoff, _options.MaxBackoff);

        // A claim is left alone well before its lease can pass, even if the last publish takes its whole deadline.
        _publishBudget = (_options.Lease * 0.9) - _options.PublishTimeout;
        _outboxTag = new(EventsTelemetry.OutboxTag, outbox.Name);
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..12]}";
    }

    /// <summary>The outbox delivered (the service's name).</summary>
    public string Outbox => _outbox.Name;

    /// <summary>Who this relay claims partitions as: unique per relay, so two relays never share a lease.</summary>
    public string Owner { get; }

    internal KeyValuePair<string, object?> OutboxTagPair => _outboxTag;

    /// <summary>What this relay last saw of the whole outbox: undelivered events and the age of the oldest.</summary>
    internal BacklogSnapshot Backlog
    {
        get
        {
            long pending = 0;
            var oldest = long.MaxValue;
            foreach (var state in _partitions.Values)
            {
                var count = Interlocked.Read(ref state.Pending);
                if (count > 0)
                {
                    pending += count;
                    var since = Interlocked.Read(ref state.OldestTicks);
                    if (since != 0 && since < oldest)
                    {
                        oldest = since;
                    }
                }
            }

            var age = oldest == long.MaxValue ? TimeSpan.Zero : _time.GetUtcNow() - new DateTimeOffset(oldest, TimeSpan.Zero);
            return new BacklogSnapshot(pending, age < TimeSpan.Zero ? TimeSpan.Zero : age);
        }
    }

    private bool IsPaused => _time.GetUtcNow().UtcTicks < Volatile.Read(ref _pausedUntil);

    private PartitionState StateOf(string partition) =>
        _partitions.GetOrAdd(partition, static (_, options) => new PartitionState(options), _options);

    /// <summary>Starts delivering: a first sweep at once, then on every write of this process and every sweep interval.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"The relay of outbox '{Outbox}' has already been started.");
        }

        _outbox.PartitionEnqueued += OnPartitionEnqueued;
        EventsTelemetry.Register(this);
        LogStarted(_logger, Outbox, Owner, _options.SweepInterval.TotalSeconds);
        _loop = Task.Run(() => RunAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops gracefully: delivers what this process wrote since the last pass (and what it writes
    /// meanwhile), for at most <see cref="EventRelayOptions.StopTimeout"/> (or until
    /// <paramref name="cancellationToken"/>) and only while event-bus and the store answer, then
    /// stops. Whatever is left stays in the store for the next relay, and a warning says so.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            return;
        }

        _stopping = true;
        _wake.Writer.TryWrite(true);
        bool cut;
        using (var budget = new CancellationTokenSource(_options.StopTimeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token))
        using (linked.Token.Register(_abort.Cancel))
        {
            await _loop.ConfigureAwait(false);
            cut = linked.IsCancellationRequested;
        }

        // Left behind: what the stop was cut off from, what is still hot (written by this process,
        // not delivered) and, while event-bus or the store is failing, whatever the relay saw pending.
        var pending = Backlog.Pending;
        var failing = _busOutage is not null || _storeOutage is not null;
        if (cut || !_hot.IsEmpty || (failing && pending > 0))
        {
            LogStoppedUndelivered(_logger, Outbox, pending, cut ? "the time to stop ran out" : "event-bus or the state store could not take them");
        }

        Detach();
    }

    /// <summary>Stops at once, as a crash would: nothing is completed, leases run out by themselves.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _abort.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        Detach();
        _abort.Dispose();
    }

    private void Detach()
    {
        _outbox.PartitionEnqueued -= OnPartitionEnqueued;
        EventsTelemetry.Unregister(this);
    }

    // Runs on the service's path right after its transaction applied: only bookkeeping.
    private void OnPartitionEnqueued(string partition)
    {
        var state = StateOf(partition);
        Interlocked.Increment(ref state.Pending);
        Interlocked.CompareExchange(ref state.OldestTicks, _time.GetUtcNow().UtcTicks, 0);
        _hot.TryAdd(partition, 0);
        _wake.Writer.TryWrite(true);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var nextSweep = _time.GetUtcNow();
        while (true)
        {
            var stopping = _stopping;
            HashSet<string>? partitions = null;
            try
            {
                var now = _time.GetUtcNow();
                if (!stopping && IsPaused)
                {
                    // Writes still wake the loop (it waits again), so a stop is not held up by the backoff.
                    await WaitAsync(TimeSpan.FromTicks(Volatile.Read(ref _pausedUntil) - now.UtcTicks), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                partitions = TakeWork(now);
                var sweep = !stopping && now >= nextSweep;
                if (sweep)
                {
                    nextSweep = now + _options.SweepInterval;
                    var listed = new HashSet<string>(StringComparer.Ordinal);
                    await foreach (var partition in _store.ListOutboxPartitionsAsync(Outbox, cancellationToken).ConfigureAwait(false))
                    {
                        listed.Add(partition);
                    }

                    StoreSucceeded();
                    Forget(listed, partitions);
                    partitions.UnionWith(listed);
                }

                if (partitions.Count > 0)
                {
                    await DeliverAsync(partitions, sweep, cancellationToken).ConfigureAwait(false);
                }

                ReportBacklog();
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (StateStoreUnavailableException ex)
            {
                StoreFailed(ex);
                Requeue(partitions);
            }
#pragma warning disable CA1031 // The relay must outlive any one bad pass: it is the only way the events get out.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogPassFailed(_logger, ex, Outbox);
                Pause();
                Requeue(partitions);
            }

            // A stop delivers until what this process wrote is out, or a failure pauses the relay.
            if (stopping && (_hot.IsEmpty || IsPaused))
            {
                return;
            }

            try
            {
                await WaitAsync(NextWait(nextSweep), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>The partitions written to since the last pass, and those whose refused event is due for another try.</summary>
    private HashSet<string> TakeWork(DateTimeOffset now)
    {
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var partition in _hot.Keys)
        {
            _hot.TryRemove(partition, out _);
            partitions.Add(partition);
        }

        foreach (var (partition, state) in _partitions)
        {
            if (state.RefusedEventId is not null && state.RetryAt <= now)
            {
                partitions.Add(partition);
            }
        }

        return partitions;
    }

    private TimeSpan NextWait(DateTimeOffset nextSweep)
    {
        if (!_hot.IsEmpty)
        {
            return TimeSpan.Zero;
        }

        var until = nextSweep;
        foreach (var state in _partitions.Values)
        {
            if (state.RefusedEventId is not null && state.RetryAt < until)
            {
                until = state.RetryAt;
            }
        }

        return until - _time.GetUtcNow();
    }

    /// <summary>
    /// What the relay knew of partitions the store no longer lists (another relay delivered and
    /// retired them) is stale: dropped, unless this process wrote to one since.
    /// </summary>
    private void Forget(HashSet<string> listed, HashSet<string> written)
    {
        foreach (var partition in _partitions.Keys)
        {
            if (!listed.Contains(partition) && !written.Contains(partition) && !_hot.ContainsKey(partition))
            {
                _partitions.TryRemove(partition, out _);
            }
        }
    }

    /// <summary>Waits <paramref name="delay"/>, or less when this process writes to the outbox or the relay is stopped.</summary>
    private async ValueTask WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new CancellationTokenSource(delay, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await _wake.Reader.WaitToReadAsync(either.Token).ConfigureAwait(false);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The delay passed without a write.
        }
    }

    private async ValueTask DeliverAsync(HashSet<string> partitions, bool sweep, CancellationToken cancellationToken)
    {
        IEnumerable<string> rest = partitions;
        if (_busOutage is not null || _storeOutage is not null)
        {
            // One partition probes whether the outage is over before all of them try.
            var probe = partitions.First();
            await DrainAsync(probe, sweep, cancellationToken).ConfigureAwait(false);
            if (IsPaused)
            {
                Requeue(partitions);
                return;
            }

            rest = partitions.Skip(1);
        }

        await Parallel.ForEachAsync(
            rest,
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentPartitions, CancellationToken = cancellationToken },
            (partition, token) => DrainAsync(partition, sweep, token)).ConfigureAwait(false);
    }

    /// <summary>Delivers one partition's outbox, claim after claim, until it is empty, fails, or had its share of the pass.</summary>
    private async ValueTask DrainAsync(string partition, bool sweep, CancellationToken cancellationToken)
    {
        var state = StateOf(partition);
        for (var claims = 0; ; claims++)
        {
            if (claims == _options.MaxClaimsPerPass || IsPaused)
            {
                _hot.TryAdd(partition, 0);
                return;
            }

            if (state.RefusedEventId is not null && state.RetryAt > _time.GetUtcNow())
            {
                return;
            }

            var started = _time.GetTimestamp();
            StateOutboxClaim claim;
            try
            {
                claim = await _store.ClaimOutboxAsync(Outbox, partition, Owner, _options.Lease, _options.ClaimSize, cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreUnavailableException ex) when (!cancellationToken.IsCancellationRequested)
            {
                StoreFailed(ex);
                _hot.TryAdd(partition, 0);
                return;
            }

            StoreSucceeded();
            state.Observe(claim.Pending, claim.OldestEnqueuedAt);
            if (!claim.Claimed)
            {
                // Another relay delivers it now; a sweep looks again.
                return;
            }

            if (claim.Messages.Count == 0)
            {
                if (sweep && claims == 0)
                {
                    await RetireAsync(partition, claim, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            var (through, failed, firstLeft) = await PublishAsync(partition, state, claim.Messages, started, cancellationToken).ConfigureAwait(false);
            long remaining;
            try
            {
                // Through 0 removes nothing and only gives the lease back.
                remaining = await _store.CompleteOutboxAsync(Outbox, partition, Owner, through, cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreUnavailableException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Published but not completed: redelivered later under the same event ids, which event-bus drops.
                StoreFailed(ex);
                _hot.TryAdd(partition, 0);
                return;
            }

            state.Observe(remaining, remaining == 0 ? null : firstLeft);
            if (failed || remaining == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Publishes <paramref name="messages"/> in order, each only after the one before it was
    /// accepted. Returns the last sequence accepted (0 for none), whether it stopped on a
    /// failure, and when the first message left undelivered was enqueued.
    /// </summary>
    private async ValueTask<(long Through, bool Failed, DateTimeOffset? FirstLeft)> PublishAsync(
        string partition, PartitionState state, IReadOnlyList<StateOutboxMessage> messages, long started, CancellationToken cancellationToken)
    {
        long through = 0;
        foreach (var message in messages)
        {
            if (IsPaused)
            {
                return (through, true, message.EnqueuedAt);
            }

            if (_time.GetElapsedTime(started) > _publishBudget)
            {
                return (through, false, message.EnqueuedAt);
            }

            DomainEvent domainEvent;
            try
            {
                domainEvent = DomainEvent.Parser.ParseFrom(message.Payload.Span);
            }
            catch (InvalidProtocolBufferException ex)
            {
                Refused(state, partition, message, $"#{message.Sequence}", string.Empty, StatusCode.DataLoss, $"the stored bytes are not a DomainEvent: {ex.Message}");
                return (through, true, message.EnqueuedAt);
            }

            try
            {
                await _eventBus.PublishAsync(new PublishRequest { Event = domainEvent }, deadline: DateTime.UtcNow + _options.PublishTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                EventsTelemetry.PublishFailures.Add(1, _outboxTag, new(EventsTelemetry.StatusTag, ex.StatusCode.ToString()));
                if (IsEventBusFailure(ex.StatusCode))
                {
                    EventBusFailed(ex);
                }
                else
                {
                    Refused(state, partition, message, domainEvent.EventId, domainEvent.Type, ex.StatusCode, ex.Status.Detail);
                }

                return (through, true, message.EnqueuedAt);
            }

            through = message.Sequence;
            EventsTelemetry.Delivered.Add(1, _outboxTag);
            EventBusSucceeded();
            if (state.RefusedEventId is { } refused)
            {
                LogEventAccepted(_logger, refused, Outbox, partition, state.Backoff.Failures);
                state.Accepted();
            }
        }

        return (through, false, null);
    }

    private async ValueTask RetireAsync(string partition, StateOutboxClaim claim, CancellationToken cancellationToken)
    {
        // Saves a round trip for a partition surely written to recently; the store decides otherwise.
        if (claim.LastEnqueuedAt is { } last && _time.GetUtcNow() - last < _options.RetireAfter)
        {
            return;
        }

        try
        {
            if (await _store.RetireOutboxPartitionAsync(Outbox, partition, _options.RetireAfter, cancellationToken).ConfigureAwait(false))
            {
                _partitions.TryRemove(partition, out _);
                LogRetired(_logger, Outbox, partition);
            }
        }
        catch (StateStoreUnavailableException ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(ex);
        }
    }

    /// <summary>
    /// Failures that say event-bus cannot take events now, whatever the event: every partition
    /// waits. Any other status refuses that one event, which then holds back only its partition.
    /// </summary>
    private static bool IsEventBusFailure(StatusCode code) => code is StatusCode.Unavailable or StatusCode.Unimplemented or StatusCode.DeadlineExceeded
        or StatusCode.ResourceExhausted or StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.Cancelled or StatusCode.Aborted;

    private void Refused(PartitionState state, string partition, StateOutboxMessage message, string eventId, string type, StatusCode code, string detail)
    {
        var first = state.RefusedEventId != eventId;
        var delay = state.Refuse(eventId, _time.GetUtcNow());
        if (first)
        {
            LogEventRefused(_logger, eventId, type, Outbox, partition, message.Sequence, code, detail, delay.TotalSeconds);
        }
    }

    private void EventBusFailed(RpcException ex)
    {
        if (Fail(ref _busOutage))
        {
            LogEventBusUnreachable(_logger, Outbox, ex.StatusCode, ex.Status.Detail, _options.MaxBackoff.TotalSeconds);
        }
    }

    private void EventBusSucceeded()
    {
        if (Recover(ref _busOutage) is { } outage)
        {
            var seconds = (_time.GetUtcNow() - outage.Since).TotalSeconds;
            LogEventBusRecovered(_logger, Outbox, seconds, outage.Attempts);
        }
    }

    private void StoreFailed(StateStoreUnavailableException ex)
    {
        if (Fail(ref _storeOutage))
        {
            LogStoreUnreachable(_logger, Outbox, ex.Status.Detail, _options.MaxBackoff.TotalSeconds);
        }
    }

    private void StoreSucceeded()
    {
        if (Recover(ref _storeOutage) is { } outage)
        {
            var seconds = (_time.GetUtcNow() - outage.Since).TotalSeconds;
            LogStoreRecovered(_logger, Outbox, seconds, outage.Attempts);
        }
    }

    /// <summary>Counts a failure of what <paramref name="outage"/> tracks and pauses; true when it starts an outage (to be reported once).</summary>
    private bool Fail(ref Outage? outage)
    {
        lock (_health)
        {
            var starts = outage is null;
            outage ??= new Outage(_time.GetUtcNow());
            outage.Attempts++;
            PauseLocked();
            return starts;
        }
    }

    /// <summary>Ends the outage <paramref name="outage"/> tracks, if any, and returns it (to be reported once).</summary>
    private Outage? Recover(ref Outage? outage)
    {
        if (outage is null)
        {
            return null;
        }

        lock (_health)
        {
            var ended = outage;
            outage = null;
            ResumeLocked();
            return ended;
        }
    }

    private void Pause()
    {
        lock (_health)
        {
            PauseLocked();
        }
    }

    // Several partitions failing at the same moment are one failure: the backoff grows once.
    private void PauseLocked()
    {
        var now = _time.GetUtcNow();
        if (now.UtcTicks >= _pausedUntil)
        {
            Volatile.Write(ref _pausedUntil, (now + _backoff.Next()).UtcTicks);
        }
    }

    private void ResumeLocked()
    {
        if (_busOutage is null && _storeOutage is null)
        {
            _backoff.Reset();
            Volatile.Write(ref _pausedUntil, 0);
        }
    }

    private void Requeue(HashSet<string>? partitions)
    {
        foreach (var partition in partitions ?? [])
        {
            _hot.TryAdd(partition, 0);
        }
    }

    private void ReportBacklog()
    {
        var backlog = Backlog;
        var over = backlog.Pending > _options.BacklogSizeWarning || backlog.OldestAge > _options.BacklogAgeWarning;
        if (over && !_backlogged)
        {
            _backlogged = true;
            LogBacklogged(_logger, Outbox, backlog.Pending, backlog.OldestAge.TotalSeconds);
        }
        else if (!over && _backlogged)
        {
            _backlogged = false;
            LogBacklogCleared(_logger, Outbox, backlog.Pending, backlog.OldestAge.TotalSeconds);
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Relaying outbox {Outbox} to event-bus as {Owner} (a sweep every {SweepSeconds}s, writes of this process at once)")]
    private static partial void LogStarted(ILogger logger, string outbox, string owner, double sweepSeconds);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "event-bus cannot take the events of outbox {Outbox} ({Code}: {Detail}); they stay in the state store and the relay retries with backoff (at most {MaxBackoffSeconds}s apart)")]
    private static partial void LogEventBusUnreachable(ILogger logger, string outbox, StatusCode code, string detail, double maxBackoffSeconds);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "event-bus takes the events of outbox {Outbox} again, after {Seconds}s and {Attempts} failed attempts")]
    private static partial void LogEventBusRecovered(ILogger logger, string outbox, double seconds, long attempts);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "The state store cannot be read for outbox {Outbox} ({Detail}); the relay retries with backoff (at most {MaxBackoffSeconds}s apart)")]
    private static partial void LogStoreUnreachable(ILogger logger, string outbox, string detail, double maxBackoffSeconds);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "The state store answers the relay of outbox {Outbox} again, after {Seconds}s and {Attempts} failed attempts")]
    private static partial void LogStoreRecovered(ILogger logger, string outbox, double seconds, long attempts);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "event-bus refused event {EventId} (type '{Type}', outbox {Outbox}, partition {Partition}, outbox sequence {Sequence}): {Code}: {Detail}. The event stays in the outbox and the later events of partition {Partition} wait behind it; retrying in {RetrySeconds}s and then with backoff. Fix the cause (see the README, 'An event event-bus refuses')")]
    private static partial void LogEventRefused(ILogger logger, string eventId, string type, string outbox, string partition, long sequence, StatusCode code, string detail, double retrySeconds);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "event-bus accepted event {EventId} of outbox {Outbox} after {Attempts} refused attempts; partition {Partition} is delivered again")]
    private static partial void LogEventAccepted(ILogger logger, string eventId, string outbox, string partition, int attempts);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Outbox {Outbox} is backlogged: {Pending} events not yet delivered, the oldest {AgeSeconds}s old")]
    private static partial void LogBacklogged(ILogger logger, string outbox, long pending, double ageSeconds);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Outbox {Outbox} has caught up: {Pending} events not yet delivered, the oldest {AgeSeconds}s old")]
    private static partial void LogBacklogCleared(ILogger logger, string outbox, long pending, double ageSeconds);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Debug, Message = "Outbox {Outbox}: partition {Partition} stayed empty and is no longer listed")]
    private static partial void LogRetired(ILogger logger, string outbox, string partition);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "A pass of the relay of outbox {Outbox} failed unexpectedly; retrying with backoff")]
    private static partial void LogPassFailed(ILogger logger, Exception exception, string outbox);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "The relay of outbox {Outbox} stopped before delivering everything ({Reason}): about {Pending} events stay in the state store, and the next relay to run delivers them")]
    private static partial void LogStoppedUndelivered(ILogger logger, string outbox, long pending, string reason);

    /// <summary>What a relay last saw of its outbox.</summary>
    internal readonly record struct BacklogSnapshot(long Pending, TimeSpan OldestAge);

    private sealed class Outage(DateTimeOffset since)
    {
        public DateTimeOffset Since { get; } = since;

        public long Attempts { get; set; }
    }

    /// <summary>What the relay knows of one partition; touched by one pass worker at a time, and by writes of this process.</summary>
    private sealed class PartitionState(EventRelayOptions options)
    {
        public long Pending;
        public long OldestTicks;
        public Backoff Backoff = new(options.FirstBackoff, options.MaxBackoff);

        public string? RefusedEventId { get; private set; }

        public DateTimeOffset RetryAt { get; private set; }

        public void Observe(long pending, DateTimeOffset? oldest)
        {
            Interlocked.Exchange(ref Pending, pending);
            Interlocked.Exchange(ref OldestTicks, pending == 0 || oldest is null ? 0 : oldest.Value.UtcTicks);
        }

        public TimeSpan Refuse(string eventId, DateTimeOffset now)
        {
            if (RefusedEventId != eventId)
            {
                RefusedEventId = eventId;
                Backoff.Reset();
            }

            var delay = Backoff.Next();
            RetryAt = now + delay;
            return delay;
        }

        public void Accepted()
        {
            RefusedEventId = null;
            RetryAt = default;
        }
    }
}
