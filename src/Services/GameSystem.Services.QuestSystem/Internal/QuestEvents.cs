using GameSystem.Common.V1;
using GameSystem.QuestSystem.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>
/// The contract's events, recorded in the outbox in the change's transaction, subject
/// <c>players/{player_id}/quests/{quest_id}</c>. Ids are deterministic per attempt, so a change
/// re-planned after a conflict, and every redelivery, carries the same id.
/// </summary>
internal static class QuestEvents
{
    public const string AcceptedType = "quest.accepted";
    public const string ProgressedType = "quest.objective.progressed";
    public const string CompletedType = "quest.completed";
    public const string AbandonedType = "quest.abandoned";
    public const string FailedType = "quest.failed";

    public static DomainEvent Accepted(PlayerQuest quest) =>
        Event(AcceptedType, quest, $"{quest.RewardGrantKey}:accepted", quest.AcceptTime, new QuestAccepted { PlayerId = quest.PlayerId, QuestId = quest.QuestId, Attempt = quest.Attempt, AcceptTime = quest.AcceptTime });

    public static DomainEvent Progressed(PlayerQuest quest, ObjectiveProgress objective, string reportId) =>
        Event(ProgressedType, quest, $"{quest.RewardGrantKey}:progress:{objective.ObjectiveId}:{quest.Version}", quest.UpdateTime, new QuestObjectiveProgressed { PlayerId = quest.PlayerId, QuestId = quest.QuestId, Objective = objective, ReportId = reportId });

    /// <summary>The contract names its id: <c>quest:{player_id}:{quest_id}:{attempt}</c>.</summary>
    public static DomainEvent Completed(PlayerQuest quest) =>
        Event(CompletedType, quest, quest.RewardGrantKey, quest.EndTime, new QuestCompleted
        {
            PlayerId = quest.PlayerId,
            QuestId = quest.QuestId,
            Attempt = quest.Attempt,
            Rewards = quest.Rewards,
            RewardGrantKey = quest.RewardGrantKey,
            CompletedObjectiveIds = { quest.Objectives.Where(o => o.Completed).Select(o => o.ObjectiveId) },
            CompleteTime = quest.EndTime,
        });

    public static DomainEvent Abandoned(PlayerQuest quest) =>
        Event(AbandonedType, quest, $"{quest.RewardGrantKey}:abandoned", quest.EndTime, new QuestAbandoned { PlayerId = quest.PlayerId, QuestId = quest.QuestId, Attempt = quest.Attempt, AbandonTime = quest.EndTime });

    public static DomainEvent Failed(PlayerQuest quest) =>
        Event(FailedType, quest, $"{quest.RewardGrantKey}:failed", quest.EndTime, new QuestFailed { PlayerId = quest.PlayerId, QuestId = quest.QuestId, Attempt = quest.Attempt, Reason = quest.FailureReason, FailTime = quest.EndTime });

    private static DomainEvent Event(string type, PlayerQuest quest, string eventId, Timestamp occurredAt, IMessage payload) => new()
    {
        EventId = eventId,
        Type = type,
        Subject = $"players/{quest.PlayerId}/quests/{quest.QuestId}",
        OccurredAt = occurredAt,
        Payload = payload.ToByteString(),
        PayloadType = payload.Descriptor.FullName,
    };
}
