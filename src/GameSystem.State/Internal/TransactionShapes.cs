using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace GameSystem.State.Internal;

/// <summary>
/// Straight-line Lua scripts for transaction shapes, like prepared statements. A shape is a
/// transaction's steps without their numbers and values (<c>=1 =2 S1 S2 A3</c>); a service
/// builds the same few shapes over and over, so each is turned once into a script that does
/// exactly its steps, with no plan to parse, and then runs by SHA. The semantics, checks and
/// replies are those of <see cref="RedisScripts.Transaction"/>, which runs every transaction
/// too large (or too unusual, once the cache is full) for a shape of its own.
/// </summary>
/// <remarks>
/// ARGV of a shape's script: the registrations (as for the general script) when the shape
/// enqueues, then the numbers of the steps in order (a condition's version; a set with a TTL's
/// milliseconds; an increment's delta and TTL ms), then the values (a set's value, an index
/// member, an outbox message) in order. The tombstone retention is written into the script,
/// and a set without a TTL (<c>S</c>, against <c>T</c> with one) takes no number: a shape's
/// call carries nothing the hand-written script for it would not.
/// </remarks>
internal static class TransactionShapes
{
    /// <summary>Steps above this go to the general script (Lua allows 200 locals a function).</summary>
    public const int MaxSteps = 24;

    /// <summary>The longest shape text: 24 steps of at most <c>Onn:mm </c>.</summary>
    public const int MaxShapeLength = MaxSteps * 8;

    private const int MaxShapes = 512;
    private static readonly ConcurrentDictionary<string, RedisScript> Scripts = new(StringComparer.Ordinal);

    // Looked up by the characters the plan wrote into a stack buffer: a shape seen before
    // costs no string.
    private static readonly ConcurrentDictionary<string, RedisScript>.AlternateLookup<ReadOnlySpan<char>> ScriptsBySpan =
        Scripts.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The script of <paramref name="shape"/>; null when the cache is full and the shape is new.</summary>
    public static RedisScript? For(ReadOnlySpan<char> shape)
    {
        if (ScriptsBySpan.TryGetValue(shape, out var script))
        {
            return script;
        }

        return Scripts.Count >= MaxShapes ? null : Scripts.GetOrAdd(shape.ToString(), s => new RedisScript(Compile(s)));
    }

    /// <summary>The Lua of one shape (space-separated steps: <c>=k</c>, <c>Sk</c>, <c>Tk</c>, <c>Dk</c>, <c>Ik</c>, <c>Ak</c>, <c>Rk</c>, <c>Ok:m</c>).</summary>
    internal static string Compile(string shape)
    {
        var steps = shape.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Step.Parse).ToList();
        var enqueues = steps.Any(s => s.Code == 'O');
        var first = enqueues ? 2 : 1;
        var numbers = first;
        foreach (var step in steps)
        {
            numbers += step.Code switch { '=' or 'T' => 1, 'I' => 2, _ => 0 };
        }

        var lua = new StringBuilder();
        var read = new HashSet<int>();
        void Read(int key)
        {
            if (read.Add(key))
            {
                lua.Append(Invariant($"local x{key} = tonumber(redis.call('HGET', KEYS[{key}], 'ver') or '0')\n"));
            }
        }

        if (steps.Any(s => s.Code == 'D'))
        {
            lua.Append(Invariant($"local retention = {(long)StateKeys.TombstoneRetention.TotalMilliseconds}\n"));
        }

        var number = first;
        var condition = 0;
        foreach (var step in steps.Where(s => s.Code == '='))
        {
            condition++;
            Read(step.Key);
            lua.Append(Invariant($"""
                do
                  local cur = x{step.Key} > 0 and x{step.Key} - x{step.Key} % 1 or 0
                  if cur ~= tonumber(ARGV[{number++}]) then
                    return {"{"}0, {condition}, cur, x{step.Key} > 0 and redis.call('HGET', KEYS[{step.Key}], 'v') or ''{"}"}
                  end
                end

                """));
        }

        // Checks of everything that can still refuse, before the first write.
        var operations = steps.Where(s => s.Code != '=').ToList();
        var checkNumber = number;
        if (enqueues)
        {
            lua.Append("""
                local registered = {}
                for index, score in string.gmatch(ARGV[1], '(%d+)=([^,]+)') do
                  registered[tonumber(index)] = score
                end

                """);
        }

        for (var i = 0; i < operations.Count; i++)
        {
            var step = operations[i];
            switch (step.Code)
            {
                case 'T':
                    checkNumber++;
                    break;
                case 'I':
                    Read(step.Key);
                    lua.Append(Invariant($$"""
                        if x{{step.Key}} > 0 then
                          local cur = redis.call('HGET', KEYS[{{step.Key}}], 'v')
                          if cur ~= '0' and (not string.match(cur, '^%-?[1-9]%d*$') or string.len(cur) > 17) then
                            return {3, {{i + 1}}, 'does not hold an integer'}
                          end
                          local sum = tonumber(cur) + tonumber(ARGV[{{checkNumber}}])
                          if sum > 9007199254740991 or sum < -9007199254740991 then
                            return {3, {{i + 1}}, 'would pass the counter limit of 2^53 - 1'}
                          end
                        end

                        """));
                    checkNumber += 2;
                    break;
                case 'O':
                    lua.Append(Invariant($$"""
                        do
                          local state = redis.call('HGET', KEYS[{{step.Meta}}], 'state')
                          local score = registered[{{step.Meta}}]
                          if (score == nil and state ~= 'r') or (score ~= nil and state == 'x:' .. score) then
                            return {2, {{step.Meta}}}
                          end
                        end

                        """));
                    break;
            }
        }

