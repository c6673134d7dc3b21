using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace GameSystem.Gateway;

/// <summary>A request that cannot be bound: which field (or parameter) and why. Answered 400.</summary>
internal sealed class BindingException(string field, string message) : Exception(message)
{
    /// <summary>The request field or query parameter at fault, for the <c>google.rpc.BadRequest</c> detail.</summary>
    public string Field { get; } = field;
}

/// <summary>
/// Binds the parts of an HTTP request the HttpRule does not send as the body: path variables
/// (percent-decoded; a multi-segment value keeps <c>%2F</c>, as the specification says) and
/// query parameters (<c>?a.b=1&amp;tags=x&amp;tags=y</c>, by proto or JSON field name: repeated
/// fields by repeating, nested fields by dots, enums by name or number, well-known types in
/// their JSON string form).
/// </summary>
internal static class RequestBinder
{
    /// <summary>Sets the path variables of <paramref name="route"/>, which lie at <paramref name="values"/> in <paramref name="path"/>.</summary>
    public static void BindPath(IMessage message, GatewayRoute route, string path, ReadOnlySpan<Range> values, ProtoJson json)
    {
        for (var i = 0; i < route.Variables.Length; i++)
        {
            var fields = route.Variables[i];
            var raw = path[values[i]];
            var text = route.Template.Variables[i].IsSingleSegment ? Uri.UnescapeDataString(raw) : DecodeKeepingSlashes(raw);
            Set(message, fields, text, json, "path variable");
        }
    }

    /// <summary>Sets the fields the query string names; refuses a parameter that names no field, or one the path or body binds.</summary>
    public static void BindQuery(IMessage message, GatewayRoute route, IQueryCollection query, ProtoJson json)
    {
        foreach (var (name, values) in query)
        {
            if (route.Body == BodyBinding.Whole)
            {
                throw new BindingException(name, $"The query parameter '{name}' is not taken: {route.Method.Name} takes its whole request as the JSON body.");
            }

            var fields = ResolveFieldPath(message.Descriptor, name, jsonNames: true, out _)
                ?? throw new BindingException(name, $"The query parameter '{name}' names no field of {message.Descriptor.FullName}.");
            if (route.PathFields.Contains(fields[^1]))
            {
                throw new BindingException(name, $"The query parameter '{name}' sets a field the path already binds.");
            }

            if (route.BodyField is { } bodyField && fields[0] == bodyField)
            {
                throw new BindingException(name, $"The query parameter '{name}' sets part of '{bodyField.Name}', which is the request body.");
            }

            var leaf = fields[^1];
            if (!leaf.IsRepeated && values.Count > 1)
            {
                throw new BindingException(name, $"The query parameter '{name}' is given {values.Count} times, but '{leaf.Name}' holds one value.");
            }

            if (leaf.IsMap || (leaf.FieldType == FieldType.Message && !IsWellKnownScalar(leaf.MessageType)))
            {
                throw new BindingException(name, $"The query parameter '{name}' names '{leaf.Name}', a message; set its fields one by one ('{name}.<field>').");
            }

            foreach (var value in values)
            {
                Set(message, fields, value ?? "", json, "query parameter");
            }
        }
    }

    /// <summary>
    /// The fields along a dotted path (proto names; with <paramref name="jsonNames"/> also JSON
    /// names), every step before the last a singular message field; null when a step fails, and
    /// then <paramref name="problem"/> says which and why.
    /// </summary>
    internal static FieldDescriptor[]? ResolveFieldPath(MessageDescriptor message, string dotted, bool jsonNames, out string problem)
    {
        var names = dotted.Split('.');
        var fields = new FieldDescriptor[names.Length];
        var current = message;
        for (var i = 0; i < names.Length; i++)
        {
            var field = current.FindFieldByName(names[i]) ?? (jsonNames ? current.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == names[i]) : null);
            if (field is null)
            {
                problem = $"{current.FullName} has no field '{names[i]}'";
                return null;
            }

            fields[i] = field;
            if (i < names.Length - 1)
            {
                if (field.FieldType != FieldType.Message || field.IsRepeated || field.IsMap)
                {
                    problem = $"'{field.Name}' is not a single message field to go into";
                    return null;
                }

                current = field.MessageType;
            }
        }

