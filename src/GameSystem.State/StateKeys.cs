using System.Globalization;

namespace GameSystem.State;

/// <summary>The rules every store applies to keys and arguments.</summary>
public static class StateKeys
{
    /// <summary>The longest key accepted, in characters.</summary>
    public const int MaxLength = 512;

    /// <summary>The largest page a listing returns.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>The most operations one transaction may hold (a 1,000-entry import with its index updates fits).</summary>
    public const int MaxTransactionOperations = 4096;

    /// <summary>The most bytes of values, members and outbox messages one transaction may carry.</summary>
    public const int MaxTransactionBytes = 8 * 1024 * 1024;

    /// <summary>
    /// The largest magnitude a counter may reach (2^53 - 1): every counter value is then exact
    /// as a Redis Lua number and as a JSON number, so an overflow is detected before anything
    /// is written rather than halfway through a transaction.
    /// </summary>
    public const long MaxCounter = (1L << 53) - 1;

    /// <summary>
    /// How long a deleted entry's version is remembered, so an entry re-created within it
    /// continues the version (a writer holding a pre-delete version cannot match it).
    /// </summary>
    public static readonly TimeSpan TombstoneRetention = TimeSpan.FromHours(24);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is a valid key: 1 to
    /// <see cref="MaxLength"/> characters without whitespace or control characters, naming its
    /// partition in braces exactly once (<c>time-manager/{world-7}/clock</c>).
    /// </summary>
    public static void Validate(string key, string paramName = "key") => _ = PartitionRange(key, paramName);

    /// <summary>
    /// The partition a key names between its braces (<c>world-7</c> for
    /// <c>time-manager/{world-7}/clock</c>). Keys of one partition can change together in one
    /// transaction and, on a Redis Cluster, live on one shard (the braces are a Redis hash tag).
    /// </summary>
    /// <exception cref="ArgumentException">The key is invalid or outside any partition.</exception>
    public static string PartitionOf(string key, string paramName = "key") => key[PartitionRange(key, paramName)];

    /// <summary>Validates <paramref name="key"/> and returns where its partition is, without allocating.</summary>
    internal static Range PartitionRange(string key, string paramName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (key.Length == 0)
        {
            throw new ArgumentException("A state key must not be empty.", paramName);
        }

        ValidateCharacters(key, paramName, "key");
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var close = key.IndexOf('}', StringComparison.Ordinal);
        if (open < 0 || close < open + 2 || key.IndexOf('{', open + 1) >= 0 || key.IndexOf('}', close + 1) >= 0)
        {
            throw new ArgumentException(
                $"The state key '{key}' is outside any partition: a key names its partition once, in braces, e.g. 'time-manager/{{world-7}}/clock'. " +
                "Keys of one partition can change together in a transaction and live on one Redis Cluster shard.",
                paramName);
        }

        return (open + 1)..close;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="partition"/> can go between
    /// a key's braces: 1 to 256 characters, no braces, whitespace or control characters.
    /// </summary>
    public static void ValidatePartition(string partition, string paramName = "partition")
    {
        ArgumentNullException.ThrowIfNull(partition, paramName);
        if (partition.Length is 0 or > 256)
        {
            throw new ArgumentException($"A partition is 1 to 256 characters; this one has {partition.Length}.", paramName);
        }

        ValidateCharacters(partition, paramName, "partition");
        if (partition.AsSpan().IndexOfAny('{', '}') is var at and >= 0)
        {
            throw new ArgumentException($"A partition must not contain braces; '{partition}' has '{partition[at]}' at index {at}.", paramName);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="member"/> is a valid index member.</summary>
    public static void ValidateMember(string member, string paramName = "member")
    {
        ArgumentNullException.ThrowIfNull(member, paramName);
        if (member.Length == 0)
        {
            throw new ArgumentException("An index member must not be empty.", paramName);
        }

        if (member.Length > MaxLength)
        {
            throw new ArgumentException($"An index member is at most {MaxLength} characters; this one has {member.Length}.", paramName);
        }

        for (var i = 0; i < member.Length; i++)
        {
            if (char.IsControl(member[i]) || (char.IsSurrogate(member[i]) && !IsPairedSurrogate(member, i)))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"An index member must not contain control characters or unpaired surrogates; it has U+{(int)member[i]:X4} at index {i}."),
                    paramName);
            }
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="outbox"/> names an outbox (a service name: lower-case letters, digits and '-').</summary>
    public static void ValidateOutbox(string outbox, string paramName = "outbox")
    {
        ArgumentNullException.ThrowIfNull(outbox, paramName);
        if (outbox.Length is 0 or > 64 || !outbox.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            throw new ArgumentException($"An outbox is named like a service: 1 to 64 lower-case letters, digits and '-'; got '{outbox}'.", paramName);
        }
    }

    internal static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ValidateCharacters(prefix, nameof(prefix), "prefix");
    }

    internal static void ValidateExpectedVersion(long? expectedVersion)
    {
        if (expectedVersion < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), expectedVersion, "An expected version is 0 (absent) or more.");
        }
    }

    internal static void ValidateTtl(TimeSpan? ttl)
    {
        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "A TTL must be positive; pass null for no expiry.");
        }
    }

    internal static void ValidatePageSize(int pageSize)
    {
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, $"A page size is 1 to {MaxPageSize}.");
        }
    }

    internal static void ValidateCounter(long value, string key)
    {
        if (value is > MaxCounter or < -MaxCounter)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The counter '{key}' would reach {value}, beyond the ±{MaxCounter} (2^53 - 1) a counter may hold."));
        }
    }

    private static bool IsPairedSurrogate(string value, int i) =>
        char.IsHighSurrogate(value[i])
            ? i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
            : i > 0 && char.IsHighSurrogate(value[i - 1]);

    private static void ValidateCharacters(string value, string paramName, string what)
    {
        if (value.Length > MaxLength)
        {
            throw new ArgumentException($"A state {what} is at most {MaxLength} characters; this one has {value.Length}.", paramName);
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is > ' ' and < '\u007F')
            {
                continue;
            }

            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"A state {what} must not contain whitespace or control characters; it has U+{(int)c:X4} at index {i}."),
                    paramName);
            }
        }
    }
}
