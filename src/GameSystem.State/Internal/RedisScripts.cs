namespace GameSystem.State.Internal;

/// <summary>
/// The Lua scripts behind every write: Redis runs a script atomically, so the version check
/// and the write it guards can never interleave with another client's write.
/// </summary>
/// <remarks>
/// <para>
/// An entry is one hash: field <c>v</c> holds the value, <c>ver</c> the version, <c>t</c> is
/// present while it has a TTL (so a write without one knows to remove it). A deleted
/// entry leaves a tombstone (the hash without <c>v</c>, expiring after the retention) so a
/// re-created entry continues the version instead of starting again at 1. Arguments use -1
/// for "no expected version" and 0 for "no TTL".
/// </para>
/// <para>
/// An index is a sorted set whose members all have score 0, so Redis orders them by their
/// bytes. A partition's outbox is a sorted set scored by sequence, each member
/// <c>sequence:enqueued-ms:payload</c>, beside a hash holding the sequence counter
/// (<c>seq</c>), the last append (<c>last</c>), the lease (<c>owner</c>, <c>until</c>) and
/// the listing state (<c>state</c>). The registry of an outbox name is a sorted set of
/// partitions scored by a registration count (ZINCRBY), so every registration has its own
/// score. A partition's <c>state</c> is <c>r</c> (listed) or <c>x:S</c> (a relay is retiring
/// the registration scored S; absent: never listed). Times come from the server's clock (TIME),
/// so relays on machines with skewed clocks agree.
/// </para>
/// </remarks>
internal static class RedisScripts
{
    /// <summary>KEYS[1] key; ARGV value, expected version, TTL in ms. Returns {1, new version} or {0, version, value}.</summary>
    public const string Set = """
        local r = redis.call('HMGET', KEYS[1], 'v', 'ver', 't')
        local stored = tonumber(r[2] or '0')
        local cur = r[1] and stored or 0
        local expected = tonumber(ARGV[2])
        if expected >= 0 and cur ~= expected then
          return {0, cur, r[1] or ''}
        end
        local ver = stored + 1
        local ttl = tonumber(ARGV[3])
        if ttl > 0 then
          redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ver, 't', 1)
          redis.call('PEXPIRE', KEYS[1], ttl)
        else
          redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ver)
          if r[3] or (not r[1] and stored > 0) then
            redis.call('HDEL', KEYS[1], 't')
            redis.call('PERSIST', KEYS[1])
          end
        end
        return {1, ver}
        """;

    /// <summary>KEYS[1] key; ARGV expected version, tombstone retention in ms. Returns {1, 0} or {0, version, value}.</summary>
    public const string Delete = """
        local r = redis.call('HMGET', KEYS[1], 'v', 'ver')
        local cur = r[1] and tonumber(r[2]) or 0
        local expected = tonumber(ARGV[1])
        if expected >= 0 and cur ~= expected then
          return {0, cur, r[1] or ''}
        end
        if r[1] then
          redis.call('HDEL', KEYS[1], 'v', 't')
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return {1, 0}
        """;

    /// <summary>KEYS[1] key; ARGV delta, TTL in ms applied when the counter is created. Returns the new value.</summary>
    public const string Increment = """
        local r = redis.call('HMGET', KEYS[1], 'v', 'ver')
        local cur = r[1]
        if cur then
          if cur ~= '0' and (not string.match(cur, '^%-?[1-9]%d*$') or string.len(cur) > 17) then
            return redis.error_reply('not an integer')
          end
          local sum = tonumber(cur) + tonumber(ARGV[1])
          if sum > 9007199254740991 or sum < -9007199254740991 then
            return redis.error_reply('overflow: the sum passes the counter limit of 2^53 - 1')
          end
        end
        local value = redis.call('HINCRBY', KEYS[1], 'v', ARGV[1])
        redis.call('HSET', KEYS[1], 'ver', tonumber(r[2] or '0') + 1)
        if not cur then
          local ttl = tonumber(ARGV[2])
          if ttl > 0 then
            redis.call('HSET', KEYS[1], 't', 1)
            redis.call('PEXPIRE', KEYS[1], ttl)
          elseif r[2] then
            redis.call('PERSIST', KEYS[1])
          end
        end
        return value
        """;

