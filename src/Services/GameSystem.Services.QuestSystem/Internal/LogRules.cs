using System.Globalization;
using GameSystem.Common.V1;
using GameSystem.QuestSystem.V1;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>What the player's game state says, read from state-manager when a prerequisite needs it.</summary>
internal sealed record PlayerFacts(long Experience, int Level, IReadOnlyDictionary<string, long> Items);

/// <summary>Whether a player can accept a quest now, and if not, why.</summary>
internal sealed record AvailabilityVerdict(bool Available, IReadOnlyList<string> Reasons, Timestamp? AvailableTime);

/// <summary>
/// The rules of a player's quest log, free of the store: availability from prerequisites, a
/// new attempt, objective progress (ordered objectives, clamping), completion and expiry.
/// </summary>
internal static class LogRules
{
    /// <summary>True when <paramref name="definition"/>'s prerequisites need the player's experience, level or items.</summary>
    public static bool NeedsFacts(QuestDefinition definition) =>
        definition.Prerequisites is { } p && (p.MinExperience > 0 || p.MinLevel > 0 || p.RequiredItems.Count > 0);

    /// <summary>
    /// Whether the player can accept <paramref name="definition"/>: it is PUBLISHED, not active, not
    /// completed (unless repeatable and off cooldown), and every prerequisite holds.
    /// </summary>
    public static AvailabilityVerdict Check(
        QuestDefinition definition,
        PlayerQuestRecord? own,
        Func<string, PlayerQuestRecord?> recordOf,
        Func<string, bool> purchased,
        PlayerFacts? facts,
        DateTimeOffset now)
    {
        var reasons = new List<string>();
        Timestamp? availableTime = null;
        if (definition.State != QuestDefinitionState.Published)
        {
            reasons.Add($"quest {definition.QuestId} is {Name(definition.State)}, not PUBLISHED");
        }

        if (own is not null)
        {
            var state = StateAt(own, now);
            if (state == PlayerQuestState.Active)
            {
                reasons.Add($"quest {definition.QuestId} is already active (attempt {own.Quest.Attempt})");
            }
            else if (own.CompletedCount > 0 && !definition.Repeatable)
            {
                reasons.Add($"quest {definition.QuestId} was already completed and is not repeatable");
            }
            else if (own.CompletedCount > 0 && definition.RepeatCooldown is { } cooldown && own.LastCompleteTime is { } last
                && last.ToDateTimeOffset() + cooldown.ToTimeSpan() is var ready && ready > now)
            {
                availableTime = Timestamp.FromDateTimeOffset(ready);
                reasons.Add(string.Create(CultureInfo.InvariantCulture, $"quest {definition.QuestId} is on cooldown until {ready:yyyy-MM-ddTHH:mm:ssZ}"));
            }
        }

        var prerequisites = definition.Prerequisites ?? new Prerequisites();
        foreach (var required in prerequisites.CompletedQuestIds)
        {
            if (recordOf(required) is not { CompletedCount: > 0 })
            {
                reasons.Add($"requires completed quest {required}");
            }
        }

        foreach (var excluded in prerequisites.ExcludedQuestIds)
        {
            if (recordOf(excluded) is { } record)
            {
                if (record.CompletedCount > 0)
                {
                    reasons.Add($"excluded by completed quest {excluded}");
                }
                else if (StateAt(record, now) == PlayerQuestState.Active)
                {
                    reasons.Add($"excluded by active quest {excluded}");
                }
            }
        }

        foreach (var offer in prerequisites.PurchasedOfferIds)
        {
            if (!purchased(offer))
            {
                reasons.Add($"requires a purchase of offer {offer}");
            }
        }

        if (facts is not null)
        {
            if (prerequisites.MinLevel > 0 && facts.Level < prerequisites.MinLevel)
            {
                reasons.Add(string.Create(CultureInfo.InvariantCulture, $"requires level {prerequisites.MinLevel} (the player is level {facts.Level})"));
            }

            if (prerequisites.MinExperience > 0 && facts.Experience < prerequisites.MinExperience)
            {
                reasons.Add(string.Create(CultureInfo.InvariantCulture, $"requires {prerequisites.MinExperience} experience (the player has {facts.Experience})"));
            }

            foreach (var item in prerequisites.RequiredItems)
            {
                var held = facts.Items.GetValueOrDefault(item.ItemId);
                if (held < item.Quantity)
                {
                    reasons.Add(string.Create(CultureInfo.InvariantCulture, $"requires {item.Quantity} × {item.ItemId} held (the player holds {held})"));
                }
            }
        }

        return new AvailabilityVerdict(reasons.Count == 0, reasons, availableTime);
    }

