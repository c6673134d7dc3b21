namespace GameSystem.Cli.Internal;

/// <summary>The user asked for something gs cannot do as written; the message says what to change.</summary>
internal sealed class UsageException(string message) : Exception(message);