    /// <summary>
    /// A transaction. ARGV: tombstone retention ms, the registrations the caller just made in the
    /// registry (<c>metaKeyIndex=score,…</c>, empty: none), condition count C, C pairs
    /// (key index, expected version), operation count N, N quadruples (code, key index, a, b):
    /// S set (value, TTL ms), D delete, I increment (delta, TTL ms), A index add (member),
    /// R index remove (member), O enqueue (meta key index, payload).
    /// Returns {1, results…} (S/D: version; I: version, value), {0, condition, version, value}
    /// on a conflict, {2, meta key index} when that outbox must first be listed in the registry
    /// (it is not, or the registration given is the one a relay is retiring), or
    /// {3, operation, reason} when an increment cannot apply. Everything is checked before the
    /// first write: Redis does not roll a script back.
    /// </summary>
    public const string Transaction = """
        local retention = tonumber(ARGV[1])
        local registered = {}
        for index, score in string.gmatch(ARGV[2], '(%d+)=([^,]+)') do
          registered[tonumber(index)] = score
        end
        -- Each entry is read once: {value or false, stored version (a tombstone's too), has a TTL}.
        local seen = {}
        local function read(k)
          local m = seen[k]
          if not m then
            local r = redis.call('HMGET', k, 'v', 'ver', 't')
            m = {r[1], tonumber(r[2] or '0'), r[3]}
            seen[k] = m
          end
          return m
        end
        local p = 4
        for i = 1, tonumber(ARGV[3]) do
          local m = read(KEYS[tonumber(ARGV[p])])
          local cur = m[1] and m[2] or 0
          if cur ~= tonumber(ARGV[p + 1]) then
            return {0, i, cur, m[1] or ''}
          end
          p = p + 2
        end
        local n = tonumber(ARGV[p])
        p = p + 1
        local first = p
        for i = 1, n do
          local code = ARGV[p]
          if code == 'I' then
            local cur = read(KEYS[tonumber(ARGV[p + 1])])[1]
            if cur then
              if cur ~= '0' and (not string.match(cur, '^%-?[1-9]%d*$') or string.len(cur) > 17) then
                return {3, i, 'does not hold an integer'}
              end
              local sum = tonumber(cur) + tonumber(ARGV[p + 2])
              if sum > 9007199254740991 or sum < -9007199254740991 then
                return {3, i, 'would pass the counter limit of 2^53 - 1'}
              end
            end
          elseif code == 'O' then
            local meta = tonumber(ARGV[p + 2])
            local state = redis.call('HGET', KEYS[meta], 'state')
            local score = registered[meta]
            if (score == nil and state ~= 'r') or (score ~= nil and state == 'x:' .. score) then
              return {2, meta}
            end
          end
          p = p + 4
        end
        p = first
        local out = {1}
        local now = nil
        for i = 1, n do
          local code = ARGV[p]
          local k = KEYS[tonumber(ARGV[p + 1])]
          if code == 'S' then
            local m = read(k)
            local ver = m[2] + 1
            local ttl = tonumber(ARGV[p + 3])
            if ttl > 0 then
              redis.call('HSET', k, 'v', ARGV[p + 2], 'ver', ver, 't', 1)
              redis.call('PEXPIRE', k, ttl)
            else
              redis.call('HSET', k, 'v', ARGV[p + 2], 'ver', ver)
              if m[3] or (not m[1] and m[2] > 0) then
                redis.call('HDEL', k, 't')
                redis.call('PERSIST', k)
              end
            end
            out[#out + 1] = ver
          elseif code == 'D' then
            if read(k)[1] then
              redis.call('HDEL', k, 'v', 't')
              redis.call('PEXPIRE', k, retention)
            end
            out[#out + 1] = 0
          elseif code == 'I' then
            local m = read(k)
            local value = redis.call('HINCRBY', k, 'v', ARGV[p + 2])
            local ver = m[2] + 1
            redis.call('HSET', k, 'ver', ver)
            if not m[1] then
              local ttl = tonumber(ARGV[p + 3])
              if ttl > 0 then
                redis.call('HSET', k, 't', 1)
                redis.call('PEXPIRE', k, ttl)
              elseif m[2] > 0 then
                redis.call('PERSIST', k)
              end
            end
            out[#out + 1] = ver
            out[#out + 1] = value
          elseif code == 'A' then
            redis.call('ZADD', k, 0, ARGV[p + 2])
          elseif code == 'R' then
            redis.call('ZREM', k, ARGV[p + 2])
          elseif code == 'O' then
            local meta = KEYS[tonumber(ARGV[p + 2])]
            if not now then
              local t = redis.call('TIME')
              now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            local seq = redis.call('HINCRBY', meta, 'seq', 1)
            redis.call('ZADD', k, seq, string.format('%d:%d:', seq, now) .. ARGV[p + 3])
            redis.call('HSET', meta, 'last', now, 'state', 'r')
          end
          p = p + 4
        end
        return out
        """;

