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
    /// <inheritdoc/>
    public async ValueTask<GetConsumerResponse> GetConsumerAsync(GetConsumerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        RequireConsumerName(request.ConsumerName);
        var leases = await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        var info = await GetConsumerInfoAsync(stream, request.ConsumerName, context.CancellationToken).ConfigureAwait(false);
        return new GetConsumerResponse { Consumer = await DescribeAsync(stream, info, leases, context.CancellationToken).ConfigureAwait(false) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListConsumersResponse> ListConsumersAsync(ListConsumersRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        var pageSize = PageTokens.Size(request.PageSize, DefaultPageSize, MaxPageSize);
        var after = PageTokens.Decode(request.PageToken, "ListConsumers");
        var leases = await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            // Ephemeral subscriptions' ordered consumers have no durable name and are not listed.
            var durables = new List<(string Name, ConsumerInfo Info)>();
            await foreach (var consumer in _js.ListConsumersAsync(stream.JetStreamName, context.CancellationToken).ConfigureAwait(false))
            {
                if (consumer.Info.Config.DurableName is { Length: > 0 } durable)
                {
                    var name = EventTypes.FromDurableName(durable);
                    if (after is null || string.CompareOrdinal(name, after) > 0)
                    {
                        durables.Add((name, consumer.Info));
                    }
                }
            }

            var (page, next) = PageTokens.Take(durables.OrderBy(d => d.Name, StringComparer.Ordinal), pageSize, d => d.Name);
            var response = new ListConsumersResponse { NextPageToken = next };
            foreach (var (_, info) in page)
            {
                response.Consumers.Add(await DescribeAsync(stream, info, leases, context.CancellationToken).ConfigureAwait(false));
            }

            return response;
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"list the consumers of stream '{stream.Name}'") is { } error)
        {
            throw error;
        }
    }

    /// <inheritdoc/>
    public async ValueTask<DeleteConsumerResponse> DeleteConsumerAsync(DeleteConsumerRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var stream = RequireStream(request.Stream);
        RequireConsumerName(request.ConsumerName);
        await ReadyAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            return new DeleteConsumerResponse { Deleted = await _js.DeleteConsumerAsync(stream.JetStreamName, EventTypes.ToDurableName(request.ConsumerName), context.CancellationToken).ConfigureAwait(false) };
        }
        catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10014)
        {
            return new DeleteConsumerResponse { Deleted = false };
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"delete consumer '{request.ConsumerName}'") is { } error)
        {
            throw error;
        }
    }

    private async ValueTask<ConsumerInfo> GetConsumerInfoAsync(BusStream stream, string consumerName, CancellationToken cancellationToken)
    {
        try
        {
            return (await _js.GetConsumerAsync(stream.JetStreamName, EventTypes.ToDurableName(consumerName), cancellationToken).ConfigureAwait(false)).Info;
        }
        catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10014)
        {
            throw Errors.NotFound($"Stream '{stream.Name}' has no durable consumer '{consumerName}'; a Subscribe with consumer_name '{consumerName}' creates it.");
        }
        catch (NatsException ex) when (TranslateNatsError(ex, $"read consumer '{consumerName}'") is { } error)
        {
            throw error;
        }
    }

    private static async ValueTask<Consumer> DescribeAsync(BusStream stream, ConsumerInfo info, ConsumerLeases leases, CancellationToken cancellationToken)
    {
        var name = EventTypes.FromDurableName(info.Config.DurableName ?? info.Name);
        var consumer = new Consumer
        {
            Stream = stream.Name,
            Name = name,
            AckFloor = info.AckFloor.StreamSeq,
            DeliveredSequence = info.Delivered.StreamSeq,
            PendingCount = (long)info.NumPending + info.NumAckPending,
            Active = await leases.IsHeldAsync(StreamCatalog.LeaseKey(stream, name), cancellationToken).ConfigureAwait(false),
            CreateTime = Timestamp.FromDateTimeOffset(info.Created),
        };
        if (ConsumerRecords.Read(info) is { } record)
        {
            consumer.TypeFilters.AddRange(record.TypeFilters);
            consumer.SubjectFilter = record.SubjectFilter;
            consumer.CreateTime = record.CreateTime ?? consumer.CreateTime;
        }

        if (info.AckFloor.LastActive > DateTimeOffset.UnixEpoch)
        {
            consumer.LastAckTime = Timestamp.FromDateTimeOffset(info.AckFloor.LastActive);
        }

        return consumer;
    }
}
