using System.Globalization;
using NATS.Client.KeyValueStore;

namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// Which instance serves each durable consumer, in a JetStream key-value bucket: a lease is
/// taken with a create (or a revision-checked update of an expired one), renewed with
/// revision-checked updates and released with a revision-checked delete. Two Subscribes
/// racing on any instances cannot both win, and a dead instance's lease runs out.
/// </summary>
internal sealed class ConsumerLeases(INatsKVStore store, string instanceId, TimeProvider time, TimeSpan duration)
{
    public TimeSpan Duration => duration;

    /// <summary>Takes the lease of <paramref name="key"/>, or returns null and who holds it until when.</summary>
    public async ValueTask<(Lease? Lease, string Holder, DateTimeOffset Until)> TryTakeAsync(string key, CancellationToken cancellationToken)
    {
        var value = Value(time.GetUtcNow() + duration);
        var created = await store.TryCreateAsync(key, value, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (created.Success)
        {
            return (new Lease(key, created.Value), "", default);
        }

        var current = await store.TryGetEntryAsync<string>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!current.Success)
        {
            // Deleted between the two calls: the next Subscribe finds it free.
            return (null, "another instance", time.GetUtcNow());
        }

        var (holder, until) = Parse(current.Value.Value);
        if (until > time.GetUtcNow())
        {
            return (null, holder, until);
        }

        var taken = await store.TryUpdateAsync(key, value, current.Value.Revision, cancellationToken: cancellationToken).ConfigureAwait(false);
        return taken.Success ? (new Lease(key, taken.Value), "", default) : (null, "another instance", time.GetUtcNow() + duration);
    }

    /// <summary>Renews a held lease; false when another instance took it over (this one was presumed dead).</summary>
    public async ValueTask<bool> RenewAsync(Lease lease, CancellationToken cancellationToken)
    {
        var renewed = await store.TryUpdateAsync(lease.Key, Value(time.GetUtcNow() + duration), lease.Revision, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!renewed.Success)
        {
            return false;
        }

        lease.Revision = renewed.Value;
        return true;
    }

    public async ValueTask ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        await store.TryDeleteAsync(lease.Key, new NatsKVDeleteOpts { Revision = lease.Revision }, cancellationToken).ConfigureAwait(false);

    /// <summary>True while some instance holds an unexpired lease of <paramref name="key"/>.</summary>
    public async ValueTask<bool> IsHeldAsync(string key, CancellationToken cancellationToken)
    {
        var current = await store.TryGetEntryAsync<string>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return current.Success && Parse(current.Value.Value).Until > time.GetUtcNow();
    }

    private string Value(DateTimeOffset until) => string.Create(CultureInfo.InvariantCulture, $"{instanceId} {until.ToUnixTimeMilliseconds()}");

    private static (string Holder, DateTimeOffset Until) Parse(string? value)
    {
        var space = value?.LastIndexOf(' ') ?? -1;
        return space > 0 && long.TryParse(value.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? (value![..space], DateTimeOffset.FromUnixTimeMilliseconds(ms))
            : ("an unknown instance", DateTimeOffset.MinValue);
    }
}

/// <summary>A held lease and the revision it was last written at.</summary>
internal sealed class Lease(string key, ulong revision)
{
    public string Key { get; } = key;

    public ulong Revision { get; set; } = revision;
}
