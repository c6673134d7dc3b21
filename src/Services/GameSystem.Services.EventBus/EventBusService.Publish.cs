using GameSystem.Common.V1;
using GameSystem.EventBus.V1;
using GameSystem.Services.EventBus.Internal;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace GameSystem.Services.EventBus;

public sealed partial class EventBusService
{
    private const int MaxBatchSize = 100;

    // The header block JetStream publishes carry besides the event id itself (NATS/1.0 line,
    // Nats-Msg-Id name, Nats-Expected-Last-Sequence when set); max_payload counts headers too.
    private const int HeaderAllowance = 96;

    /// <inheritdoc/>
    public async ValueTask<PublishResponse> PublishAsync(PublishRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = CheckEvent(request.Event, "event");
        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        var (sequence, duplicate) = await AppendAsync(stream, request.Event, "event", request.ExpectedLastSequence, context.CancellationToken).ConfigureAwait(false);
        return new PublishResponse { Stream = stream.Name, Sequence = sequence, Duplicate = duplicate };
    }

    /// <inheritdoc/>
    public async ValueTask<PublishBatchResponse> PublishBatchAsync(PublishBatchRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Errors.Require(request.Events.Count is > 0 and <= MaxBatchSize, "events", $"holds {request.Events.Count} events; a batch holds 1-{MaxBatchSize}.");
        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);

        // One after the other, so the stream keeps the batch's order; each event stands alone,
        // so a failure is reported on its result and the rest still go in.
        var response = new PublishBatchResponse();
        for (var i = 0; i < request.Events.Count; i++)
        {
            var domainEvent = request.Events[i];
            var result = new PublishResult { EventId = domainEvent.EventId };
            try
            {
                var field = $"events[{i}]";
                var stream = CheckEvent(domainEvent, field);
                (result.Sequence, result.Duplicate) = await AppendAsync(stream, domainEvent, field, 0, context.CancellationToken).ConfigureAwait(false);
                result.Stream = stream.Name;
            }
            catch (RpcException ex)
            {
                result.Error = ex.Status.Detail;
            }

            response.Results.Add(result);
        }

        return response;
    }

    /// <summary>Validates an event and picks its stream; INVALID_ARGUMENT or FAILED_PRECONDITION naming what is wrong.</summary>
    private BusStream CheckEvent(DomainEvent? domainEvent, string field)
    {
        // Field names are built only for an error: this runs on every publish.
        Errors.Require(domainEvent is not null, field, "is required: the DomainEvent to publish, with event_id and type.");
        var id = domainEvent!.EventId.AsSpan();
        if (id.Length == 0)
        {
            throw Errors.InvalidArgument($"{field}.event_id", "is required: a producer-chosen unique id (a UUID); the bus deduplicates on it.");
        }

        if (id.Length > EventTypes.MaxEventIdLength)
        {
            throw Errors.InvalidArgument($"{field}.event_id", $"is {id.Length} characters; at most {EventTypes.MaxEventIdLength}.");
        }

        if (id.IndexOfAnyInRange('\u0000', '\u001F') >= 0 || id.ContainsAnyInRange('\u007F', '\u009F'))
        {
            throw Errors.InvalidArgument($"{field}.event_id", "holds a control character; use printable characters (a UUID).");
        }

        if (EventTypes.CheckType(domainEvent.Type) is { } problem)
        {
            throw Errors.InvalidArgument($"{field}.type", domainEvent.Type.Length == 0 ? problem : $"'{domainEvent.Type}' {problem}");
        }

        return _catalog.Route(domainEvent.Type) ?? throw Errors.FailedPrecondition(
            $"No stream captures type '{domainEvent.Type}': the streams' type patterns are {string.Join("; ", _catalog.Streams.Select(s => $"{s.Name}: {string.Join(" ", s.Options.TypePatterns)}"))}. Add a pattern that matches it (GameSystem:EventBus:Streams).");
    }

    private async ValueTask<(ulong Sequence, bool Duplicate)> AppendAsync(BusStream stream, DomainEvent domainEvent, string field, ulong expectedLastSequence, CancellationToken cancellationToken)
    {
        domainEvent.OccurredAt ??= Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        var size = domainEvent.CalculateSize();
        if (stream.Options.MaxEventBytes > 0 && size > stream.Options.MaxEventBytes)
        {
            throw Errors.InvalidArgument(field, $"is {size} bytes encoded; stream '{stream.Name}' keeps events of at most {stream.Options.MaxEventBytes} bytes (MaxEventBytes). Move large payloads to a store and publish a reference.");
        }

        var maxPayload = _connection.ServerInfo?.MaxPayload ?? int.MaxValue;
        if (size + HeaderAllowance + domainEvent.EventId.Length > maxPayload)
        {
            throw Errors.InvalidArgument(field, $"is {size} bytes encoded; nats-server takes messages of at most {maxPayload} bytes (max_payload) with their headers, so this event may have at most {maxPayload - HeaderAllowance - domainEvent.EventId.Length}. Move large payloads to a store and publish a reference.");
        }

        var options = new NatsJSPubOpts
        {
            MsgId = domainEvent.EventId,
            ExpectedLastSequence = expectedLastSequence == 0 ? null : expectedLastSequence,
        };
        try
        {
            var ack = await _js.PublishAsync(stream.SubjectFor(domainEvent.Type), domainEvent, ProtobufSerializer<DomainEvent>.Instance, options, cancellationToken: cancellationToken).ConfigureAwait(false);
            return ack.Error switch
            {
                null => (ack.Seq, ack.Duplicate),
                { ErrCode: 10071 } error => throw Errors.FailedPrecondition($"Stream '{stream.Name}' is not at expected_last_sequence {expectedLastSequence} (JetStream: {error.Description}); read its last_sequence with GetStreamInfo and retry."),
                { ErrCode: 10054 } error => throw Errors.InvalidArgument(field, $"is {domainEvent.CalculateSize()} bytes encoded, more than stream '{stream.Name}' accepts (JetStream: {error.Description})."),
                var error => throw new RpcException(new Status(StatusCode.Internal, $"JetStream refused the event for stream '{stream.Name}': error {error.ErrCode}: {error.Description}.")),
            };
        }
        catch (NatsPayloadTooLargeException ex)
        {
            throw Errors.InvalidArgument(field, $"is {domainEvent.CalculateSize()} bytes encoded, more than nats-server accepts ({ex.Message}).");
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"store the event in stream '{stream.Name}'") is { } error)
        {
            throw error;
        }
    }
}
