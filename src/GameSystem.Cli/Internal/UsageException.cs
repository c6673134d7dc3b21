namespace GameSystem.Cli.Internal;

/// <summary>The user asked for something gs cannot do as written; the message says what to change.</summary>
/// <param name="message">What is wrong and, when gs can tell, what was meant.</param>
/// <param name="pointsToHelp">True when the command line itself is malformed, so the usage text helps.</param>
internal sealed class UsageException(string message, bool pointsToHelp = false) : Exception(message)
{
    public bool PointsToHelp { get; } = pointsToHelp;
}
