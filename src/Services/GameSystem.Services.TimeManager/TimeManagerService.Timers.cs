using System.Text;
using System.Text.RegularExpressions;
using GameSystem.Services.TimeManager.Internal;
using GameSystem.TimeManager.V1;
using Timer = GameSystem.TimeManager.V1.Timer;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GameSystem.Services.TimeManager;

/// <summary>Timers: scheduled against a world's clock, fired by the scheduler or by a time jump.</summary>
public sealed partial class TimeManagerService
{
    private const string DefaultTimerEventType = "time.timer.fired";
    private const long MinRepeatIntervalGameSeconds = 60;
    private const int MaxTimerAttributes = 64;
    private const int MaxTimerTextLength = 256;
    private static readonly TimeSpan TimerRequestRetention = TimeSpan.FromHours(24);

    /// <inheritdoc/>
    public async ValueTask<CreateTimerResponse> CreateTimerAsync(CreateTimerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.RequestId.Length is > 0 and <= 128, "request_id is required (at most 128 characters): a client-chosen id (a UUID) that makes retries safe.");
        if (request.TimerId.Length > 0)
        {
            ValidateWorldId(request.TimerId, "timer_id");
        }

        Require(request.WhenCase != CreateTimerRequest.WhenOneofCase.None, "when is required: set fire_at_game_seconds, fire_after_game_seconds or fire_at_date.");
        Require(request.WhenCase != CreateTimerRequest.WhenOneofCase.FireAtGameSeconds || request.FireAtGameSeconds >= 0, $"fire_at_game_seconds must be 0 or more; got {request.FireAtGameSeconds}.");
        Require(request.WhenCase != CreateTimerRequest.WhenOneofCase.FireAfterGameSeconds || request.FireAfterGameSeconds > 0, $"fire_after_game_seconds must be greater than 0; got {request.FireAfterGameSeconds}.");
        Require(request.RepeatIntervalGameSeconds == 0 || request.RepeatIntervalGameSeconds >= MinRepeatIntervalGameSeconds, $"repeat_interval_game_seconds must be 0 (one-shot) or at least {MinRepeatIntervalGameSeconds}; got {request.RepeatIntervalGameSeconds}.");
        Require(request.EventType.Length == 0 || EventTypePattern().IsMatch(request.EventType), $"event_type must be a dotted lower-case name such as 'npc.schedule.wake' (at most 128 characters); got '{request.EventType}'.");
        Require(request.Subject.Length <= MaxTimerTextLength, $"subject must be at most {MaxTimerTextLength} characters; got {request.Subject.Length}.");
        Require(request.Owner.Length <= MaxTimerTextLength, $"owner must be at most {MaxTimerTextLength} characters; got {request.Owner.Length}.");
        Require(request.Attributes.Count <= MaxTimerAttributes, $"attributes may hold at most {MaxTimerAttributes} entries; got {request.Attributes.Count}.");

        var cancellationToken = context.CancellationToken;
        var (clockRecord, _) = await ReadAsync(request.WorldId, cancellationToken).ConfigureAwait(false);
        var clock = clockRecord.Clock;
        var calendar = GameCalendar.From(clock.Calendar);
        if (request.WhenCase == CreateTimerRequest.WhenOneofCase.FireAtDate)
        {
            Require(calendar.ValidateDate(request.FireAtDate, "fire_at_date"));
        }