        var value = numbers;
        var results = new List<string>();
        var timed = false;
        for (var i = 0; i < operations.Count; i++)
        {
            var step = operations[i];
            var k = step.Key;
            switch (step.Code)
            {
                case 'S' or 'T':
                    // Without a TTL (S) a set drops the one the entry had (a version N.5) or a
                    // tombstone's expiry; with one (T) it sets it.
                    Read(k);
                    results.Add($"r{i}");
                    lua.Append(Invariant($$"""
                        local r{{i}}
                        do
                          local stored = x{{k}} >= 0 and x{{k}} - x{{k}} % 1 or -x{{k}}
                          r{{i}} = stored + 1

                        """));
                    lua.Append(step.Code == 'S'
                        ? Invariant($$"""
                              redis.call('HSET', KEYS[{{k}}], 'v', ARGV[{{value}}], 'ver', r{{i}})
                              if x{{k}} ~= stored then
                                redis.call('PERSIST', KEYS[{{k}}])
                              end

                            """)
                        : Invariant($$"""
                              redis.call('HSET', KEYS[{{k}}], 'v', ARGV[{{value}}], 'ver', r{{i}} + 0.5)
                              redis.call('PEXPIRE', KEYS[{{k}}], ARGV[{{number++}}])

                            """));
                    lua.Append("end\n\n");
                    value++;
                    break;
                case 'D':
                    Read(k);
                    results.Add("0");
                    lua.Append(Invariant($"""
                        if x{k} > 0 then
                          redis.call('HDEL', KEYS[{k}], 'v')
                          redis.call('HSET', KEYS[{k}], 'ver', -(x{k} - x{k} % 1))
                          redis.call('PEXPIRE', KEYS[{k}], retention)
                        end

                        """));
                    break;
                case 'I':
                    Read(k);
                    results.Add($"r{i}");
                    results.Add($"n{i}");
                    lua.Append(Invariant($$"""
                        local n{{i}} = redis.call('HINCRBY', KEYS[{{k}}], 'v', ARGV[{{number}}])
                        local r{{i}}
                        if x{{k}} > 0 then
                          r{{i}} = x{{k}} - x{{k}} % 1 + 1
                          redis.call('HSET', KEYS[{{k}}], 'ver', x{{k}} + 1)
                        else
                          r{{i}} = -x{{k}} + 1
                          local ttl = tonumber(ARGV[{{number + 1}}])
                          if ttl > 0 then
                            redis.call('HSET', KEYS[{{k}}], 'ver', r{{i}} + 0.5)
                            redis.call('PEXPIRE', KEYS[{{k}}], ttl)
                          else
                            redis.call('HSET', KEYS[{{k}}], 'ver', r{{i}})
                            if x{{k}} < 0 then
                              redis.call('PERSIST', KEYS[{{k}}])
                            end
                          end
                        end

                        """));
                    number += 2;
                    break;
                case 'A' or 'R':
                    lua.Append(Invariant($"redis.call('{(step.Code == 'A' ? "ZADD', KEYS[" + k + "], 0" : "ZREM', KEYS[" + k + "]")}, ARGV[{value++}])\n"));
                    break;
                default:
                    if (!timed)
                    {
                        timed = true;
                        lua.Append("""
                            local t = redis.call('TIME')
                            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

                            """);
                    }

                    lua.Append(Invariant($"""
                        do
                          local seq = redis.call('HINCRBY', KEYS[{step.Meta}], 'seq', 1)
                          redis.call('ZADD', KEYS[{k}], seq, string.format('%d:%d:', seq, now) .. ARGV[{value++}])
                          redis.call('HSET', KEYS[{step.Meta}], 'last', now, 'state', 'r')
                        end

                        """));
                    break;
            }
        }

        lua.Append("return {1").Append(string.Concat(results.Select(r => ", " + r))).Append("}\n");
        return lua.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private readonly record struct Step(char Code, int Key, int Meta)
    {
        public static Step Parse(string token)
        {
            var colon = token.IndexOf(':', StringComparison.Ordinal);
            var key = int.Parse(colon < 0 ? token.AsSpan(1) : token.AsSpan(1, colon - 1), CultureInfo.InvariantCulture);
            var meta = colon < 0 ? 0 : int.Parse(token.AsSpan(colon + 1), CultureInfo.InvariantCulture);
            return new Step(token[0], key, meta);
        }
    }
}
