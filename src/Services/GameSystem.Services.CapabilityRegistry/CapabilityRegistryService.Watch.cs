using System.Runtime.CompilerServices;
using GameSystem.CapabilityRegistry.V1;
using GameSystem.EventBus.V1;
using GameSystem.Mesh;
using GameSystem.Services.CapabilityRegistry.Internal;
using GameSystem.State;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry;

/// <summary>
/// WatchProviders: the <c>capability.instance.changed</c> events of every instance of this
/// service, read from event-bus, as provider changes of the watched capabilities.
/// </summary>
/// <remarks>
/// Joins, health changes and leaves are written with their event in one transaction by whichever
/// instance served the call; expiries are written by the sweeper of whichever instance processes
/// the lapse first. All of them reach event-bus through the outbox, so a watch served by any
/// instance sees them all, in the order they were made (one partition, one outbox). The stream
/// subscribes from its start time before reading the snapshot, so nothing between the two is
/// lost; what both report is dropped by <see cref="ProviderWatch"/>.
/// </remarks>
public sealed partial class CapabilityRegistryService
{
    /// <inheritdoc/>
    public async IAsyncEnumerable<WatchProvidersResponse> WatchProvidersAsync(WatchProvidersRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "WatchProviders");
        var violations = new Violations();
        violations.Check(request.Capabilities.Count <= InstanceRules.MaxWatchedCapabilities, "capabilities", $"must name at most {InstanceRules.MaxWatchedCapabilities} capabilities (empty watches every one); got {request.Capabilities.Count}.");
        for (var i = 0; i < request.Capabilities.Count; i++)
        {
            violations.Check(InstanceRules.IsCapabilityName(request.Capabilities[i]), $"capabilities[{i}]", $"{InstanceRules.CapabilityNameRule}; got '{request.Capabilities[i]}'.");
        }

        violations.ThrowIfAny();
        var cancellationToken = context.CancellationToken;
        var watch = new ProviderWatch(request.Capabilities.ToHashSet(StringComparer.Ordinal), request.SendInitial);
        var start = _time.GetUtcNow() - (request.SendInitial ? _options.WatchReplayMargin : TimeSpan.Zero);
        var subscription = new SubscribeRequest
        {
            Stream = _options.EventStream,
            TypeFilters = { ChangeEvents.InstanceChangedType },
            DeliverPolicy = DeliverPolicy.ByTime,
            StartTime = Timestamp.FromDateTimeOffset(start),
        };

        var events = _eventBus.SubscribeAsync(subscription, cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var disposeEvents = events.ConfigureAwait(false);
        if (request.SendInitial)
        {
            await foreach (var change in SnapshotAsync(watch, cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }

            yield return new WatchProvidersResponse { InitialSnapshotComplete = true };
        }

        while (true)
        {
            bool moved;
            try
            {
                moved = await events.MoveNextAsync().ConfigureAwait(false);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw Errors.Unavailable($"event-bus ended the subscription this watch reads changes from ({ex.StatusCode}: {ex.Status.Detail}); watch again, with send_initial to resynchronise.");
            }

            if (!moved)
            {
                throw Errors.Unavailable("event-bus ended the subscription this watch reads changes from; watch again, with send_initial to resynchronise.");
            }

            if (events.Current.ItemCase != SubscribeResponse.ItemOneofCase.Event || events.Current.Event.Event is not { Type: ChangeEvents.InstanceChangedType } domainEvent)
            {
                continue;
            }

            // Without a snapshot the stream reports what changed from its start on; event-bus
            // stored some earlier changes after that (the relay's delay), and they are not news.
            var changed = InstanceChanged.Parser.ParseFrom(domainEvent.Payload);
            if (!request.SendInitial && changed.ChangeTime is { } changeTime && changeTime.ToDateTimeOffset() < start)
            {
                continue;
            }

            foreach (var change in watch.Apply(changed))
            {
                yield return change;
            }
        }
    }

    /// <summary>One REGISTERED change per live provider of a watched capability, read along the id index.</summary>
    private async IAsyncEnumerable<WatchProvidersResponse> SnapshotAsync(ProviderWatch watch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var orphans = new List<(string, string, string)>();
        await foreach (var item in IndexScan.ReadAsync(_store, _time, StoreKeys.ByIdIndex, StateIndexQuery.Default, m => m, cancellationToken).ConfigureAwait(false))
        {
            if (item.Live is not { } live)
            {
                orphans.Add((item.InstanceId, StoreKeys.ByIdIndex, item.Member));
                continue;
            }

            if (watch.Watches(live))
            {
                foreach (var change in watch.Snapshot(live))
                {
                    yield return change;
                }
            }
        }

        await _expiry.CleanUpAsync(orphans, cancellationToken).ConfigureAwait(false);
    }
}
