using System.Globalization;
using System.Text;
using GameSystem.Mesh;
using Google.Api;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace GameSystem.Cli.Internal;

/// <summary>Writes what the contracts say: services, rpcs, and the fields a request carries.</summary>
internal static class CatalogPrinter
{
    private const int MaxDepth = 4;

    // Proto3 JSON writes the well-known types as values of their own, not as their fields.
    private static readonly Dictionary<string, (string Name, string Example)> WellKnownTypes = new(StringComparer.Ordinal)
    {
        ["google.protobuf.Timestamp"] = ("timestamp", "\"2025-01-31T12:00:00Z\""),
        ["google.protobuf.Duration"] = ("duration", "\"1.5s\""),
        ["google.protobuf.FieldMask"] = ("field mask", "\"displayName,timeScale\""),
        ["google.protobuf.Struct"] = ("JSON object", "{}"),
        ["google.protobuf.Value"] = ("JSON value", "null"),
        ["google.protobuf.ListValue"] = ("JSON array", "[]"),
        ["google.protobuf.Any"] = ("any", "{\"@type\":\"type.googleapis.com/…\"}"),
        ["google.protobuf.Empty"] = ("empty", "{}"),
        ["google.protobuf.StringValue"] = ("string or null", "\"\""),
        ["google.protobuf.BytesValue"] = ("bytes or null", "\"\""),
        ["google.protobuf.BoolValue"] = ("bool or null", "true"),
        ["google.protobuf.DoubleValue"] = ("double or null", "1"),
        ["google.protobuf.FloatValue"] = ("float or null", "1"),
        ["google.protobuf.Int64Value"] = ("int64 or null", "1"),
        ["google.protobuf.UInt64Value"] = ("uint64 or null", "1"),
        ["google.protobuf.Int32Value"] = ("int32 or null", "1"),
        ["google.protobuf.UInt32Value"] = ("uint32 or null", "1"),
    };

    public static void WriteList(TextWriter output, ServiceDirectory directory)
    {
        foreach (var service in directory.Services)
        {
            output.WriteLine($"{service.Name}  ({service.FullName})");
            var table = new Table();
            foreach (var method in service.Methods)
            {
                table.Add(
                    method.Name,
                    $"{TypeName(method.Descriptor.InputType, service)} → {(method.Type == MethodType.ServerStreaming ? "stream " : "")}{TypeName(method.Descriptor.OutputType, service)}",
                    Kind(method),
                    Idempotency(method),
                    method.DefaultTimeout is { } timeout ? FormatDuration(timeout) : "-",
                    Route(method));
            }

            table.WriteTo(output, "  ");
            output.WriteLine();
        }

        output.WriteLine($"{directory.Services.Length} services. Columns: rpc, request → response, kind, idempotency, default timeout, HTTP route.");
    }

    public static void WriteService(TextWriter output, MeshServiceInfo service, string program)
    {
        var first = true;
        foreach (var method in service.Methods)
        {
            if (!first)
            {
                output.WriteLine();
            }

            first = false;
            WriteMethod(output, service, method, program);
        }
    }

    public static void WriteMethod(TextWriter output, MeshServiceInfo service, MeshMethod method, string program)
    {
        var timeout = method.DefaultTimeout is { } t ? $"default timeout {FormatDuration(t)}" : "no default timeout";
        output.WriteLine($"{service.Name} {method.Name}: {Kind(method)}, {Idempotency(method)}, {timeout}");
        var facts = new Table();
        facts.Add("request", method.Descriptor.InputType.FullName);
        facts.Add("response", (method.Type == MethodType.ServerStreaming ? "stream of " : "") + method.Descriptor.OutputType.FullName);
        if (Route(method) is { Length: > 0 } route)
        {
            facts.Add("http", route);
        }

        facts.WriteTo(output, "  ");
        var fields = new Table();
        AddFields(fields, method.Descriptor.InputType, service, depth: 0, [method.Descriptor.InputType.FullName]);
        output.WriteLine();
        if (method.Descriptor.InputType.Fields.InDeclarationOrder().Count == 0)
        {
            output.WriteLine("  request fields: none, send {}");
        }
        else
        {
            output.WriteLine("  request fields (proto3 JSON names):");
            fields.WriteTo(output, "    ");
        }

        output.WriteLine();
        output.WriteLine($"  {program} call {service.Name} {method.Name} '{Example(method.Descriptor.InputType, depth: 0)}'");
    }

