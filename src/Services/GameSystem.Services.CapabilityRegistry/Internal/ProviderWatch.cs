using GameSystem.CapabilityRegistry.V1;

namespace GameSystem.Services.CapabilityRegistry.Internal;

/// <summary>
/// The view one WatchProviders stream keeps: the instances it has reported (with their
/// leases), so it turns instance events into provider changes of the watched capabilities,
/// drops what it already reported (the initial snapshot and the events replayed around it
/// overlap), and ignores a leave of a lease that is not the one it knows.
/// </summary>
/// <param name="capabilities">The capabilities watched; empty for every one.</param>
/// <param name="fromSnapshot">
/// True when the stream began with a snapshot: then it knows every instance that matters, and
/// a change of one it does not know happened before the snapshot and is dropped.
/// </param>
internal sealed class ProviderWatch(IReadOnlySet<string> capabilities, bool fromSnapshot)
{
    private readonly Dictionary<string, Instance> _known = new(StringComparer.Ordinal);

    /// <summary>The instances reported and not since reported gone.</summary>
    public int KnownCount => _known.Count;

    /// <summary>Whether <paramref name="instance"/> offers a watched capability.</summary>
    public bool Watches(Instance instance) => instance.Capabilities.Any(Watched);

    /// <summary>The REGISTERED changes of one instance of the initial snapshot.</summary>
    public IEnumerable<WatchProvidersResponse> Snapshot(Instance live)
    {
        _known[live.InstanceId] = live;
        return Changes(ProviderChangeType.Registered, live, live.Capabilities);
    }

    /// <summary>The provider changes one instance event makes, in the order a client should apply them.</summary>
    public IEnumerable<WatchProvidersResponse> Apply(InstanceChanged change)
    {
        var instance = change.Instance;
        if (instance is null)
        {
            return [];
        }

        var id = instance.InstanceId;
        var known = _known.GetValueOrDefault(id);
        switch (change.ChangeType)
        {
            case ProviderChangeType.Registered:
            {
                if (known is not null && known.LeaseId == instance.LeaseId)
                {
                    return [];
                }

                // Leaves of what the previous registration offered, then the joins of this one.
                IEnumerable<Capability> removed = known is not null
                    ? known.Capabilities.Where(old => !instance.Capabilities.Any(c => c.Name == old.Name && c.Version == old.Version))
                    : fromSnapshot ? [] : change.RemovedCapabilities;
                var leaves = Changes(ProviderChangeType.Deregistered, known ?? instance, removed).ToList();
                _known[id] = instance;
                return [.. leaves, .. Changes(ProviderChangeType.Registered, instance, instance.Capabilities)];
            }

            case ProviderChangeType.HealthChanged:
            {
                if (known is null ? fromSnapshot : known.LeaseId != instance.LeaseId || known.Health == instance.Health)
                {
                    return [];
                }

                _known[id] = instance;
                return Changes(ProviderChangeType.HealthChanged, instance, instance.Capabilities);
            }

            case ProviderChangeType.Expired or ProviderChangeType.Deregistered:
            {
                if (known is null ? fromSnapshot : known.LeaseId != instance.LeaseId)
                {
                    return [];
                }

                _known.Remove(id);
                return Changes(change.ChangeType, instance, instance.Capabilities);
            }

            default:
                return [];
        }
    }

    private bool Watched(Capability capability) => capabilities.Count == 0 || capabilities.Contains(capability.Name);

    private IEnumerable<WatchProvidersResponse> Changes(ProviderChangeType type, Instance instance, IEnumerable<Capability> offered)
    {
        Instance? view = null;
        foreach (var capability in offered.Where(Watched))
        {
            if (view is null)
            {
                view = instance.Clone();
                view.LeaseId = "";
            }

            yield return new WatchProvidersResponse { ChangeType = type, Provider = new Provider { Instance = view, Capability = capability } };
        }
    }
}
