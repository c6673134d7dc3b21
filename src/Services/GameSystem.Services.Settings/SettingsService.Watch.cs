using GameSystem.Mesh;
using GameSystem.Services.Settings.Internal;
using GameSystem.Settings.V1;
using Grpc.Core;

namespace GameSystem.Services.Settings;

/// <summary>WatchSettings: the effective settings a watch covers, following the change events of every instance.</summary>
public sealed partial class SettingsService
{
    /// <inheritdoc/>
    /// <remarks>
    /// The stream is driven by the <c>settings.setting.changed</c> events on event-bus (through
    /// this instance's <see cref="ChangeFeed"/>), never by polling the store. An event names what
    /// changed; the watch then reads that one setting's effective value, so what it sends is the
    /// state after the change even when events arrive late or twice, and a value it already sent
    /// is not sent again.
    /// </remarks>
    public async IAsyncEnumerable<WatchSettingsResponse> WatchSettingsAsync(WatchSettingsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var playerId = request.PlayerId;
        ValidatePlayer(playerId, required: false);
        var prefixes = ValidatePrefixes(request.KeyPrefixes);
        Access.RequirePlayer(context.GetPrincipal(), playerId, write: false, "WatchSettings");
        var cancellationToken = context.CancellationToken;

        // Joined before the first read, so no change committed after that read is missed.
        using var watcher = await _feed.JoinAsync(cancellationToken).ConfigureAwait(false);
        var sent = new Dictionary<string, WatchSettingsResponse>(StringComparer.Ordinal);
        if (request.SendInitial)
        {
            string? after = null;
            do
            {
                var (items, resumeAfter) = await EffectivePageAsync(playerId, prefixes, overridesOnly: false, after, 500, cancellationToken).ConfigureAwait(false);
                foreach (var setting in items)
                {
                    var message = new WatchSettingsResponse { ChangeType = SettingChangeType.Updated, Setting = setting };
                    sent[setting.Key] = message;
                    yield return message;
                }

                after = resumeAfter;
            }
            while (after is not null);

            yield return new WatchSettingsResponse { InitialSnapshotComplete = true };
        }

        await foreach (var change in watcher.Changes.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            // A player's watch takes global changes and its own; a global watch, global changes only.
            var global = change.PlayerId.Length == 0;
            if (!global && !string.Equals(change.PlayerId, playerId, StringComparison.Ordinal) || !HasPrefix(change.Key, prefixes))
            {
                continue;
            }

            var (definitions, overrides) = await ReadAsync(playerId, [change.Key], cancellationToken).ConfigureAwait(false);
            WatchSettingsResponse next;
            if (definitions[0] is { } definition)
            {
                var effective = Resolve(definition, playerId, overrides[0]);
                if (global && effective.Source == SettingSource.PlayerOverride)
                {
                    continue; // the player's override hides the default
                }

                next = new WatchSettingsResponse { ChangeType = SettingChangeType.Updated, Setting = effective };
            }
            else
            {
                next = new WatchSettingsResponse { ChangeType = SettingChangeType.Deleted, Setting = new EffectiveSetting { Key = change.Key } };
            }

            if (sent.TryGetValue(change.Key, out var previous) && previous.Equals(next))
            {
                continue;
            }

            sent[change.Key] = next;
            yield return next;
        }
    }
}
