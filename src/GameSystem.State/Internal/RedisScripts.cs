namespace GameSystem.State.Internal;

/// <summary>
/// The Lua scripts behind every write: Redis runs a script atomically, so the version check
/// and the write it guards can never interleave with another client's write.
/// </summary>
/// <remarks>
/// <para>
/// An entry is one hash: field <c>v</c> holds the value, <c>ver</c> the version N, written
/// <c>N</c>, or <c>N.5</c> while the entry has a TTL (so a write without one knows to remove
/// it). A deleted entry leaves a tombstone: the hash without <c>v</c>, its <c>ver</c> written
/// <c>-N</c>, expiring after the retention, so a re-created entry continues the version
/// instead of starting again at 1. One HGET of <c>ver</c> thus tells a script the version,
/// whether the entry is live and whether it has a TTL; the value is read only when needed
/// (a conflict's report, an increment's check). Arguments use -1 for "no expected version"
/// and 0 for "no TTL".
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
        local x = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
        local stored = x >= 0 and math.floor(x) or -x
        local cur = x > 0 and stored or 0
        local expected = tonumber(ARGV[2])
        if expected >= 0 and cur ~= expected then
          return {0, cur, x > 0 and redis.call('HGET', KEYS[1], 'v') or ''}
        end
        local ver = stored + 1
        local ttl = tonumber(ARGV[3])
        if ttl > 0 then
          redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ver + 0.5)
          redis.call('PEXPIRE', KEYS[1], ttl)
        else
          redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ver)
          if x ~= stored then
            redis.call('PERSIST', KEYS[1])
          end
        end
        return {1, ver}
        """;

    /// <summary>KEYS[1] key; ARGV expected version, tombstone retention in ms. Returns {1, 0} or {0, version, value}.</summary>
    public const string Delete = """
        local x = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
        local cur = x > 0 and math.floor(x) or 0
        local expected = tonumber(ARGV[1])
        if expected >= 0 and cur ~= expected then
          return {0, cur, x > 0 and redis.call('HGET', KEYS[1], 'v') or ''}
        end
        if x > 0 then
          redis.call('HDEL', KEYS[1], 'v')
          redis.call('HSET', KEYS[1], 'ver', -cur)
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return {1, 0}
        """;

    /// <summary>KEYS[1] key; ARGV delta, TTL in ms applied when the counter is created. Returns the new value.</summary>
    public const string Increment = """
        local x = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
        if x > 0 then
          local cur = redis.call('HGET', KEYS[1], 'v')
          if cur ~= '0' and (not string.match(cur, '^%-?[1-9]%d*$') or string.len(cur) > 17) then
            return redis.error_reply('not an integer')
          end
          local sum = tonumber(cur) + tonumber(ARGV[1])
          if sum > 9007199254740991 or sum < -9007199254740991 then
            return redis.error_reply('overflow: the sum passes the counter limit of 2^53 - 1')
          end
        end
        local value = redis.call('HINCRBY', KEYS[1], 'v', ARGV[1])
        if x > 0 then
          redis.call('HSET', KEYS[1], 'ver', x + 1)
        else
          local ver = -x + 1
          local ttl = tonumber(ARGV[2])
          if ttl > 0 then
            redis.call('HSET', KEYS[1], 'ver', ver + 0.5)
            redis.call('PEXPIRE', KEYS[1], ttl)
          else
            redis.call('HSET', KEYS[1], 'ver', ver)
            if x < 0 then
              redis.call('PERSIST', KEYS[1])
            end
          end
        end
        return value
        """;

    /// <summary>
    /// A transaction. ARGV: tombstone retention ms, the registrations the caller just made in the
    /// registry (<c>metaKeyIndex=score,…</c>, empty: none), the plan, then the values the plan's
    /// operations take, in order. The plan is one string of space-separated steps (one string
    /// rather than an argument per number: Redis makes a Lua string of every argument):
    /// <c>=k:v</c> requires key k at version v; <c>Sk:ttl</c> sets key k to the next value;
    /// <c>Dk</c> deletes; <c>Ik:delta:ttl</c> increments; <c>Ak</c> / <c>Rk</c> add / remove the
    /// next value as a member of index k; <c>Ok:m</c> appends the next value to outbox k, whose
    /// meta hash is key m. Conditions come first.
    /// Returns {1, results…} (S/D: version; I: version, value), {0, condition, version, value}
    /// on a conflict, {2, meta key index} when that outbox must first be listed in the registry
    /// (it is not, or the registration given is the one a relay is retiring), or
    /// {3, operation, reason} when an increment cannot apply. Everything is checked before the
    /// first write: Redis does not roll a script back.
    /// </summary>
    public const string Transaction = """
        local retention = tonumber(ARGV[1])
        local plan = ARGV[3]
        -- Each entry's version field is read once, by key position: it tells the version,
        -- whether the entry is live (above 0) and whether it has a TTL (a .5 fraction).
        local xs = {}
        local c = 0
        for k, expected in string.gmatch(plan, '=(%d+):(%d+)') do
          c = c + 1
          k = tonumber(k)
          local x = xs[k]
          if x == nil then
            x = tonumber(redis.call('HGET', KEYS[k], 'ver') or '0')
            xs[k] = x
          end
          local cur = x > 0 and x - x % 1 or 0
          if cur ~= tonumber(expected) then
            return {0, c, cur, x > 0 and redis.call('HGET', KEYS[k], 'v') or ''}
          end
        end
        local function read(k)
          local x = xs[k]
          if x == nil then
            x = tonumber(redis.call('HGET', KEYS[k], 'ver') or '0')
            xs[k] = x
          end
          return x
        end
        -- Increments and outbox appends can be refused: check them all before the first write.
        if string.find(plan, '[IO]') then
          local registered = {}
          for index, score in string.gmatch(ARGV[2], '(%d+)=([^,]+)') do
            registered[tonumber(index)] = score
          end
          local i = 0
          for code, k, a in string.gmatch(plan, '([SDIARO])(%d+):?(%-?%d*)') do
            i = i + 1
            if code == 'I' then
              k = tonumber(k)
              local cur = read(k) > 0 and redis.call('HGET', KEYS[k], 'v')
              if cur then
                if cur ~= '0' and (not string.match(cur, '^%-?[1-9]%d*$') or string.len(cur) > 17) then
                  return {3, i, 'does not hold an integer'}
                end
                local sum = tonumber(cur) + tonumber(a)
                if sum > 9007199254740991 or sum < -9007199254740991 then
                  return {3, i, 'would pass the counter limit of 2^53 - 1'}
                end
              end
            elseif code == 'O' then
              local meta = tonumber(a)
              local state = redis.call('HGET', KEYS[meta], 'state')
              local score = registered[meta]
              if (score == nil and state ~= 'r') or (score ~= nil and state == 'x:' .. score) then
                return {2, meta}
              end
            end
          end
        end
        local out = {1}
        local v = 4
        local now = nil
        for code, ki, a, b in string.gmatch(plan, '([SDIARO])(%d+):?(%-?%d*):?(%d*)') do
          ki = tonumber(ki)
          local k = KEYS[ki]
          if code == 'S' then
            local x = read(ki)
            local stored = x >= 0 and x - x % 1 or -x
            local ver = stored + 1
            local ttl = tonumber(a)
            if ttl > 0 then
              redis.call('HSET', k, 'v', ARGV[v], 'ver', ver + 0.5)
              redis.call('PEXPIRE', k, ttl)
            else
              redis.call('HSET', k, 'v', ARGV[v], 'ver', ver)
              if x ~= stored then
                redis.call('PERSIST', k)
              end
            end
            v = v + 1
            out[#out + 1] = ver
          elseif code == 'D' then
            local x = read(ki)
            if x > 0 then
              redis.call('HDEL', k, 'v')
              redis.call('HSET', k, 'ver', -(x - x % 1))
              redis.call('PEXPIRE', k, retention)
            end
            out[#out + 1] = 0
          elseif code == 'I' then
            local x = read(ki)
            local value = redis.call('HINCRBY', k, 'v', a)
            local ver
            if x > 0 then
              ver = x - x % 1 + 1
              redis.call('HSET', k, 'ver', x + 1)
            else
              ver = -x + 1
              local ttl = tonumber(b)
              if ttl > 0 then
                redis.call('HSET', k, 'ver', ver + 0.5)
                redis.call('PEXPIRE', k, ttl)
              else
                redis.call('HSET', k, 'ver', ver)
                if x < 0 then
                  redis.call('PERSIST', k)
                end
              end
            end
            out[#out + 1] = ver
            out[#out + 1] = value
          elseif code == 'A' then
            redis.call('ZADD', k, 0, ARGV[v])
            v = v + 1
          elseif code == 'R' then
            redis.call('ZREM', k, ARGV[v])
            v = v + 1
          else
            local meta = KEYS[tonumber(a)]
            if not now then
              local t = redis.call('TIME')
              now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            local seq = redis.call('HINCRBY', meta, 'seq', 1)
            redis.call('ZADD', k, seq, string.format('%d:%d:', seq, now) .. ARGV[v])
            redis.call('HSET', meta, 'last', now, 'state', 'r')
            v = v + 1
          end
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
