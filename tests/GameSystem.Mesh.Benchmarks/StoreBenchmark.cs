using System.Globalization;
using GameSystem.State;
using GameSystem.Testing;
using StackExchange.Redis;

namespace GameSystem.Mesh.Benchmarks;

/// <summary>
/// The state store against raw StackExchange.Redis doing the same work on the same
/// redis-server, in one run: a read of value and version, a write at an expected version,
/// and a 3-key transaction (three writes at expected versions, all or nothing). Each caller
/// works on keys of its own, so no call conflicts.
/// </summary>
/// <remarks>
/// "The same work" means the same guarantees: the raw side is a hand-written service keeping
/// the store's layout (a hash of value and version per entry, versions that continue after a
/// delete, a TTL cleared by a write without one, a conflict that reports what the entry holds)
/// with Lua scripts written for exactly these operations and run by SHA. What the store adds
/// on top is its generality (any mix of conditions, writes, increments, index changes and
/// outbox appends in one script), its validation and its API. A bare compare-and-set without
/// those guarantees is cheaper still: <c>--bare-raw</c> measures against one instead.
/// </remarks>
internal static class StoreBenchmark
{
    // The store's guarantees for one write: versions continue after a delete (a tombstone
    // holds -N), a write without a TTL clears one (a version N.5 marks it), a conflict says
    // what the entry holds.
    private const string RawSet = """
        local x = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
        local stored = x >= 0 and x - x % 1 or -x
        local cur = x > 0 and stored or 0
        if cur ~= tonumber(ARGV[2]) then return {0, cur, x > 0 and redis.call('HGET', KEYS[1], 'v') or ''} end
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', stored + 1)
        if x ~= stored then redis.call('PERSIST', KEYS[1]) end
        return {1, stored + 1}
        """;

    private const string RawTransaction = """
        local xs = {}
        for i = 1, 3 do
          local x = tonumber(redis.call('HGET', KEYS[i], 'ver') or '0')
          local cur = x > 0 and x - x % 1 or 0
          if cur ~= tonumber(ARGV[i]) then return {0, i, cur, x > 0 and redis.call('HGET', KEYS[i], 'v') or ''} end
          xs[i] = x
        end
        local out = {1}
        for i = 1, 3 do
          local x = xs[i]
          local stored = x >= 0 and x - x % 1 or -x
          redis.call('HSET', KEYS[i], 'v', ARGV[3 + i], 'ver', stored + 1)
          if x ~= stored then redis.call('PERSIST', KEYS[i]) end
          out[#out + 1] = stored + 1
        end
        return out
        """;

    // --bare-raw: the least a compare-and-set does, without those guarantees.
    private const string BareSet = """
        local cur = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
        if cur ~= tonumber(ARGV[2]) then return {0, cur} end
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', cur + 1)
        return {1, cur + 1}
        """;

    private const string BareTransaction = """
        for i = 1, 3 do
          if tonumber(redis.call('HGET', KEYS[i], 'ver') or '0') ~= tonumber(ARGV[i]) then return {0, i} end
        end
        local out = {1}
        for i = 1, 3 do
          local ver = tonumber(ARGV[i]) + 1
          redis.call('HSET', KEYS[i], 'v', ARGV[3 + i], 'ver', ver)
          out[#out + 1] = ver
        end
        return out
        """;

