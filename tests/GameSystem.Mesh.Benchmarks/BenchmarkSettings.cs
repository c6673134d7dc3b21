using System.Globalization;

namespace GameSystem.Mesh.Benchmarks;

/// <summary>Command-line settings: --warmup S, --window S, --rounds N, --concurrency 1,16,128 (and each benchmark's own options).</summary>
internal sealed record BenchmarkSettings(TimeSpan Warmup, TimeSpan Window, int Rounds, int[] Concurrency)
{
    /// <summary>True when --concurrency was given (each benchmark has its own default levels).</summary>
    public bool ConcurrencyGiven { get; init; }

    /// <summary>The store benchmark's --bare-raw: compare against scripts without the store's guarantees.</summary>
    public bool BareRaw { get; init; }

    /// <summary>--only NAME: run only the workloads whose name starts with NAME (the store benchmark's get, set, 3-key).</summary>
    public string? Only { get; init; }

    /// <summary>The gateway benchmark's --breakdown 1,128: the levels at which the gateway's variants (where the time goes) run too; none by default.</summary>
    public int[] Breakdown { get; init; } = [];

    public static BenchmarkSettings Parse(string[] args)
    {
        var settings = new BenchmarkSettings(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), 5, [1, 16, 128]);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (args[i] == "--bare-raw")
            {
                settings = settings with { BareRaw = true };
                i--;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Option {args[i]} needs a value.");
            }

            var value = args[i + 1];
            settings = args[i] switch
            {
                "--warmup" => settings with { Warmup = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                "--window" => settings with { Window = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                "--rounds" => settings with { Rounds = int.Parse(value, CultureInfo.InvariantCulture) },
                "--only" => settings with { Only = value },
                "--concurrency" => settings with { Concurrency = Levels(value), ConcurrencyGiven = true },
                "--breakdown" => settings with { Breakdown = Levels(value) },
                _ => throw new ArgumentException($"Unknown option {args[i]}; use --warmup S, --window S, --rounds N, --concurrency 1,16,128 (and, for store, --bare-raw and --only get|set|3-key; for gateway, --breakdown 1,128)."),
            };
        }

        return settings;
    }

    private static int[] Levels(string value) => [.. value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
}
