using GameSystem.EventBus.V1;
using GameSystem.Events;
using GameSystem.Services.Settings.Internal;
using GameSystem.Settings.V1;
using GameSystem.State;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.Settings;

/// <summary>
/// settings: typed setting definitions with their global defaults, per-player overrides and
/// the effective values they resolve to. Every change is one store transaction (partitions:
/// <see cref="StoreKeys"/>) holding the change, its index updates, the request id that makes
/// it safe to retry and its <c>settings.setting.changed</c> event, so concurrent instances never
/// lose an update and a crash never leaves half of one. WatchSettings follows those events on
/// event-bus, so a watch sees the changes made through every instance.
/// </summary>
/// <remarks>
/// An override is checked against its definition when it is written and again whenever it is
/// read: one written for an earlier definition of the key, one that a later change of the
/// constraints rejects, or one of a setting no longer overridable never becomes an effective
/// value; the global default applies instead.
/// </remarks>
public sealed partial class SettingsService : ISettingsService, IDisposable
{
    private readonly IStateStore _store;
    private readonly EventOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<SettingsService> _logger;
    private readonly SettingRules _rules;
    private readonly ChangeFeed _feed;

    /// <summary>Creates the service over a state store, publishing its events through <paramref name="outbox"/> and watching them on <paramref name="eventBus"/>.</summary>
    public SettingsService(IStateStore store, EventOutbox outbox, EventBusServiceClient eventBus, IOptions<SettingsOptions> options, TimeProvider timeProvider, ILogger<SettingsService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(eventBus);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _outbox = outbox;
        _time = timeProvider;
        _logger = logger;
        var settings = options.Value ?? SettingsOptions.Default;
        _rules = new SettingRules(settings.PatternMatchTimeout);
        _feed = new ChangeFeed(eventBus, settings, logger);
    }

    /// <summary>Watches this instance serves now.</summary>
    public int WatcherCount => _feed.WatcherCount;

    /// <summary>Ends the event-bus subscription of this instance's watches.</summary>
    public void Dispose() => _feed.Dispose();

    /// <summary>The effective setting of <paramref name="playerId"/> (empty: the global default) given what the store holds.</summary>
    private EffectiveSetting Resolve(DefinitionRecord record, string playerId, StateEntry? stored)
    {
        var definition = record.Definition;
        if (playerId.Length > 0 && ApplicableOverride(record, stored) is { } applied)
        {
            return new EffectiveSetting
            {
                Key = definition.Key,
                Value = applied.Value,
                Source = SettingSource.PlayerOverride,
                OverrideVersion = applied.Version,
                DefinitionVersion = definition.Version,
                UpdateTime = applied.UpdateTime,
            };
        }

        return new EffectiveSetting
        {
            Key = definition.Key,
            Value = definition.DefaultValue,
            Source = SettingSource.GlobalDefault,
            DefinitionVersion = definition.Version,
            UpdateTime = definition.UpdateTime,
        };
    }

    /// <summary>The stored override if it applies under the current definition; null otherwise.</summary>
    private OverrideRecord? ApplicableOverride(DefinitionRecord record, StateEntry? stored)
    {
        if (stored is null || !record.Definition.PlayerOverridable)
        {
            return null;
        }

        var applied = OverrideRecord.Parser.ParseFrom(stored.Value.Span);
        return applied.Incarnation == record.Incarnation && _rules.Check(record.Definition, applied.Value, out _) is null ? applied : null;
    }

    /// <summary>Reads the definitions of <paramref name="keys"/> and, for a player, their overrides, in one round trip.</summary>
    private async ValueTask<(DefinitionRecord?[] Definitions, StateEntry?[] Overrides)> ReadAsync(string playerId, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var wanted = new List<string>(keys.Count * 2);
        wanted.AddRange(keys.Select(StoreKeys.Definition));
        if (playerId.Length > 0)
        {
            wanted.AddRange(keys.Select(k => StoreKeys.Override(playerId, k)));
        }

        var definitions = new DefinitionRecord?[keys.Count];
        var overrides = new StateEntry?[keys.Count];
        for (var offset = 0; offset < wanted.Count; offset += StateKeys.MaxPageSize)
        {
            var chunk = wanted.GetRange(offset, Math.Min(StateKeys.MaxPageSize, wanted.Count - offset));
            var read = await _store.GetManyAsync(chunk, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < read.Count; i++)
            {
                var at = offset + i;
                if (at < keys.Count)
                {
                    definitions[at] = read[i] is { } stored ? DefinitionRecord.Parser.ParseFrom(stored.Value.Span) : null;
                }
                else
                {
                    overrides[at - keys.Count] = read[i];
                }
            }
        }

        return (definitions, overrides);
    }

    private static void ValidateKey(string key, string field) => Errors.Require(SettingRules.IsValidKey(key), field, SettingRules.KeyRule(field, key)[(field.Length + 1)..]);

    private static void ValidatePlayer(string playerId, bool required)
    {
        if (playerId.Length == 0)
        {
            Errors.Require(!required, "player_id", "is required: the id of the player (account) whose settings to change.");
            return;
        }

        Errors.Require(SettingRules.IsValidPlayerId(playerId), "player_id", $"'{(playerId.Length > 80 ? playerId[..77] + "..." : playerId)}' is not a player id: 1-{SettingRules.MaxPlayerIdLength} letters, digits and '-', '_', '.', ':', '@', starting with a letter or digit.");
    }

    private static List<string> ValidatePrefixes(Google.Protobuf.Collections.RepeatedField<string> prefixes)
    {
        Errors.Require(prefixes.Count <= 32, "key_prefixes", $"holds at most 32 prefixes; got {prefixes.Count}.");
        for (var i = 0; i < prefixes.Count; i++)
        {
            Errors.Require(SettingRules.IsValidKeyPrefix(prefixes[i]), $"key_prefixes[{i}]", $"'{prefixes[i]}' is not the start of a key: lower-case letters, digits, '_' and '.', such as 'audio.'.");
        }

        return [.. prefixes];
    }

    private static bool HasPrefix(string key, List<string> prefixes) =>
        prefixes.Count == 0 || prefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    private Timestamp Now() => Timestamp.FromDateTimeOffset(_time.GetUtcNow());
}