    public static async Task<int> RunAsync(BenchmarkSettings settings)
    {
        settings = settings with { Concurrency = settings.ConcurrencyGiven ? settings.Concurrency : [1, 16, 64] };
        Console.WriteLine($"GameSystem state store benchmark: warm-up {settings.Warmup.TotalSeconds:0} s per side, {settings.Rounds} rounds of {settings.Window.TotalSeconds:0} s windows, concurrency {string.Join("/", settings.Concurrency)}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
        await using var redis = await RedisServerFixture.StartAsync();
        var options = ConfigurationOptions.Parse($"127.0.0.1:{redis.Port}");
        options.BacklogPolicy = BacklogPolicy.FailFast;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var database = connection.GetDatabase();
        var store = new RedisStateStore(connection, RedisStateStoreOptions.Default with { KeyPrefix = "bench:store:" });
        var server = connection.GetServers().Single();

        // INFO cpu needs admin mode: a connection of its own, so the measured one stays as any service's.
        var adminOptions = options.Clone();
        adminOptions.AllowAdmin = true;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(adminOptions);
        var adminServer = admin.GetServers().Single();
        var rawSet = await LuaScript.Prepare(settings.BareRaw ? BareSet : RawSet).LoadAsync(server);
        var rawTransaction = await LuaScript.Prepare(settings.BareRaw ? BareTransaction : RawTransaction).LoadAsync(server);
        Console.WriteLine(settings.BareRaw
            ? "Raw side: bare compare-and-set scripts, without the store's guarantees (--bare-raw)"
            : "Raw side: hand-written scripts with the store's guarantees (tombstone versions, TTL clearing, conflict reports)");
        byte[] value = [.. Enumerable.Repeat((byte)'x', 96)];
        Console.WriteLine($"Values of {value.Length} bytes; one redis-server {server.Version}, no persistence");

        // Each caller's keys, prepared up front so no caller blocks on set-up. The store's
        // versions carry on across windows: a caller's next write expects what its last wrote.
        var callers = settings.Concurrency.Append(16).Max();
        for (var w = 0; w < callers; w++)
        {
            await store.SetAsync($"get/{{g{w}}}/k", value);
        }

        for (var w = 0; w < callers; w++)
        {
            await database.HashSetAsync($"bench:raw:{{g{w}}}/k", [new HashEntry("v", value), new HashEntry("ver", 1)]);
        }

        var (setVersions, rawSetVersions) = (new long[callers], new long[callers]);
        var transactionVersions = Enumerable.Range(0, callers).Select(_ => new long[3]).ToArray();
        var rawTransactionVersions = Enumerable.Range(0, callers).Select(_ => new long[3]).ToArray();
        var workloads = new (string Name, Func<int, Func<ValueTask>> Raw, Func<int, Func<ValueTask>> Store)[]
        {
            ("get", w =>
            {
                RedisKey key = $"bench:raw:{{g{w}}}/k";
                RedisValue[] fields = ["v", "ver"];
                return async () =>
                {
                    var read = await database.HashGetAsync(key, fields);
                    if (read[1].IsNull)
                    {
                        throw new InvalidOperationException("raw get read nothing");
                    }
                };
            }, w =>
            {
                var key = $"get/{{g{w}}}/k";
                return async () =>
                {
                    if (await store.GetAsync(key) is null)
                    {
                        throw new InvalidOperationException("store get read nothing");
                    }
                };
            }),
            ("set with expected version", w =>
            {
                RedisKey key = $"bench:raw:{{s{w}}}/k";
                return async () =>
                {
                    var reply = (RedisResult[])(await database.ScriptEvaluateAsync(rawSet.Hash, [key], [value, rawSetVersions[w]]))!;
                    rawSetVersions[w] = (long)reply[0] == 1 ? (long)reply[1] : throw new InvalidOperationException("raw set conflicted");
                };
            }, w =>
            {
                var key = $"set/{{s{w}}}/k";
                return async () =>
                {
                    var result = await store.SetAsync(key, value, setVersions[w]);
                    setVersions[w] = result.Succeeded ? result.Version : throw new InvalidOperationException("store set conflicted");
                };
            }),
            ("3-key transaction", w =>
            {
                RedisKey[] keys = [$"bench:raw:{{t{w}}}/a", $"bench:raw:{{t{w}}}/b", $"bench:raw:{{t{w}}}/c"];
                var versions = rawTransactionVersions[w];
                return async () =>
                {
                    var reply = (RedisResult[])(await database.ScriptEvaluateAsync(rawTransaction.Hash, keys, [versions[0], versions[1], versions[2], value, value, value]))!;
                    if ((long)reply[0] != 1)
                    {
                        throw new InvalidOperationException("raw transaction conflicted");
                    }

                    for (var i = 0; i < 3; i++)
                    {
                        versions[i] = (long)reply[i + 1];
                    }
                };
            }, w =>
            {
                string[] keys = [$"tx/{{t{w}}}/a", $"tx/{{t{w}}}/b", $"tx/{{t{w}}}/c"];
                var versions = transactionVersions[w];
                return async () =>
                {
                    var result = await store.ExecuteAsync(new StateTransaction()
                        .Set(keys[0], value, versions[0])
                        .Set(keys[1], value, versions[1])
                        .Set(keys[2], value, versions[2]));
                    if (!result.Succeeded)
                    {
                        throw new InvalidOperationException("store transaction conflicted");
                    }

                    for (var i = 0; i < 3; i++)
                    {
                        versions[i] = result.VersionOf(keys[i]);
                    }
                };
            }),
        };

        if (settings.Only is { } only)
        {
            workloads = [.. workloads.Where(w => w.Name.StartsWith(only, StringComparison.Ordinal))];
        }

        var report = new List<(string Workload, int Concurrency, Figures Raw, Figures Store, Cpu RawCpu, Cpu StoreCpu, double Ratio)>();
        foreach (var (name, raw, measured) in workloads)
        {
            Console.WriteLine($"{name}: warming up …");
            await Load.RunAsync(raw, 16, settings.Warmup);
            await Load.RunAsync(measured, 16, settings.Warmup);
            foreach (var concurrency in settings.Concurrency)
            {
                var rawRounds = new List<(Figures Figures, Cpu Cpu)>();
                var storeRounds = new List<(Figures Figures, Cpu Cpu)>();
                for (var round = 0; round < settings.Rounds; round++)
                {
                    rawRounds.Add(await Cpu.MeasureAsync(adminServer, () => Load.RunAsync(raw, concurrency, settings.Window)));
                    storeRounds.Add(await Cpu.MeasureAsync(adminServer, () => Load.RunAsync(measured, concurrency, settings.Window)));
                    Console.WriteLine($"  {name} c={concurrency,-3} round {round + 1}: raw {rawRounds[^1].Figures} {rawRounds[^1].Cpu} | store {storeRounds[^1].Figures} {storeRounds[^1].Cpu}");
                }

                report.Add((name, concurrency, Figures.Median([.. rawRounds.Select(r => r.Figures)]), Figures.Median([.. storeRounds.Select(r => r.Figures)]),
                    Cpu.Median([.. rawRounds.Select(r => r.Cpu)]), Cpu.Median([.. storeRounds.Select(r => r.Cpu)]),
                    Figures.PairedRatio([.. rawRounds.Select(r => r.Figures)], [.. storeRounds.Select(r => r.Figures)])));
            }
        }

        Console.WriteLine();
        Console.WriteLine("Medians of the rounds (µs; allocations are bytes per call; CPU is µs per call of redis-server's main thread and of this process; store/raw is the median of the rounds' ratios):");
        Console.WriteLine("| work | in flight | raw calls/s | store calls/s | store/raw | raw p50 | store p50 | raw p99 | store p99 | raw B/call | store B/call | raw CPU redis/client | store CPU redis/client |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var passed = true;
        foreach (var (name, concurrency, r, s, rc, sc, ratio) in report)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {concurrency} | {r.CallsPerSecond:0} | {s.CallsPerSecond:0} | {ratio:P1} | {r.P50Micros:0} | {s.P50Micros:0} | {r.P99Micros:0} | {s.P99Micros:0} | {r.BytesPerCall:0} | {s.BytesPerCall:0} | {rc.RedisMicros:0.0} / {rc.ClientMicros:0.0} | {sc.RedisMicros:0.0} / {sc.ClientMicros:0.0} |"));
            if (concurrency >= 16 && ratio < 0.85)
            {
                passed = false;
                Console.WriteLine($"  target missed: {name} at {concurrency} in flight is {ratio:P1} of raw (target ≥ 85 %)");
            }
        }

        Console.WriteLine(passed ? "Targets met: ≥ 85 % of raw throughput at 16 and 64 in flight." : "Targets NOT met (see above).");
        return passed ? 0 : 1;
    }
}

/// <summary>
/// CPU spent per call during one window: by redis-server's main thread (INFO cpu, which the
/// scripts run on) and by this process (both sides' clients run here). On two cores the two
/// compete, so a call's cost is the sum; where a layer loses throughput shows in which grew.
/// </summary>
internal readonly record struct Cpu(double RedisMicros, double ClientMicros)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"cpu redis {RedisMicros,5:0.0} client {ClientMicros,5:0.0} µs/call");

    public static async Task<(Figures Figures, Cpu Cpu)> MeasureAsync(IServer server, Func<Task<Figures>> window)
    {
        var process = System.Diagnostics.Process.GetCurrentProcess();
        var redisBefore = await RedisSecondsAsync(server);
        process.Refresh();
        var clientBefore = process.TotalProcessorTime;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var figures = await window();
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        process.Refresh();
        var client = process.TotalProcessorTime - clientBefore;
        var redis = await RedisSecondsAsync(server) - redisBefore;
        var calls = Math.Max(1, figures.CallsPerSecond * elapsed.TotalSeconds);
        return (figures, new Cpu(redis * 1e6 / calls, client.TotalMicroseconds / calls));
    }

    public static Cpu Median(IReadOnlyList<Cpu> rounds)
    {
        var redis = rounds.Select(r => r.RedisMicros).Order().ToArray();
        var client = rounds.Select(r => r.ClientMicros).Order().ToArray();
        return new Cpu(redis[redis.Length / 2], client[client.Length / 2]);
    }

    private static async Task<double> RedisSecondsAsync(IServer server)
    {
        var info = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

        // The main thread's own figures where Redis has them (6.2+), else the process's.
        return info.TryGetValue("used_cpu_user_main_thread", out var user) && info.TryGetValue("used_cpu_sys_main_thread", out var sys)
            ? double.Parse(user, CultureInfo.InvariantCulture) + double.Parse(sys, CultureInfo.InvariantCulture)
            : double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture);
    }
}
