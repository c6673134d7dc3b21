using System.Globalization;

namespace GameSystem.State;

/// <summary>The rules every store applies to keys and arguments.</summary>
public static class StateKeys
{
    /// <summary>The longest key accepted, in characters.</summary>
    public const int MaxLength = 512;

    /// <summary>The largest page a listing returns.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>
    /// How long a deleted entry's version is remembered, so an entry re-created within it
    /// continues the version (a writer holding a pre-delete version cannot match it).
    /// </summary>
    public static readonly TimeSpan TombstoneRetention = TimeSpan.FromHours(24);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is a valid key.</summary>
    public static void Validate(string key, string paramName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (key.Length == 0)
        {
            throw new ArgumentException("A state key must not be empty.", paramName);
        }

        ValidateCharacters(key, paramName, "key");
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

    private static void ValidateCharacters(string value, string paramName, string what)
    {
        if (value.Length > MaxLength)
        {
            throw new ArgumentException($"A state {what} is at most {MaxLength} characters; this one has {value.Length}.", paramName);
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"A state {what} must not contain whitespace or control characters; it has U+{(int)c:X4} at index {i}."),
                    paramName);
            }
        }
    }
}
