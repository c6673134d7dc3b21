using System.Reflection;
using GameSystem.EventBus.V1;
using GameSystem.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Events;

/// <summary>
/// What the host runs beside one service for its events: the relay of its outbox, when its
/// constructor takes an <see cref="EventOutbox"/>, and a consumer per subscription, when it is
/// an <see cref="IEventSubscriber"/>.
/// </summary>
public sealed class ServiceEvents : IHostedService, IAsyncDisposable
{
    private ServiceEvents(EventRelay? relay, IReadOnlyList<EventConsumer> consumers)
    {
        Relay = relay;
        Consumers = consumers;
    }

    /// <summary>The relay of the service's outbox; null when it has none.</summary>
    public EventRelay? Relay { get; }

    /// <summary>One consumer per subscription of the service.</summary>
    public IReadOnlyList<EventConsumer> Consumers { get; }

    /// <summary>True when a public constructor of <paramref name="implementationType"/> takes an <see cref="EventOutbox"/>.</summary>
    public static bool TakesOutbox(Type implementationType)
    {
        ArgumentNullException.ThrowIfNull(implementationType);
        return implementationType.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(EventOutbox)));
    }

    /// <summary>
    /// The relay and consumers of <paramref name="implementation"/>, the service
    /// <paramref name="serviceName"/>, built from <paramref name="services"/> (<see cref="IStateOutboxStore"/>,
    /// <see cref="EventBusServiceClient"/>, and if registered <see cref="ILoggerFactory"/>,
    /// <see cref="TimeProvider"/>, <see cref="EventRelayOptions"/>, <see cref="EventConsumerOptions"/>);
    /// null when the service has neither an outbox nor subscriptions.
    /// </summary>
    /// <param name="services">Where the dependencies come from.</param>
    /// <param name="serviceName">The service's mesh name (e.g. <c>time-manager</c>).</param>
    /// <param name="implementation">The service implementation.</param>
    /// <param name="outbox">The outbox given to its constructor; null when it takes none.</param>
    /// <param name="eventBus">The event-bus client to relay and consume through (the service's own identity); null takes the one of <paramref name="services"/>.</param>
    public static ServiceEvents? Create(IServiceProvider services, string serviceName, object implementation, EventOutbox? outbox, EventBusServiceClient? eventBus = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(implementation);
        var subscriptions = implementation is IEventSubscriber subscriber ? subscriber.Subscriptions : [];
        if (outbox is null && subscriptions.Count == 0)
        {
            return null;
        }

        eventBus ??= services.GetRequiredService<EventBusServiceClient>();
        var loggers = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var relay = outbox is null
            ? null
            : new EventRelay(outbox, services.GetRequiredService<IStateOutboxStore>(), eventBus, loggers.CreateLogger<EventRelay>(), time, services.GetService<EventRelayOptions>());
        var consumerOptions = services.GetService<EventConsumerOptions>();
        var consumers = subscriptions
            .Select(s => new EventConsumer(serviceName, s, eventBus, loggers.CreateLogger<EventConsumer>(), time, consumerOptions))
            .ToList();
        var duplicate = consumers.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"{implementation.GetType().Name} declares the subscription '{duplicate.Key}' more than once; each needs a name of its own (it names the durable consumer).", nameof(implementation));
        }

        return new ServiceEvents(relay, consumers);
    }

    /// <summary>Starts the relay and every consumer.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Relay is not null)
        {
            await Relay.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var consumer in Consumers)
        {
            await consumer.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the consumers, then the relay (which first delivers what the service wrote last).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var consumer in Consumers)
        {
            await consumer.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (Relay is not null)
        {
            await Relay.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var consumer in Consumers)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }

        if (Relay is not null)
        {
            await Relay.DisposeAsync().ConfigureAwait(false);
        }
    }
}