        // The request id is claimed first, so a retry after a lost reply finds the timer id
        // chosen the first time even when the id was generated.
        var timerId = request.TimerId.Length > 0 ? request.TimerId : "tmr-" + Guid.NewGuid().ToString("N")[..16];
        var requestKey = TimerBook.RequestKey(request.WorldId, request.RequestId);
        var claim = await _store.SetAsync(requestKey, Encoding.UTF8.GetBytes(timerId), expectedVersion: 0, ttl: TimerRequestRetention, cancellationToken).ConfigureAwait(false);
        if (!claim.Succeeded && claim.Current is not null)
        {
            var claimedId = Encoding.UTF8.GetString(claim.Current.Value.Span);
            if (request.TimerId.Length > 0 && claimedId != request.TimerId)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"request_id '{request.RequestId}' already created timer '{claimedId}' in world '{request.WorldId}'; use a new request_id for timer '{request.TimerId}'."));
            }

            timerId = claimedId;
        }

        var now = _time.GetUtcNow();
        var gameNow = ClockMath.GameSecondsAt(clock, now);
        var fireAt = request.WhenCase switch
        {
            CreateTimerRequest.WhenOneofCase.FireAtGameSeconds => request.FireAtGameSeconds,
            CreateTimerRequest.WhenOneofCase.FireAfterGameSeconds => checked(gameNow + request.FireAfterGameSeconds),
            _ => calendar.ToGameSeconds(request.FireAtDate),
        };
        var timer = new Timer
        {
            WorldId = request.WorldId,
            TimerId = timerId,
            FireAtGameSeconds = fireAt,
            RepeatIntervalGameSeconds = request.RepeatIntervalGameSeconds,
            EventType = request.EventType.Length > 0 ? request.EventType : DefaultTimerEventType,
            Subject = request.Subject,
            Owner = request.Owner,
            State = TimerState.Scheduled,
            CreateTime = Timestamp.FromDateTimeOffset(now),
        };
        timer.Attributes.Add(request.Attributes);
        var record = new TimerRecord { Timer = timer, RequestId = request.RequestId };
        var key = TimerBook.TimerKey(request.WorldId, timerId);
        var result = await _store.SetAsync(key, record.ToBytes(), expectedVersion: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var existing = result.Current is null ? null : TimerRecord.Parse(result.Current.Value);
            if (existing?.RequestId != request.RequestId)
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"World '{request.WorldId}' already has a timer '{timerId}' (created by another request); choose another timer_id or leave it empty to have one generated."));
            }

            return new CreateTimerResponse { Timer = TimerView(existing.Timer, clock) };
        }

        LogTimerCreated(_logger, request.WorldId, timerId, fireAt, request.RepeatIntervalGameSeconds);

        // A fire time not after the clock's current time fires at once (on a running clock).
        if (clock.State == ClockState.Running && fireAt <= gameNow)
        {
            if (await _timers.FireAsync(request.WorldId, timerId, clock, ClockMath.GameSecondsAt(clock, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false) is { } fired)
            {
                return new CreateTimerResponse { Timer = TimerView(fired.Timer, clock) };
            }
        }

        return new CreateTimerResponse { Timer = TimerView(timer, clock) };
    }

    /// <inheritdoc/>
    public async ValueTask<GetTimerResponse> GetTimerAsync(GetTimerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        ValidateWorldId(request.TimerId, "timer_id");
        var (clock, _) = await ReadAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        var (record, _) = await ReadTimerAsync(request.WorldId, request.TimerId, context.CancellationToken).ConfigureAwait(false);
        return new GetTimerResponse { Timer = TimerView(record.Timer, clock.Clock) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListTimersResponse> ListTimersAsync(ListTimersRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        Require(request.PageSize is >= 0 and <= MaxPageSize, $"page_size must be 1-{MaxPageSize} (0 selects {DefaultPageSize}); got {request.PageSize}.");
        Require(System.Enum.IsDefined(request.State), $"state {(int)request.State} is not a TimerState.");
        var (afterFireAt, afterTimerId) = DecodeTimerPageToken(request.PageToken);
        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        var (clock, _) = await ReadAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);

        var matching = (await _timers.ListAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false))
            .Select(t => t.Timer)
            .Where(t => request.State == TimerState.Unspecified || t.State == request.State)
            .Where(t => request.Owner.Length == 0 || t.Owner == request.Owner)
            .Where(t => request.Subject.Length == 0 || t.Subject == request.Subject)
            .Where(t => t.FireAtGameSeconds > afterFireAt || (t.FireAtGameSeconds == afterFireAt && string.CompareOrdinal(t.TimerId, afterTimerId) > 0))
            .ToList();
        var response = new ListTimersResponse();
        response.Timers.AddRange(matching.Take(pageSize).Select(t => TimerView(t, clock.Clock)));
        if (matching.Count > pageSize)
        {
            var last = response.Timers[^1];
            response.NextPageToken = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{last.FireAtGameSeconds}/{last.TimerId}"));
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<CancelTimerResponse> CancelTimerAsync(CancelTimerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ValidateWorldId(request.WorldId, "world_id");
        ValidateWorldId(request.TimerId, "timer_id");
        var (clock, _) = await ReadAsync(request.WorldId, context.CancellationToken).ConfigureAwait(false);
        while (true)
        {
            var (record, version) = await ReadTimerAsync(request.WorldId, request.TimerId, context.CancellationToken).ConfigureAwait(false);
            switch (record.Timer.State)
            {
                case TimerState.Cancelled:
                    return new CancelTimerResponse { Timer = TimerView(record.Timer, clock.Clock) };
                case TimerState.Fired:
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Timer '{request.TimerId}' of world '{request.WorldId}' is a one-shot timer that already fired; there is nothing left to cancel."));
            }

            record.Timer.State = TimerState.Cancelled;
            record.Timer.CancelTime = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
            var result = await _store.SetAsync(TimerBook.TimerKey(request.WorldId, request.TimerId), record.ToBytes(), version, cancellationToken: context.CancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                LogTimerCancelled(_logger, request.WorldId, request.TimerId);
                return new CancelTimerResponse { Timer = TimerView(record.Timer, clock.Clock) };
            }
        }
    }

    private async ValueTask<(TimerRecord Record, long Version)> ReadTimerAsync(string worldId, string timerId, CancellationToken cancellationToken) =>
        await _timers.GetAsync(worldId, timerId, cancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"World '{worldId}' has no timer '{timerId}'; ListTimers shows its timers."));

    /// <summary>The timer as callers see it: with the calendar view of its fire time.</summary>
    private static Timer TimerView(Timer stored, Clock clock)
    {
        var view = stored.Clone();
        view.FireAt = GameCalendar.From(clock.Calendar).ToGameTime(stored.FireAtGameSeconds);
        return view;
    }

    private static (long FireAt, string TimerId) DecodeTimerPageToken(string token)
    {
        if (token.Length == 0)
        {
            return (long.MinValue, "");
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && long.TryParse(text.AsSpan(0, slash), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var fireAt))
            {
                return (fireAt, text[(slash + 1)..]);
            }
        }
        catch (FormatException)
        {
            // Reported below with the same message as any other foreign token.
        }

        throw new RpcException(new Status(StatusCode.InvalidArgument, "page_token is not a token returned by ListTimers; pass next_page_token unchanged or leave it empty."));
    }

    [GeneratedRegex("^(?=.{1,128}$)[a-z0-9_-]+(\\.[a-z0-9_-]+)*$")]
    private static partial Regex EventTypePattern();

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Timer {WorldId}/{TimerId} scheduled at game second {FireAt} (repeat every {Interval} game seconds)")]
    private static partial void LogTimerCreated(ILogger logger, string worldId, string timerId, long fireAt, long interval);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Timer {WorldId}/{TimerId} cancelled")]
    private static partial void LogTimerCancelled(ILogger logger, string worldId, string timerId);
}