    /// <summary>The state a record is in at <paramref name="now"/>: an ACTIVE attempt past its deadline is FAILED.</summary>
    public static PlayerQuestState StateAt(PlayerQuestRecord record, DateTimeOffset now) =>
        IsExpired(record, now) ? PlayerQuestState.Failed : record.Quest.State;

    public static bool IsExpired(PlayerQuestRecord record, DateTimeOffset now) =>
        record.Quest.State == PlayerQuestState.Active && record.Quest.DeadlineTime is { } deadline && deadline.ToDateTimeOffset() <= now;

    /// <summary>The entry as the API shows it at <paramref name="now"/> (an expired attempt reads FAILED before it is written so).</summary>
    public static PlayerQuest Present(PlayerQuestRecord record, DateTimeOffset now) =>
        IsExpired(record, now) ? Expire(record, now).Quest : record.Quest;

    /// <summary>The record failed for its time limit (at the deadline).</summary>
    public static PlayerQuestRecord Expire(PlayerQuestRecord record, DateTimeOffset now)
    {
        var next = Next(record, Timestamp.FromDateTimeOffset(now));
        next.Quest.State = PlayerQuestState.Failed;
        next.Quest.EndTime = record.Quest.DeadlineTime;
        next.Quest.FailureReason = "The time limit expired.";
        return next;
    }

    /// <summary>A new attempt at <paramref name="definition"/> after <paramref name="previous"/> (null: the first).</summary>
    public static PlayerQuestRecord Accept(string playerId, QuestDefinition definition, PlayerQuestRecord? previous, Timestamp now)
    {
        var attempt = (previous?.Quest.Attempt ?? 0) + 1;
        var quest = new PlayerQuest
        {
            Name = $"players/{playerId}/quests/{definition.QuestId}",
            PlayerId = playerId,
            QuestId = definition.QuestId,
            QuestVersion = definition.Version,
            Attempt = attempt,
            State = PlayerQuestState.Active,
            AcceptTime = now,
            DeadlineTime = definition.TimeLimit is { } limit ? Timestamp.FromDateTimeOffset(now.ToDateTimeOffset() + limit.ToTimeSpan()) : null,
            RewardGrantKey = StoreKeys.GrantKey(playerId, definition.QuestId, attempt),
            Version = (previous?.Quest.Version ?? 0) + 1,
            UpdateTime = now,
        };
        quest.Objectives.AddRange(definition.Objectives.Select(o => new ObjectiveProgress { ObjectiveId = o.ObjectiveId, RequiredCount = o.RequiredCount, Optional = o.Optional }));
        return new PlayerQuestRecord
        {
            Quest = quest,
            Accepted = definition,
            CompletedCount = previous?.CompletedCount ?? 0,
            LastCompleteTime = previous?.LastCompleteTime,
            LogMember = LogMember(now, definition.QuestId),
        };
    }

    /// <summary>A copy of <paramref name="record"/> as its next version, changed at <paramref name="now"/>.</summary>
    public static PlayerQuestRecord Next(PlayerQuestRecord record, Timestamp now)
    {
        var next = record.Clone();
        next.Quest.Version = record.Quest.Version + 1;
        next.Quest.UpdateTime = now;
        next.LogMember = LogMember(now, record.Quest.QuestId);
        return next;
    }

