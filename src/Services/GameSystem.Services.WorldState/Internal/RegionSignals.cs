using System.Collections.Concurrent;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// Wakes this instance's WatchRegion streams the moment a write through this instance
/// commits, so they need not wait for their next poll of the store (which is how they learn
/// of other instances' writes).
/// </summary>
internal sealed class RegionSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next <see cref="Pulse"/> of the region.</summary>
    public Task Next(string worldId, string regionId) =>
        _waiting.GetOrAdd(Key(worldId, regionId), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Wakes every stream waiting on the region.</summary>
    public void Pulse(string worldId, string regionId)
    {
        if (_waiting.TryRemove(Key(worldId, regionId), out var waiting))
        {
            waiting.TrySetResult();
        }
    }

    private static string Key(string worldId, string regionId) => worldId + "\n" + regionId;
}
