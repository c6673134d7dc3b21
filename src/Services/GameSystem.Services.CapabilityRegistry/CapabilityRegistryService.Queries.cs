using GameSystem.CapabilityRegistry.V1;
using GameSystem.Mesh;
using GameSystem.Services.CapabilityRegistry.Internal;
using GameSystem.State;
using Grpc.Core;

namespace GameSystem.Services.CapabilityRegistry;

/// <summary>
/// GetInstance and the listings. Every one reads the live entries, which the store forgets when
/// a lease lapses, so none returns an expired registration; index members found without a live
/// entry are dropped from the answer and cleaned up (their expiry processed) before it returns.
/// </summary>
public sealed partial class CapabilityRegistryService
{
    /// <summary>Most providers of one capability ListProviders ranks (it must read them all to rank them).</summary>
    private const int MaxRankedProviders = IndexScan.ScanLimit;

    /// <inheritdoc/>
    public async ValueTask<GetInstanceResponse> GetInstanceAsync(GetInstanceRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "GetInstance");
        RequireInstanceId(request.InstanceId);
        var entry = await _store.GetAsync(StoreKeys.Live(request.InstanceId), context.CancellationToken).ConfigureAwait(false);
        var live = Registration.LiveAt(entry, _time.GetUtcNow()) ?? throw Errors.UnknownInstance(request.InstanceId);
        return new GetInstanceResponse { Instance = View(live) };
    }

    /// <inheritdoc/>
    public async ValueTask<ListInstancesResponse> ListInstancesAsync(ListInstancesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListInstances");
        var pageSize = PageSize(request.PageSize);
        Errors.Require(request.ServiceName.Length == 0 || InstanceRules.IsServiceName(request.ServiceName), "service_name", $"must be empty or a service name of [a-z0-9-] starting with a letter, e.g. 'weather-manager'; got '{request.ServiceName}'.");
        Errors.Require(System.Enum.IsDefined(request.Health), "health", $"{(int)request.Health} is not an InstanceHealth.");
        var after = PageTokens.Decode(request.PageToken, "ListInstances", 1)?[0];
        Errors.Require(after is null || InstanceRules.IsInstanceId(after), "page_token", "is not a token returned by ListInstances; pass next_page_token unchanged or leave it empty.");

        string index;
        StateIndexQuery query;
        Func<string, string> idOf;
        if (request.ServiceName.Length > 0)
        {
            var prefix = StoreKeys.ServicePrefix(request.ServiceName);
            index = StoreKeys.ByServiceIndex;
            query = new StateIndexQuery { Prefix = prefix, From = after is null ? null : PageTokens.After(prefix + after) };
            idOf = member => member[prefix.Length..];
        }
        else
        {
            index = StoreKeys.ByIdIndex;
            query = new StateIndexQuery { From = after is null ? null : PageTokens.After(after) };
            idOf = member => member;
        }

        var cancellationToken = context.CancellationToken;
        var response = new ListInstancesResponse();
        var orphans = new List<(string, string, string)>();
        var scanned = 0;
        await foreach (var item in IndexScan.ReadAsync(_store, _time, index, query, idOf, cancellationToken).ConfigureAwait(false))
        {
            if (item.Live is not { } live)
            {
                orphans.Add((item.InstanceId, index, item.Member));
            }
            else if (request.Health == InstanceHealth.Unspecified || live.Health == request.Health)
            {
                if (response.Instances.Count == pageSize)
                {
                    // One more match exists: this page ends at the last one returned.
                    response.NextPageToken = PageTokens.Encode("ListInstances", response.Instances[^1].InstanceId);
                    break;
                }

                response.Instances.Add(View(live));
            }

            if (++scanned >= IndexScan.ScanLimit)
            {
                response.NextPageToken = PageTokens.Encode("ListInstances", item.InstanceId);
                break;
            }
        }

        await _expiry.CleanUpAsync(orphans, cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<ListProvidersResponse> ListProvidersAsync(ListProvidersRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListProviders");
        var violations = new Violations();
        violations.Check(InstanceRules.IsCapabilityName(request.Capability), "capability", $"{InstanceRules.CapabilityNameRule}; got '{request.Capability}'.");
        violations.Check(request.PageSize is >= 0 and <= MaxPageSize, "page_size", $"must be 1-{MaxPageSize} (0 selects {DefaultPageSize}); got {request.PageSize}.");
        violations.Check(request.AttributeFilter.Count <= InstanceRules.MaxAttributes, "attribute_filter", $"must hold at most {InstanceRules.MaxAttributes} pairs; got {request.AttributeFilter.Count}.");
        violations.ThrowIfAny();
        var pageSize = PageSize(request.PageSize);
        var after = ProviderOrder.FromToken(PageTokens.Decode(request.PageToken, "ListProviders", 4));

        var cancellationToken = context.CancellationToken;
        var prefix = StoreKeys.CapabilityPrefix(request.Capability);
        var providers = new List<(ProviderOrder Order, Provider Provider)>();
        var orphans = new List<(string, string, string)>();
        var scanned = 0;
        await foreach (var item in IndexScan.ReadAsync(_store, _time, StoreKeys.ByCapabilityIndex, new StateIndexQuery { Prefix = prefix }, m => m[prefix.Length..], cancellationToken).ConfigureAwait(false))
        {
            if (item.Live is not { } live)
            {
                orphans.Add((item.InstanceId, StoreKeys.ByCapabilityIndex, item.Member));
            }
            else if (request.IncludeDraining || live.Health != InstanceHealth.Draining)
            {
                var view = View(live);
                foreach (var capability in view.Capabilities.Where(c => Matches(c, request)))
                {
                    var provider = new Provider { Instance = view, Capability = capability };
                    providers.Add((ProviderOrder.Of(provider), provider));
                }
            }

            if (++scanned >= MaxRankedProviders)
            {
                break;
            }
        }

        await _expiry.CleanUpAsync(orphans, cancellationToken).ConfigureAwait(false);
        var ranked = providers
            .Where(p => after is not { } token || p.Order.CompareTo(token) > 0)
            .OrderBy(p => p.Order)
            .Take(pageSize + 1)
            .ToList();
        var response = new ListProvidersResponse();
        response.Providers.AddRange(ranked.Take(pageSize).Select(p => p.Provider));
        if (ranked.Count > pageSize)
        {
            response.NextPageToken = PageTokens.Encode("ListProviders", ranked[pageSize - 1].Order.ToToken());
        }

        return response;
    }

    /// <inheritdoc/>
    public async ValueTask<ListCapabilitiesResponse> ListCapabilitiesAsync(ListCapabilitiesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        MeshAuthorization.RequireCaller(context.GetPrincipal(), "ListCapabilities");
        var pageSize = PageSize(request.PageSize);
        Errors.Require(request.NamePrefix.Length <= 128 && request.NamePrefix.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.'), "name_prefix", $"must be empty or the start of a capability name (at most 128 characters of [a-z0-9_.]), e.g. 'ai.'; got '{request.NamePrefix}'.");
        var after = PageTokens.Decode(request.PageToken, "ListCapabilities", 1)?[0];
        Errors.Require(after is null || InstanceRules.IsCapabilityName(after), "page_token", "is not a token returned by ListCapabilities; pass next_page_token unchanged or leave it empty.");

        // Members are "<name>!<id>"; '"' follows '!' and precedes every character of a name, so
        // starting at "<name>\"" skips exactly that name's members.
        var query = new StateIndexQuery
        {
            Prefix = request.NamePrefix.Length == 0 ? null : request.NamePrefix,
            From = after is null ? null : after + "\"",
        };
        var cancellationToken = context.CancellationToken;
        var response = new ListCapabilitiesResponse();
        var orphans = new List<(string, string, string)>();
        CapabilitySummary? current = null;
        SortedSet<string>? versions = null;
        string? lastName = null;
        var scanned = 0;
        var complete = true;
        await foreach (var item in IndexScan.ReadAsync(_store, _time, StoreKeys.ByCapabilityIndex, query, m => StoreKeys.ParseCapabilityMember(m).InstanceId, cancellationToken).ConfigureAwait(false))
        {
            var (name, _) = StoreKeys.ParseCapabilityMember(item.Member);
            if (name != lastName)
            {
                Close(current, versions);
                if (response.Capabilities.Count > pageSize)
                {
                    // One more capability exists: this page ends at the last one returned.
                    response.Capabilities.RemoveAt(pageSize);
                    response.NextPageToken = PageTokens.Encode("ListCapabilities", response.Capabilities[^1].Name);
                    complete = false;
                    break;
                }

                if (scanned >= IndexScan.ScanLimit && lastName is not null)
                {
                    response.NextPageToken = PageTokens.Encode("ListCapabilities", lastName);
                    complete = false;
                    break;
                }

                current = new CapabilitySummary { Name = name };
                versions = new SortedSet<string>(StringComparer.Ordinal);
                lastName = name;
            }

            scanned++;
            if (item.Live is not { } live)
            {
                orphans.Add((item.InstanceId, StoreKeys.ByCapabilityIndex, item.Member));
            }
            else if (live.Health != InstanceHealth.Draining)
            {
                current!.ProviderCount++;
                if (live.Health is InstanceHealth.Serving or InstanceHealth.Unspecified)
                {
                    current.ServingCount++;
                }

                foreach (var capability in live.Capabilities.Where(c => c.Name == name))
                {
                    versions!.Add(capability.Version);
                }
            }
        }

        if (complete && Close(current, versions) && response.Capabilities.Count > pageSize)
        {
            response.Capabilities.RemoveAt(pageSize);
            response.NextPageToken = PageTokens.Encode("ListCapabilities", response.Capabilities[^1].Name);
        }

        await _expiry.CleanUpAsync(orphans, cancellationToken).ConfigureAwait(false);
        return response;

        // Adds the capability read so far when a live, non-draining instance provides it.
        bool Close(CapabilitySummary? summary, SortedSet<string>? seen)
        {
            if (summary is null || summary.ProviderCount == 0)
            {
                return false;
            }

            summary.Versions.AddRange(seen!);
            response.Capabilities.Add(summary);
            return true;
        }
    }

    private static bool Matches(Capability capability, ListProvidersRequest request) =>
        capability.Name == request.Capability
        && (request.CapabilityVersion.Length == 0 || capability.Version == request.CapabilityVersion)
        && request.AttributeFilter.All(pair => capability.Attributes.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