    /// <summary>
    /// Why objective <paramref name="index"/> cannot progress now, or null: in a quest with
    /// ordered objectives, each progresses only after every earlier required one is done.
    /// </summary>
    public static string? BlockedBy(PlayerQuestRecord record, int index)
    {
        if (!record.Accepted.OrderedObjectives)
        {
            return null;
        }

        for (var i = 0; i < index; i++)
        {
            var earlier = record.Quest.Objectives[i];
            if (!earlier.Optional && !earlier.Completed)
            {
                return $"objective '{earlier.ObjectiveId}' comes first ({earlier.CurrentCount}/{earlier.RequiredCount}): quest {record.Quest.QuestId} has ordered objectives";
            }
        }

        return null;
    }

    /// <summary>Applies a report to one objective; returns false when the count did not change.</summary>
    public static bool Progress(ObjectiveProgress objective, int? increment, int? absolute)
    {
        var before = objective.CurrentCount;
        var after = increment is { } add
            ? (int)Math.Min((long)before + add, objective.RequiredCount)
            : Math.Clamp(absolute ?? before, 0, objective.RequiredCount);
        if (objective.Completed)
        {
            after = objective.RequiredCount;
        }

        objective.CurrentCount = after;
        objective.Completed = after >= objective.RequiredCount;
        return after != before;
    }

    /// <summary>The required objectives not done yet.</summary>
    public static List<ObjectiveProgress> Unfinished(PlayerQuest quest) => [.. quest.Objectives.Where(o => !o.Optional && !o.Completed)];

    /// <summary>The record completed at <paramref name="now"/>: its rewards copied, the grant PENDING (GRANTED when there is nothing to grant).</summary>
    public static PlayerQuestRecord Complete(PlayerQuestRecord record, Timestamp now)
    {
        var next = Next(record, now);
        next.Quest.State = PlayerQuestState.Completed;
        next.Quest.EndTime = now;
        next.Quest.Rewards = record.Accepted.Rewards?.Clone() ?? new Reward();
        next.Quest.RewardStatus = IsEmpty(next.Quest.Rewards) ? RewardStatus.Granted : RewardStatus.Pending;
        next.CompletedCount = record.CompletedCount + 1;
        next.LastCompleteTime = now;
        return next;
    }

    public static bool IsEmpty(Reward reward) => reward.Currencies.Count == 0 && reward.Items.Count == 0 && reward.Experience == 0;

    /// <summary>The grant a completed record owes.</summary>
    public static GrantTask GrantOf(PlayerQuest quest) => new()
    {
        PlayerId = quest.PlayerId,
        QuestId = quest.QuestId,
        Attempt = quest.Attempt,
        Reward = quest.Rewards,
        GrantKey = quest.RewardGrantKey,
        CompleteTime = quest.EndTime,
    };

    /// <summary>The log index member: sortable by last change, then quest id.</summary>
    public static string LogMember(Timestamp time, string questId) => GameSystem.State.StateIndex.SortableTime(time.ToDateTimeOffset()) + "/" + questId;

    public static string Name(QuestDefinitionState state) => state switch
    {
        QuestDefinitionState.Draft => "DRAFT",
        QuestDefinitionState.Published => "PUBLISHED",
        QuestDefinitionState.Retired => "RETIRED",
        _ => "UNSPECIFIED",
    };

    public static string Name(PlayerQuestState state) => state switch
    {
        PlayerQuestState.Active => "ACTIVE",
        PlayerQuestState.Completed => "COMPLETED",
        PlayerQuestState.Abandoned => "ABANDONED",
        PlayerQuestState.Failed => "FAILED",
        _ => "UNSPECIFIED",
    };
}
