using GameSystem.State;
using Timer = GameSystem.TimeManager.V1.Timer;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// The index entries of a timer, changed in the transaction that changes the timer, so an
/// index never lists a timer other than as it is stored.
/// </summary>
internal static class TimerIndexes
{
    /// <summary>Every (index, member) that lists <paramref name="timer"/> as it is.</summary>
    public static IEnumerable<(string Index, string Member)> Entries(string generation, Timer timer)
    {
        var worldId = timer.WorldId;
        var member = StoreKeys.TimerMember(timer.FireAtGameSeconds, timer.TimerId);
        yield return (StoreKeys.TimersIndex(worldId, generation), member);
        yield return (StoreKeys.TimersInState(worldId, generation, timer.State), member);
        if (timer.Owner.Length > 0)
        {
            yield return (StoreKeys.TimersByOwner(worldId, generation), StoreKeys.LabelPrefix(timer.Owner) + member);
        }

        if (timer.Subject.Length > 0)
        {
            yield return (StoreKeys.TimersBySubject(worldId, generation), StoreKeys.LabelPrefix(timer.Subject) + member);
        }
    }

    public static void Add(StateTransaction transaction, string generation, Timer timer)
    {
        foreach (var (index, member) in Entries(generation, timer))
        {
            transaction.IndexAdd(index, member);
        }
    }

    public static void Remove(StateTransaction transaction, string generation, Timer timer)
    {
        foreach (var (index, member) in Entries(generation, timer))
        {
            transaction.IndexRemove(index, member);
        }
    }

    /// <summary>Moves the timer's entries from how it was to how it is: only those that differ change.</summary>
    public static void Move(StateTransaction transaction, string generation, Timer before, Timer after)
    {
        var old = Entries(generation, before).ToHashSet();
        var current = Entries(generation, after).ToHashSet();
        foreach (var (index, member) in old.Where(e => !current.Contains(e)))
        {
            transaction.IndexRemove(index, member);
        }

        foreach (var (index, member) in current.Where(e => !old.Contains(e)))
        {
            transaction.IndexAdd(index, member);
        }
    }
}
