using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Services.EventBus.Internal;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace GameSystem.Services.EventBus;

public sealed partial class EventBusService
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 100;

    /// <inheritdoc/>
    public async ValueTask<GetEventResponse> GetEventAsync(GetEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        Errors.Require(request.Sequence > 0, "sequence", "is required: a stream sequence, 1 or more.");
        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            var js = await _js.GetStreamAsync(stream.JetStreamName, cancellationToken: context.CancellationToken).ConfigureAwait(false);
            var state = js.Info.State;
            if (request.Sequence > state.LastSeq)
            {
                throw Errors.NotFound($"Stream '{stream.Name}' has no event {request.Sequence}: that sequence was never assigned (the last is {state.LastSeq}).");
            }

            try
            {
                var stored = (await js.GetAsync(new StreamMsgGetRequest { Seq = request.Sequence }, context.CancellationToken).ConfigureAwait(false)).Message;
                return new GetEventResponse
                {
                    Event = new StoredEvent
                    {
                        Stream = stream.Name,
                        Sequence = stored.Seq,
                        PublishTime = Timestamp.FromDateTimeOffset(stored.Time),
                        Event = DomainEvent.Parser.ParseFrom(stored.Data.Span),
                    },
                };
            }
            catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10037)
            {
                throw Errors.NotFound(request.Sequence < state.FirstSeq
                    ? $"Stream '{stream.Name}' has no event {request.Sequence}: it was removed by the stream's limits (the oldest stored is {state.FirstSeq})."
                    : $"Stream '{stream.Name}' has no event {request.Sequence}: it was removed (deleted from the stream; stored events run {state.FirstSeq}-{state.LastSeq}).");
            }
            catch (Google.Protobuf.InvalidProtocolBufferException)
            {
                throw new RpcException(new Status(StatusCode.DataLoss, $"Stream '{stream.Name}' holds something other than a DomainEvent at sequence {request.Sequence} (published to its subjects without event-bus)."));
            }
        }
        catch (NatsException ex) when (ex is not NatsJSApiException { Error.ErrCode: 10037 } && TranslateNatsError(ex, $"read stream '{stream.Name}'") is { } error)
        {
            throw error;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<GetStreamInfoResponse> GetStreamInfoAsync(GetStreamInfoRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        return new GetStreamInfoResponse { Stream = await DescribeAsync(stream, context.CancellationToken).ConfigureAwait(false) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListStreamsResponse> ListStreamsAsync(ListStreamsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var pageSize = PageTokens.Size(request.PageSize, DefaultPageSize, MaxPageSize);
        var after = PageTokens.Decode(request.PageToken, "ListStreams");
        BusStream? captures = null;
        if (request.CapturesType.Length > 0)
        {
            if (EventTypes.CheckType(request.CapturesType) is { } problem)
            {
                throw Errors.InvalidArgument("captures_type", $"'{request.CapturesType}' {problem}");
            }

            captures = _catalog.Route(request.CapturesType);
        }

        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        var candidates = _catalog.Streams
            .Where(s => (request.CapturesType.Length == 0 || s == captures) && (after is null || string.CompareOrdinal(s.Name, after) > 0));
        var (page, next) = PageTokens.Take(candidates, pageSize, s => s.Name);
        var response = new ListStreamsResponse { NextPageToken = next };
        foreach (var stream in page)
        {
            response.Streams.Add(await DescribeAsync(stream, context.CancellationToken).ConfigureAwait(false));
        }

        return response;
    }

    private async ValueTask<GameSystem.EventBus.V1.Stream> DescribeAsync(BusStream stream, CancellationToken cancellationToken)
    {
        try
        {
            var info = (await _js.GetStreamAsync(stream.JetStreamName, cancellationToken: cancellationToken).ConfigureAwait(false)).Info;
            var state = info.State;
            var durables = 0;
            await foreach (var consumer in _js.ListConsumersAsync(stream.JetStreamName, cancellationToken).ConfigureAwait(false))
            {
                if (!string.IsNullOrEmpty(consumer.Info.Config.DurableName))
                {
                    durables++;
                }
            }

            var result = new GameSystem.EventBus.V1.Stream
            {
                Name = stream.Name,
                MaxEvents = stream.Options.MaxEvents,
                DuplicateWindow = Duration.FromTimeSpan(info.Config.DuplicateWindow),
                FirstSequence = state.Messages == 0 ? 0 : state.FirstSeq,
                LastSequence = state.LastSeq,
                EventCount = state.Messages,
                SizeBytes = state.Bytes,
                ConsumerCount = durables,
            };
            result.TypePatterns.AddRange(stream.Options.TypePatterns);
            if (info.Config.MaxAge > TimeSpan.Zero)
            {
                result.MaxAge = Duration.FromTimeSpan(info.Config.MaxAge);
            }

            if (state.Messages > 0)
            {
                result.FirstPublishTime = ParseTime(state.FirstTs);
                result.LastPublishTime = ParseTime(state.LastTs);
            }

            return result;
        }
        catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10059)
        {
            throw Errors.FailedPrecondition($"Stream '{stream.Name}' is configured but JetStream stream {stream.JetStreamName} does not exist (deleted on the server?); restart the host to re-create it.");
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"read stream '{stream.Name}'") is { } error)
        {
            throw error;
        }
    }

    private static Timestamp? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? Timestamp.FromDateTimeOffset(time) : null;
}
