using System.Collections.Immutable;
using System.Globalization;
using Grpc.Core;

namespace GameSystem.Cli.Internal;

/// <summary>The command, its positional arguments and the options, as typed.</summary>
internal sealed record CommandLine(
    string Command,
    ImmutableArray<string> Arguments,
    ImmutableArray<string> Servers,
    string? Prefix,
    TimeSpan? Timeout,
    Metadata Metadata,
    bool Defaults,
    int? Count)
{
    private static readonly ImmutableArray<string> Flags = ["--defaults", "--help", "-h"];
    private static readonly ImmutableArray<string> ValueOptions = ["--nats", "--prefix", "--timeout", "--metadata", "--count"];

    /// <summary>Options may come anywhere, as <c>--name value</c> or <c>--name=value</c>; <c>-</c> alone is an argument (stdin).</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var positional = ImmutableArray.CreateBuilder<string>();
        var servers = ImmutableArray<string>.Empty;
        string? prefix = null;
        TimeSpan? timeout = null;
        var metadata = new Metadata();
        var defaults = false;
        var help = false;
        int? count = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.Length < 2 || arg[0] != '-')
            {
                positional.Add(arg);
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[..equals] : arg;
            if (Flags.Contains(name))
            {
                defaults |= name == "--defaults";
                help |= name != "--defaults";
                continue;
            }

            if (!ValueOptions.Contains(name))
            {
                throw new UsageException($"unknown option {name}.", pointsToHelp: true);
            }

            string value;
            if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"{name} needs a value.", pointsToHelp: true);
            }

            switch (name)
            {
                case "--nats":
                    servers = SplitList(value);
                    break;
                case "--prefix":
                    prefix = value;
                    break;
                case "--timeout":
                    timeout = ParseDuration(value);
                    break;
                case "--metadata":
                    AddMetadata(metadata, value);
                    break;
                case "--count":
                    count = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                        ? n
                        : throw new UsageException($"--count '{value}' must be a whole number of at least 1.");
                    break;
            }
        }

        var command = help || positional.Count == 0 ? "help" : positional[0];
        var arguments = positional.Count == 0 ? [] : positional.ToImmutable().RemoveAt(0);
        return new CommandLine(command, arguments, servers, prefix, timeout, metadata, defaults, count);
    }

    /// <summary>A list in one value: <c>a,b</c>, blanks dropped.</summary>
    public static ImmutableArray<string> SplitList(string value) =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary><c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, a bare number of seconds, or <c>00:00:05</c>.</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        var units = new (string Suffix, Func<double, TimeSpan> Make)[]
        {
            ("ms", TimeSpan.FromMilliseconds), ("s", TimeSpan.FromSeconds), ("m", TimeSpan.FromMinutes), ("h", TimeSpan.FromHours), ("", TimeSpan.FromSeconds),
        };
        foreach (var (suffix, make) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                return Positive(make(amount), text);
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span)
            ? Positive(span, text)
            : throw new UsageException($"--timeout '{text}' is not a duration: write 500ms, 5s, 2m or 1h.");
    }

    private static TimeSpan Positive(TimeSpan span, string text) =>
        span > TimeSpan.Zero ? span : throw new UsageException($"--timeout '{text}' must be longer than zero.");

    private static void AddMetadata(Metadata metadata, string pair)
    {
        var equals = pair.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new UsageException($"--metadata '{pair}' must be key=value.");
        }

        var key = pair[..equals];
        var value = pair[(equals + 1)..];
        try
        {
            if (key.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.OrdinalIgnoreCase))
            {
                metadata.Add(key, Convert.FromBase64String(value));
            }
            else
            {
                metadata.Add(key, value);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            throw new UsageException($"--metadata '{pair}': {ex.Message}");
        }
    }
}