        problem = "";
        return fields;
    }

    private static void Set(IMessage message, FieldDescriptor[] fields, string text, ProtoJson json, string what)
    {
        var target = message;
        for (var i = 0; i < fields.Length - 1; i++)
        {
            var field = fields[i];
            if (field.Accessor.GetValue(target) is not IMessage child)
            {
                child = field.MessageType.Parser.ParseFrom(ByteString.Empty);
                field.Accessor.SetValue(target, child);
            }

            target = child;
        }

        var leaf = fields[^1];
        object value;
        try
        {
            value = Convert(leaf, text, json);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidProtocolBufferException or InvalidJsonException)
        {
            // The dotted name only for the error: a request that binds builds no string for it.
            var name = string.Join('.', fields.Select(f => f.Name));
            throw new BindingException(name, $"The {what} '{name}' has the value '{text}', which is not {Expected(leaf)}.");
        }

        if (leaf.IsRepeated)
        {
            ((System.Collections.IList)leaf.Accessor.GetValue(target)).Add(value);
        }
        else
        {
            leaf.Accessor.SetValue(target, value);
        }
    }

    private static object Convert(FieldDescriptor field, string text, ProtoJson json)
    {
        var invariant = CultureInfo.InvariantCulture;
        return field.FieldType switch
        {
            FieldType.String => text,
            FieldType.Bool => text switch { "true" => true, "false" => false, _ => throw new FormatException() },
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => int.Parse(text, NumberStyles.AllowLeadingSign, invariant),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => long.Parse(text, NumberStyles.AllowLeadingSign, invariant),
            FieldType.UInt32 or FieldType.Fixed32 => uint.Parse(text, NumberStyles.None, invariant),
            FieldType.UInt64 or FieldType.Fixed64 => ulong.Parse(text, NumberStyles.None, invariant),
            FieldType.Double => double.Parse(text, NumberStyles.Float, invariant),
            FieldType.Float => float.Parse(text, NumberStyles.Float, invariant),
            FieldType.Bytes => ByteString.FromBase64(text.Replace('-', '+').Replace('_', '/').PadRight((text.Length + 3) / 4 * 4, '=')),
            FieldType.Enum => field.EnumType.FindValueByName(text)?.Number
                ?? (int.TryParse(text, NumberStyles.AllowLeadingSign, invariant, out var number) && field.EnumType.FindValueByNumber(number) is not null ? number : throw new FormatException()),
            FieldType.Message => Unwrapped(field.MessageType, json.Parser.Parse(JsonToken(field.MessageType, text), field.MessageType)),
            _ => throw new FormatException(),
        };
    }

    // Google.Protobuf's C# fields of wrapper types hold the wrapped value (int?, string …), not the message.
    private static object Unwrapped(MessageDescriptor type, IMessage parsed) =>
        type.File.Name == "google/protobuf/wrappers.proto" ? type.FindFieldByNumber(1).Accessor.GetValue(parsed) : parsed;

    // A well-known type's JSON form is a string (Timestamp, Duration, FieldMask, StringValue …),
    // a number or a bool (the other wrappers): the query value is that JSON value's text.
    private static string JsonToken(MessageDescriptor type, string text) => type.FullName switch
    {
        "google.protobuf.BoolValue" => text is "true" or "false" ? text : throw new FormatException(),
        _ => System.Text.Json.JsonSerializer.Serialize(text),
    };

    /// <summary>The well-known types a query parameter can set, from their JSON string (or number, bool) form; the OpenAPI document follows this.</summary>
    internal static bool IsWellKnownScalar(MessageDescriptor type) => type.FullName is
        "google.protobuf.Timestamp" or "google.protobuf.Duration" or "google.protobuf.FieldMask"
        or "google.protobuf.StringValue" or "google.protobuf.BytesValue" or "google.protobuf.BoolValue"
        or "google.protobuf.Int32Value" or "google.protobuf.Int64Value" or "google.protobuf.UInt32Value"
        or "google.protobuf.UInt64Value" or "google.protobuf.FloatValue" or "google.protobuf.DoubleValue";

    private static string Expected(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Bool => "true or false",
        FieldType.Enum => $"a value of {field.EnumType.Name} ({string.Join(", ", field.EnumType.Values.Select(v => v.Name))})",
        FieldType.Bytes => "base64",
        FieldType.Message => $"a {field.MessageType.Name} in its JSON form",
        FieldType.String => "text",
        FieldType.Double or FieldType.Float => "a number",
        FieldType.UInt32 or FieldType.Fixed32 or FieldType.UInt64 or FieldType.Fixed64 => "a whole number, 0 or more, in range",
        _ => "a whole number in range",
    };

    // Multi-segment values keep '/' encoded as %2F, so "a%2Fb/c" stays two segments' worth of meaning.
    private static string DecodeKeepingSlashes(string raw)
    {
        if (!raw.Contains('%', StringComparison.Ordinal))
        {
            return raw;
        }

        var builder = new StringBuilder(raw.Length);
        var start = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '%' && i + 2 < raw.Length && raw[i + 1] == '2' && raw[i + 2] is 'F' or 'f')
            {
                builder.Append(Uri.UnescapeDataString(raw[start..i])).Append("%2F");
                start = i + 3;
                i += 2;
            }
        }

        return builder.Append(Uri.UnescapeDataString(raw[start..])).ToString();
    }
}