    /// <summary>
    /// KEYS outbox, meta; ARGV owner, lease ms, most messages. Returns {claimed (0/1), pending,
    /// last append ms, oldest member or '', messages…}; takes no lease when the outbox is empty.
    /// </summary>
    public const string ClaimOutbox = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local pending = redis.call('ZCARD', KEYS[1])
        local last = redis.call('HGET', KEYS[2], 'last') or '0'
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1] or ''
        local owner = redis.call('HGET', KEYS[2], 'owner')
        if owner and owner ~= ARGV[1] and tonumber(redis.call('HGET', KEYS[2], 'until') or '0') > now then
          return {0, pending, last, oldest}
        end
        if pending == 0 then
          return {1, 0, last, ''}
        end
        redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'until', now + tonumber(ARGV[2]))
        local reply = {1, pending, last, oldest}
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
          reply[#reply + 1] = member
        end
        return reply
        """;

    /// <summary>KEYS outbox, meta; ARGV owner, through sequence. Removes the delivered messages, ends the owner's lease, returns what is left.</summary>
    public const string CompleteOutbox = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        if redis.call('HGET', KEYS[2], 'owner') == ARGV[1] then
          redis.call('HDEL', KEYS[2], 'owner', 'until')
        end
        return redis.call('ZCARD', KEYS[1])
        """;

    /// <summary>KEYS registry; ARGV partition. Lists the partition with a score of its own; returns the score.</summary>
    public const string RegisterOutbox = """
        return redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
        """;

    /// <summary>
    /// KEYS outbox, meta; ARGV idle ms, the partition's registry score S. First step of retiring:
    /// if the outbox is empty, unleased and idle, marks it 'retiring registration S' (x:S), after
    /// which a transaction enqueueing there lists the partition anew first. Returns 1 when marked.
    /// </summary>
    public const string MarkOutboxRetiring = """
        if redis.call('ZCARD', KEYS[1]) > 0 then
          return 0
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        if tonumber(redis.call('HGET', KEYS[2], 'until') or '0') > now then
          return 0
        end
        if now - tonumber(redis.call('HGET', KEYS[2], 'last') or '0') < tonumber(ARGV[1]) then
          return 0
        end
        redis.call('HSET', KEYS[2], 'state', 'x:' .. ARGV[2])
        return 1
        """;

    /// <summary>
    /// KEYS registry; ARGV partition, score S. Last step of retiring: forgets the partition only if
    /// its registration is still the one scored S (a newer one was made by a transaction that saw
    /// the mark, and stays). Returns 1 when forgotten.
    /// </summary>
    public const string ForgetOutboxRegistration = """
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
          redis.call('ZREM', KEYS[1], ARGV[1])
          return 1
        end
        return 0
        """;
}
