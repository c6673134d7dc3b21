namespace GameSystem.State.Internal;

/// <summary>
/// The Lua scripts behind every write: Redis runs a script atomically, so the version check
/// and the write it guards can never interleave with another client's write.
/// </summary>
/// <remarks>
/// An entry is one hash: field <c>v</c> holds the value, <c>ver</c> the version. A deleted
/// entry leaves a tombstone (the hash without <c>v</c>, expiring after the retention) so a
/// re-created entry continues the version instead of starting again at 1. Arguments use -1
/// for "no expected version" and 0 for "no TTL".
/// </remarks>
internal static class RedisScripts
{
    /// <summary>KEYS[1] key; ARGV value, expected version, TTL in ms. Returns {1, new version} or {0, version, value}.</summary>
    public const string Set = """
        local stored = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
        local live = redis.call('HEXISTS', KEYS[1], 'v') == 1
        local cur = live and stored or 0
        local expected = tonumber(ARGV[2])
        if expected >= 0 and cur ~= expected then
          return {0, cur, redis.call('HGET', KEYS[1], 'v')}
        end
        local ver = stored + 1
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ver)
        local ttl = tonumber(ARGV[3])
        if ttl > 0 then
          redis.call('PEXPIRE', KEYS[1], ttl)
        else
          redis.call('PERSIST', KEYS[1])
        end
        return {1, ver}
        """;

    /// <summary>KEYS[1] key; ARGV expected version, tombstone retention in ms. Returns {1, 0} or {0, version, value}.</summary>
    public const string Delete = """
        local live = redis.call('HEXISTS', KEYS[1], 'v') == 1
        local cur = live and tonumber(redis.call('HGET', KEYS[1], 'ver')) or 0
        local expected = tonumber(ARGV[1])
        if expected >= 0 and cur ~= expected then
          return {0, cur, redis.call('HGET', KEYS[1], 'v')}
        end
        if live then
          redis.call('HDEL', KEYS[1], 'v')
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return {1, 0}
        """;

    /// <summary>KEYS[1] key; ARGV delta, TTL in ms applied when the counter is created. Returns the new value.</summary>
    public const string Increment = """
        local created = redis.call('HEXISTS', KEYS[1], 'v') == 0
        local value = redis.call('HINCRBY', KEYS[1], 'v', ARGV[1])
        redis.call('HINCRBY', KEYS[1], 'ver', 1)
        local ttl = tonumber(ARGV[2])
        if created then
          if ttl > 0 then
            redis.call('PEXPIRE', KEYS[1], ttl)
          else
            redis.call('PERSIST', KEYS[1])
          end
        end
        return value
        """;
}
