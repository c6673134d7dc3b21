namespace GameSystem.Services.StateManager.Internal;

/// <summary>
/// The deployment's levels: level <c>L</c> starts at <c>base × (L − 1)^exponent</c> total
/// experience (level 1 at 0), up to a maximum level. Derived from experience on every read, so
/// a changed curve applies to every player at once and a rollback needs no level of its own.
/// </summary>
internal sealed class LevelCurve
{
    private readonly long[] _thresholds;

    public LevelCurve(long baseExperience, double exponent, int maxLevel)
    {
        _thresholds = new long[maxLevel];
        for (var level = 2; level <= maxLevel; level++)
        {
            var start = baseExperience * Math.Pow(level - 1, exponent);
            _thresholds[level - 1] = start >= long.MaxValue / 2 ? long.MaxValue / 2 : Math.Max(_thresholds[level - 2] + 1, (long)Math.Round(start));
        }
    }

    public int MaxLevel => _thresholds.Length;

    /// <summary>The level <paramref name="experience"/> reaches.</summary>
    public int LevelOf(long experience)
    {
        var at = Array.BinarySearch(_thresholds, experience);
        return Math.Min(at >= 0 ? at + 1 : ~at, MaxLevel);
    }

    /// <summary>Total experience at which the level after <paramref name="level"/> starts; 0 at the maximum.</summary>
    public long NextThreshold(int level) => level >= MaxLevel ? 0 : _thresholds[level];
}
