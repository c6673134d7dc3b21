using System.Threading.Channels;
using GameSystem.Common.V1;
using NATS.Client.JetStream;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// The JetStream messages one Subscribe delivers, pumped from a JetStream consumer into a
/// channel the rpc reads, so the rpc can send heartbeats while the consumer is idle and the
/// mesh runtime's flow control (it blocks the rpc when the client has no credit) holds the
/// pump back no further than the consumer's own limits.
/// </summary>
internal abstract class EventSource : IAsyncDisposable
{
    private readonly Channel<INatsJSMsg<DomainEvent>> _channel =
        Channel.CreateUnbounded<INatsJSMsg<DomainEvent>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    protected EventSource(BusStream stream, EventFilter filter)
    {
        Stream = stream;
        Filter = filter;
    }

    public BusStream Stream { get; }

    protected EventFilter Filter { get; }

    protected CancellationTokenSource Stopping { get; } = new();

    /// <summary>Events to deliver, in stream order; completes with the error that ended the consumer.</summary>
    public ChannelReader<INatsJSMsg<DomainEvent>> Events => _channel.Reader;

    /// <summary>Called as an event goes out to the subscriber.</summary>
    public virtual void Delivered(ulong sequence)
    {
    }

    public abstract ValueTask DisposeAsync();

    /// <summary>Ends delivery with <paramref name="error"/> (null: the consumer simply ended).</summary>
    protected void Fail(Exception? error) => _channel.Writer.TryComplete(error);

    /// <summary>Reads the consumer until stopped; <paramref name="accept"/> says which messages go out.</summary>
    protected async Task PumpAsync(INatsJSConsumer consumer, NatsJSConsumeOpts options, Func<INatsJSMsg<DomainEvent>, ValueTask<bool>> accept)
    {
        try
        {
            await foreach (var msg in consumer.ConsumeAsync(ProtobufSerializer<DomainEvent>.Instance, options, Stopping.Token).ConfigureAwait(false))
            {
                if (await accept(msg).ConfigureAwait(false))
                {
                    _channel.Writer.TryWrite(msg);
                }
            }

            Fail(Stopping.IsCancellationRequested ? null : Errors.Aborted($"The JetStream consumer of stream '{Stream.Name}' ended (it was deleted, or its stream was); subscribe again."));
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            Fail(null);
        }
        catch (NATS.Client.JetStream.NatsJSProtocolException ex)
        {
            Fail(Errors.Aborted($"The JetStream consumer of stream '{Stream.Name}' stopped: {ex.Message}; subscribe again."));
        }
        catch (NATS.Client.Core.NatsException ex)
        {
            Fail(Errors.Unavailable($"Delivery from stream '{Stream.Name}' stopped: {ex.Message}; subscribe again."));
        }
    }

    /// <summary>True when the message is an event the subscription wants.</summary>
    protected bool Wanted(INatsJSMsg<DomainEvent> msg) =>
        msg.Data is { } data && (Filter.IsExact || Filter.Matches(Stream.TypeOf(msg.Subject), data.Subject));
}

/// <summary>An ephemeral subscription: an ordered consumer, nothing acked, nothing remembered.</summary>
internal sealed class EphemeralSource : EventSource
{
    private readonly Task _pump;

    private EphemeralSource(BusStream stream, EventFilter filter, INatsJSConsumer consumer)
        : base(stream, filter)
    {
        _pump = Task.Run(() => PumpAsync(consumer, new NatsJSConsumeOpts { MaxMsgs = 256 }, msg => ValueTask.FromResult(Wanted(msg))));
    }

    public static async Task<EphemeralSource> StartAsync(INatsJSContext js, BusStream stream, EventFilter filter, NatsJSOrderedConsumerOpts options, CancellationToken cancellationToken)
    {
        var consumer = await js.CreateOrderedConsumerAsync(stream.JetStreamName, options with { FilterSubjects = [filter.FilterSubject] }, cancellationToken).ConfigureAwait(false);
        return new EphemeralSource(stream, filter, consumer);
    }

    public override async ValueTask DisposeAsync()
    {
        await Stopping.CancelAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        Stopping.Dispose();
    }
}