    private static void AddFields(Table table, MessageDescriptor message, MeshServiceInfo service, int depth, HashSet<string> open)
    {
        var indent = new string(' ', depth * 2);
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            var notes = string.Join(' ', Behaviors(field).Append(field.RealContainingOneof is { } oneof ? $"oneof {oneof.Name}" : "").Where(n => n.Length > 0));
            var element = field.IsMap ? field.MessageType.FindFieldByNumber(2) : field;
            var values = element.FieldType == FieldType.Enum
                ? "one of " + string.Join(" | ", element.EnumType.Values.Where(v => v.Number != 0).Select(v => v.Name))
                : "";
            table.Add(indent + field.JsonName, TypeOf(field, service), notes, values);
            if (element.FieldType == FieldType.Message && !WellKnownTypes.ContainsKey(element.MessageType.FullName) && depth < MaxDepth
                && open.Add(element.MessageType.FullName))
            {
                AddFields(table, element.MessageType, service, depth + 1, open);
                open.Remove(element.MessageType.FullName);
            }
        }
    }

    private static string TypeOf(FieldDescriptor field, MeshServiceInfo service)
    {
        if (field.IsMap)
        {
            return $"map<{SingleType(field.MessageType.FindFieldByNumber(1), service)}, {SingleType(field.MessageType.FindFieldByNumber(2), service)}>";
        }

        return field.IsRepeated ? $"list of {SingleType(field, service)}" : SingleType(field, service);
    }

    private static string SingleType(FieldDescriptor field, MeshServiceInfo service) => field.FieldType switch
    {
        FieldType.Message => WellKnownTypes.TryGetValue(field.MessageType.FullName, out var known)
            ? $"{known.Name} ({known.Example})"
            : TypeName(field.MessageType, service),
        FieldType.Enum => $"enum {TypeName(field.EnumType, service)}",
        FieldType.Bytes => "bytes (base64)",
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => "int64",
        FieldType.UInt64 or FieldType.Fixed64 => "uint64",
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => "int32",
        FieldType.UInt32 or FieldType.Fixed32 => "uint32",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static IEnumerable<string> Behaviors(FieldDescriptor field) =>
        field.GetOptions()?.GetExtension(FieldBehaviorExtensions.FieldBehavior) is { } behaviors
            ? behaviors.Where(b => b != FieldBehavior.Unspecified).Select(ProtoName)
            : [];

    // A request with its required fields (and theirs) filled with placeholders, to start from.
    private static string Example(MessageDescriptor message, int depth)
    {
        var required = message.Fields.InDeclarationOrder().Where(f => Behaviors(f).Contains("REQUIRED"));
        return "{" + string.Join(',', required.Select(f => $"\"{f.JsonName}\":{ExampleValue(f, depth)}")) + "}";
    }

    private static string ExampleValue(FieldDescriptor field, int depth) => field switch
    {
        { IsMap: true } => "{}",
        { IsRepeated: true } => "[]",
        { FieldType: FieldType.Message } when WellKnownTypes.TryGetValue(field.MessageType.FullName, out var known) => known.Example,
        { FieldType: FieldType.Message } => depth < MaxDepth ? Example(field.MessageType, depth + 1) : "{}",
        { FieldType: FieldType.String } => $"\"<{field.JsonName}>\"",
        { FieldType: FieldType.Bool } => "true",
        { FieldType: FieldType.Enum } => $"\"{field.EnumType.Values.FirstOrDefault(v => v.Number != 0)?.Name}\"",
        { FieldType: FieldType.Bytes } => "\"\"",
        _ => "1",
    };

    private static string TypeName(IDescriptor type, MeshServiceInfo service)
    {
        var package = service.Descriptor.File.Package + ".";
        return type.FullName.StartsWith(package, StringComparison.Ordinal) ? type.FullName[package.Length..] : type.FullName;
    }

    private static string Kind(MeshMethod method) => method.Type == MethodType.ServerStreaming ? "server-streaming" : "unary";

    private static string Idempotency(MeshMethod method) => method.Idempotency switch
    {
        MethodOptions.Types.IdempotencyLevel.NoSideEffects => "NO_SIDE_EFFECTS",
        MethodOptions.Types.IdempotencyLevel.Idempotent => "IDEMPOTENT",
        _ => "IDEMPOTENCY_UNKNOWN",
    };

    private static string Route(MeshMethod method) => method.Http switch
    {
        null => "",
        { PatternCase: HttpRule.PatternOneofCase.Custom } rule => $"{rule.Custom.Kind} {rule.Custom.Path}",
        var rule => $"{rule.PatternCase.ToString().ToUpperInvariant()} {HttpPath(rule)}",
    };

    private static string HttpPath(HttpRule rule) => rule.PatternCase switch
    {
        HttpRule.PatternOneofCase.Get => rule.Get,
        HttpRule.PatternOneofCase.Put => rule.Put,
        HttpRule.PatternOneofCase.Post => rule.Post,
        HttpRule.PatternOneofCase.Delete => rule.Delete,
        HttpRule.PatternOneofCase.Patch => rule.Patch,
        _ => "",
    };

    /// <summary><c>2s</c>, <c>500ms</c>, <c>1m30s</c>.</summary>
    public static string FormatDuration(TimeSpan span)
    {
        if (span < TimeSpan.FromSeconds(1))
        {
            return $"{span.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
        }

        var text = new StringBuilder();
        if (span.Hours + (span.Days * 24) > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{span.Hours + (span.Days * 24)}h");
        }

        if (span.Minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{span.Minutes}m");
        }

        var seconds = span.Seconds + (span.Milliseconds / 1000.0);
        if (seconds > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{seconds}s");
        }

        return text.ToString();
    }

    /// <summary>The proto spelling of an enum value, e.g. <c>OUTPUT_ONLY</c> or <c>NOT_FOUND</c>.</summary>
    public static string ProtoName<TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        var name = value.ToString();
        var text = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && char.IsLower(name[i - 1]))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(name[i]));
        }

        return text.ToString();
    }
}
