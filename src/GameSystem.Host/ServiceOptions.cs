using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using GameSystem.Settings;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GameSystem.Host;

/// <summary>
/// Options of the selected services, by one convention: each <c>IOptions&lt;T&gt;</c> parameter of
/// an implementation's constructor is bound from <c>GameSystem:&lt;T's name without Options&gt;</c>
/// (<c>EventBusOptions</c> from <c>GameSystem:EventBus</c>) onto a new T, so T's own defaults
/// hold for what is not set. A key T does not have, a value of the wrong type, or a problem
/// T's <see cref="IValidatableObject.Validate"/> reports stops start-up naming the setting.
/// </summary>
internal static partial class ServiceOptions
{
    /// <summary>Binds and registers the options of <paramref name="implementations"/>.</summary>
    public static void Add(IServiceCollection services, IConfiguration configuration, IEnumerable<Type> implementations)
    {
        var optionTypes = implementations
            .SelectMany(t => t.GetConstructors())
            .SelectMany(c => c.GetParameters())
            .Select(p => p.ParameterType)
            .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IOptions<>))
            .Select(t => t.GetGenericArguments()[0])
            .Distinct();
        foreach (var type in optionTypes)
        {
            var wrapper = Activator.CreateInstance(typeof(OptionsWrapper<>).MakeGenericType(type), Read(configuration, type))!;
            services.AddSingleton(typeof(IOptions<>).MakeGenericType(type), wrapper);
        }
    }

    /// <summary>The section options of <paramref name="type"/> are read from.</summary>
    public static string SectionOf(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var name = type.Name.EndsWith("Options", StringComparison.Ordinal) && type.Name.Length > "Options".Length ? type.Name[..^"Options".Length] : type.Name;
        return $"{HostSettings.Section}:{name}";
    }

    /// <summary>Binds and validates options of <paramref name="type"/>; a <see cref="SettingException"/> names a bad setting.</summary>
    public static object Read(IConfiguration configuration, Type type)
    {
        var path = SectionOf(type);
        var value = Activator.CreateInstance(type)
            ?? throw new InvalidOperationException($"{type} needs a public parameterless constructor to be bound from {path}.");
        var section = configuration.GetSection(path);
        if (FindUnknownKey(section, type) is { } unknown)
        {
            throw new SettingException(unknown.Path, $"is not a setting of {SectionOf(type)}; see the configuration section of README.md for the ones there are.");
        }

        try
        {
            section.Bind(value, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw Translate(ex, path, configuration);
        }

        if (value is IValidatableObject validatable && validatable.Validate(new ValidationContext(value)).FirstOrDefault() is { } problem)
        {
            var member = problem.MemberNames.FirstOrDefault();
            throw new SettingException(member is null ? path : $"{path}:{member}", problem.ErrorMessage ?? "is not valid.");
        }

        return value;
    }

    // The binder names the key and value of a failed conversion only in its message.
    private static SettingException Translate(InvalidOperationException exception, string path, IConfiguration configuration)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (ConversionFailure().Match(e.Message) is not { Success: true } conversion)
            {
                continue;
            }

            var target = conversion.Groups["type"].Value;
            var hint = target.Contains("TimeSpan", StringComparison.Ordinal) ? " such as 00:02:00" : "";
            return new SettingException(conversion.Groups["path"].Value, $"'{configuration[conversion.Groups["path"].Value]}' is not a {FriendlyName(target)}{hint}.");
        }

        return new SettingException(path, $"cannot be read: {exception.Message}");
    }

    private static string FriendlyName(string typeName) => typeName switch
    {
        var t when t.Contains("TimeSpan", StringComparison.Ordinal) => "duration",
        var t when t.Contains("Int32", StringComparison.Ordinal) || t.Contains("Int64", StringComparison.Ordinal) => "whole number",
        var t when t.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        var t => t[(t.LastIndexOf('.') + 1)..].TrimEnd(']'),
    };

    [GeneratedRegex("Failed to convert configuration value (?:'(?<value>.*)' )?at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex ConversionFailure();

    /// <summary>The first key under <paramref name="section"/> that no property of <paramref name="type"/> (or of its lists' items) takes.</summary>
    private static IConfigurationSection? FindUnknownKey(IConfigurationSection section, Type type)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (property is null || !property.CanWrite)
            {
                return child;
            }

            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var item = propertyType.IsArray ? propertyType.GetElementType() : propertyType.IsGenericType && propertyType.GetGenericArguments() is [var single] && typeof(System.Collections.IEnumerable).IsAssignableFrom(propertyType) ? single : null;
            if (item is not null && IsComplex(item))
            {
                foreach (var element in child.GetChildren())
                {
                    if (FindUnknownKey(element, item) is { } unknown)
                    {
                        return unknown;
                    }
                }
            }
            else if (item is null && IsComplex(propertyType) && FindUnknownKey(child, propertyType) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }

    private static bool IsComplex(Type type) => type.IsClass && type != typeof(string);
}
