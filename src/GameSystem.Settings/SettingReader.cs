using System.Collections.Immutable;
using Microsoft.Extensions.Configuration;

namespace GameSystem.Settings;

/// <summary>Reads typed values from configuration; a bad one throws <see cref="SettingException"/> naming it.</summary>
public static class SettingReader
{
    /// <summary>A list: a JSON array, <c>a,b,c</c> in one value (environment variables, command line), or both.</summary>
    public static ImmutableArray<string> ReadList(this IConfigurationSection section)
    {
        var values = section.Value is { } single ? [single] : section.GetChildren().Select(c => c.Value ?? string.Empty);
        return [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
    }

    /// <summary>A whole number of at least <paramref name="minimum"/>, or <paramref name="fallback"/> when unset.</summary>
    public static int ReadInt(this IConfigurationSection section, string key, int fallback, int minimum)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < minimum)
        {
            throw new SettingException($"{section.Path}:{key}", $"'{text}' must be a whole number of at least {minimum}.");
        }

        return value;
    }

    /// <summary><c>true</c> or <c>false</c>, or <paramref name="fallback"/> when unset.</summary>
    public static bool ReadBool(this IConfigurationSection section, string key, bool fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        return bool.TryParse(text, out var value)
            ? value
            : throw new SettingException($"{section.Path}:{key}", $"'{text}' must be true or false.");
    }

    /// <summary>A positive duration (<c>00:00:15</c>), or <paramref name="fallback"/> when unset.</summary>
    public static TimeSpan ReadDuration(this IConfigurationSection section, string key, TimeSpan fallback)
    {
        var text = section[key];
        if (text is null)
        {
            return fallback;
        }

        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw new SettingException($"{section.Path}:{key}", $"'{text}' must be a positive duration such as 00:00:15.");
    }

    /// <summary>The path of a file that exists, or null when unset.</summary>
    public static string? ExistingFile(this IConfigurationSection section, string key)
    {
        var path = section[key];
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        return File.Exists(path)
            ? path
            : throw new SettingException($"{section.Path}:{key}", $"file '{path}' does not exist.");
    }

    /// <summary>
    /// The path of a file that exists and this process may read, or null when unset: a key or
    /// certificate left readable by root only is named at start-up, not as a failed handshake.
    /// </summary>
    public static string? ReadableFile(this IConfigurationSection section, string key)
    {
        var path = section.ExistingFile(key);
        if (path is null)
        {
            return null;
        }

        try
        {
            using var stream = File.OpenRead(path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new SettingException($"{section.Path}:{key}", $"file '{path}' cannot be read by this process (permission denied).");
        }
        catch (IOException ex)
        {
            throw new SettingException($"{section.Path}:{key}", $"file '{path}' cannot be read ({ex.Message}).");
        }

        return path;
    }
}

/// <summary>A configuration value that stops start-up; its message names the setting.</summary>
public sealed class SettingException(string setting, string problem)
    : Exception($"Configuration error: {setting} {problem}")
{
    /// <summary>The setting's path, e.g. <c>GameSystem:Nats:Servers</c>.</summary>
    public string Setting { get; } = setting;
}
