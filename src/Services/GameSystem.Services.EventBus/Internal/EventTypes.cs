namespace GameSystem.Services.EventBus.Internal;

/// <summary>
/// The shapes of event types, type patterns, stream and consumer names. An event type is
/// dotted tokens of letters, digits, <c>-</c> and <c>_</c> (<c>quest.completed</c>), so it is
/// also a run of NATS subject tokens; a pattern may use <c>*</c> for one token and <c>&gt;</c>
/// (last) for the rest, exactly as NATS subject wildcards do.
/// </summary>
internal static class EventTypes
{
    public const int MaxTypeLength = 200;
    public const int MaxStreamNameLength = 64;
    public const int MaxConsumerNameLength = 128;
    public const int MaxEventIdLength = 256;

    public static bool IsValidStreamName(string name) => name.Length is > 0 and <= MaxStreamNameLength && name.All(IsNameChar);

    /// <summary>Null when <paramref name="type"/> is a valid event type, else what is wrong, phrased to follow the value.</summary>
    public static string? CheckType(string type)
    {
        if (type.Length == 0)
        {
            return "is empty: give a dotted event type such as quest.completed.";
        }

        if (type.Length > MaxTypeLength)
        {
            return $"is {type.Length} characters; an event type has at most {MaxTypeLength}.";
        }

        // Token by token over the span: this runs on every publish, so it allocates nothing
        // unless the type is wrong.
        var rest = type.AsSpan();
        while (true)
        {
            var end = rest.IndexOf('.');
            var token = end < 0 ? rest : rest[..end];
            if (token.Length == 0)
            {
                return "has an empty token: tokens are separated by single dots, with none at either end (quest.completed).";
            }

            if (token is "*" or ">")
            {
                return $"holds the wildcard '{token}'; an event type names one type (wildcards are for type patterns and filters).";
            }

            foreach (var c in token)
            {
                if (!IsNameChar(c))
                {
                    return $"has the token '{token}'; tokens are letters, digits, '-' and '_'.";
                }
            }

            if (end < 0)
            {
                break;
            }

            rest = rest[(end + 1)..];
        }

        return null;
    }

    /// <summary>Null when <paramref name="pattern"/> is a valid type pattern, else what is wrong.</summary>
    public static string? CheckPattern(string pattern)
    {
        if (pattern.Length == 0)
        {
            return "is empty: give a pattern such as quest.>, npc.*.spawned or > for every type.";
        }

        if (pattern.Length > MaxTypeLength)
        {
            return $"is {pattern.Length} characters; a type pattern has at most {MaxTypeLength}.";
        }

        var tokens = pattern.Split('.');
        for (var i = 0; i < tokens.Length; i++)
        {
            var token = tokens[i];
            if (token.Length == 0)
            {
                return "has an empty token: tokens are separated by single dots, with none at either end (quest.>).";
            }

            if (token == ">" && i != tokens.Length - 1)
            {
                return "has '>' before its last token; '>' matches the rest of a type, so it can only come last.";
            }

            if (token is not ("*" or ">") && !token.All(IsNameChar))
            {
                return $"has the token '{token}'; tokens are letters, digits, '-' and '_', or the wildcards '*' (one token) and '>' (the rest).";
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="type"/> (valid) matches <paramref name="pattern"/> (valid), as NATS matches subjects.</summary>
    public static bool Matches(string pattern, string type)
    {
        var p = pattern.AsSpan();
        var t = type.AsSpan();
        while (true)
        {
            var pEnd = p.IndexOf('.');
            var pToken = pEnd < 0 ? p : p[..pEnd];
            if (pToken is ">")
            {
                return t.Length > 0;
            }

            if (t.Length == 0)
            {
                return false;
            }

            var tEnd = t.IndexOf('.');
            var tToken = tEnd < 0 ? t : t[..tEnd];
            if (pToken is not "*" && !pToken.SequenceEqual(tToken))
            {
                return false;
            }

            if (pEnd < 0 || tEnd < 0)
            {
                return pEnd < 0 && tEnd < 0;
            }

            p = p[(pEnd + 1)..];
            t = t[(tEnd + 1)..];
        }
    }

    /// <summary>
    /// Null when <paramref name="name"/> is a valid durable consumer name: dotted tokens of
    /// letters, digits, <c>-</c> and <c>_</c>, e.g. <c>quest-system.world-sync</c>.
    /// </summary>
    public static string? CheckConsumerName(string name)
    {
        if (name.Length > MaxConsumerNameLength)
        {
            return $"is {name.Length} characters; a consumer name has at most {MaxConsumerNameLength}.";
        }

        foreach (var token in name.Split('.'))
        {
            if (token.Length == 0 || !token.All(IsNameChar))
            {
                return "must be dotted tokens of letters, digits, '-' and '_', e.g. quest-system.world-sync.";
            }
        }

        return null;
    }

    /// <summary>
    /// The JetStream durable name of a consumer. JetStream names cannot hold dots, and '~'
    /// cannot appear in a consumer name, so the mapping is one-to-one.
    /// </summary>
    public static string ToDurableName(string consumerName) => consumerName.Replace('.', '~');

    /// <summary>The consumer name of a JetStream durable name written by <see cref="ToDurableName"/>.</summary>
    public static string FromDurableName(string durableName) => durableName.Replace('~', '.');

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
