using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;
using Microsoft.OpenApi;

namespace GameSystem.Gateway.OpenApi;

/// <summary>
/// JSON Schemas of protobuf messages and enums in their proto3 JSON shape (what
/// <see cref="ProtoJson"/> writes and reads): lowerCamel JSON names, enums as their value names,
/// 64-bit integers as strings, bytes as base64, the well-known types as the mapping says. Every
/// message and enum is one component named by its full name, referenced with <c>$ref</c>; a
/// component is registered before its fields are walked, so recursive messages end in a
/// reference to themselves.
/// </summary>
internal sealed class ProtoSchemas(OpenApiDocument document)
{
    private readonly Dictionary<string, IOpenApiSchema> _components = new(StringComparer.Ordinal);

    /// <summary>The component schemas made so far, by full name.</summary>
    public IReadOnlyDictionary<string, IOpenApiSchema> Components => _components;

    /// <summary>A reference to the component of <paramref name="message"/>, made on first use.</summary>
    public IOpenApiSchema Message(MessageDescriptor message)
    {
        if (!_components.ContainsKey(message.FullName))
        {
            var schema = new OpenApiSchema();
            _components.Add(message.FullName, schema);
            Fill(schema, message);
        }

        return new OpenApiSchemaReference(message.FullName, document);
    }

    /// <summary>A reference to the component of <paramref name="type"/>: a string enum of its value names.</summary>
    public IOpenApiSchema Enum(EnumDescriptor type)
    {
        if (!_components.ContainsKey(type.FullName))
        {
            _components.Add(type.FullName, EnumSchema(type));
        }

        return new OpenApiSchemaReference(type.FullName, document);
    }

    /// <summary>The schema of <paramref name="field"/>'s JSON value: a map is an object, a repeated field an array.</summary>
    public IOpenApiSchema Field(FieldDescriptor field)
    {
        if (field.IsMap)
        {
            var value = field.MessageType.FindFieldByNumber(2);
            return new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                AdditionalProperties = Single(value),
                Description = Comments.Of(field.Declaration),
            };
        }

        if (field.IsRepeated)
        {
            return new OpenApiSchema { Type = JsonSchemaType.Array, Items = Single(field), Description = Comments.Of(field.Declaration) };
        }

        return Single(field);
    }

    /// <summary>The schema of one value of <paramref name="field"/> (an element, for a repeated field).</summary>
    public IOpenApiSchema Single(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => Message(field.MessageType),
        FieldType.Enum => Enum(field.EnumType),
        var type => Scalar(type),
    };

    /// <summary>The schema of a scalar field type in proto3 JSON.</summary>
    public static OpenApiSchema Scalar(FieldType type) => type switch
    {
        FieldType.Double => new() { Type = JsonSchemaType.Number, Format = "double" },
        FieldType.Float => new() { Type = JsonSchemaType.Number, Format = "float" },
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => new() { Type = JsonSchemaType.Integer, Format = "int32" },
        FieldType.UInt32 or FieldType.Fixed32 => new() { Type = JsonSchemaType.Integer, Format = "uint32", Minimum = "0", Maximum = uint.MaxValue.ToString(CultureInfo.InvariantCulture) },
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => new() { Type = JsonSchemaType.String, Format = "int64", Pattern = "^-?[0-9]+$" },
        FieldType.UInt64 or FieldType.Fixed64 => new() { Type = JsonSchemaType.String, Format = "uint64", Pattern = "^[0-9]+$" },
        FieldType.Bool => new() { Type = JsonSchemaType.Boolean },
        FieldType.String => new() { Type = JsonSchemaType.String },
        FieldType.Bytes => new() { Type = JsonSchemaType.String, Format = "byte", ContentEncoding = "base64" },
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a scalar field type."),
    };

    /// <summary>
    /// The inline schema of a well-known type whose JSON is one string, number or bool
    /// (Timestamp, Duration, FieldMask, the wrappers); null for any other message.
    /// </summary>
    public static OpenApiSchema? WellKnownScalar(MessageDescriptor message) => message.FullName switch
    {
        "google.protobuf.Timestamp" => new() { Type = JsonSchemaType.String, Format = "date-time", Description = "RFC 3339, UTC ('Z'), e.g. 2026-01-02T03:04:05.678Z." },
        "google.protobuf.Duration" => new() { Type = JsonSchemaType.String, Pattern = "^-?[0-9]+(\\.[0-9]{1,9})?s$", Description = "Seconds with an 's' suffix, e.g. '1.5s'." },
        "google.protobuf.FieldMask" => new() { Type = JsonSchemaType.String, Description = "Field paths in lowerCamel, comma-separated, e.g. 'displayName,email'." },
        "google.protobuf.DoubleValue" => Nullable(Scalar(FieldType.Double)),
        "google.protobuf.FloatValue" => Nullable(Scalar(FieldType.Float)),
        "google.protobuf.Int64Value" => Nullable(Scalar(FieldType.Int64)),
        "google.protobuf.UInt64Value" => Nullable(Scalar(FieldType.UInt64)),
        "google.protobuf.Int32Value" => Nullable(Scalar(FieldType.Int32)),
        "google.protobuf.UInt32Value" => Nullable(Scalar(FieldType.UInt32)),
        "google.protobuf.BoolValue" => Nullable(Scalar(FieldType.Bool)),
        "google.protobuf.StringValue" => Nullable(Scalar(FieldType.String)),
        "google.protobuf.BytesValue" => Nullable(Scalar(FieldType.Bytes)),
        _ => null,
    };

    private static OpenApiSchema Nullable(OpenApiSchema schema)
    {
        schema.Type |= JsonSchemaType.Null;
        return schema;
    }

    private static OpenApiSchema EnumSchema(EnumDescriptor type)
    {
        if (type.FullName == "google.protobuf.NullValue")
        {
            return new OpenApiSchema { Type = JsonSchemaType.Null, Description = "JSON null." };
        }

        var values = type.Values.Where(v => v.Name.Length > 0).Select(v => (JsonNode)JsonValue.Create(v.Name)).ToList();
        return new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Enum = values,
            Description = Comments.Of(type.Declaration) ?? $"{type.FullName}, as the value's name.",
        };
    }

    private void Fill(OpenApiSchema schema, MessageDescriptor message)
    {
        schema.Description = Comments.Of(message.Declaration);
        if (WellKnownScalar(message) is { } scalar)
        {
            schema.Type = scalar.Type;
            schema.Format = scalar.Format;
            schema.Pattern = scalar.Pattern;
            schema.ContentEncoding = scalar.ContentEncoding;
            schema.Minimum = scalar.Minimum;
            schema.Maximum = scalar.Maximum;
            schema.Description ??= scalar.Description ?? $"{message.FullName}: JSON {scalar.Type} or null.";
            return;
        }

        switch (message.FullName)
        {
            case "google.protobuf.Struct":
                schema.Type = JsonSchemaType.Object;
                schema.AdditionalProperties = new OpenApiSchema();
                schema.Description ??= "Any JSON object.";
                return;
            case "google.protobuf.Value":
                schema.Description ??= "Any JSON value.";
                return;
            case "google.protobuf.ListValue":
                schema.Type = JsonSchemaType.Array;
                schema.Items = new OpenApiSchema();
                schema.Description ??= "Any JSON array.";
                return;
            case "google.protobuf.Empty":
                schema.Type = JsonSchemaType.Object;
                schema.Description ??= "An empty JSON object.";
                return;
            case "google.protobuf.Any":
                schema.Type = JsonSchemaType.Object;
                schema.Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
                {
                    ["@type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The packed message's type URL, e.g. 'type.googleapis.com/google.rpc.BadRequest'." },
                };
                schema.Required = new HashSet<string>(StringComparer.Ordinal) { "@type" };
                schema.AdditionalProperties = new OpenApiSchema();
                schema.Description ??= "A message of the type '@type' names, its fields beside '@type' (a well-known type's JSON as 'value').";
                return;
        }

        schema.Type = JsonSchemaType.Object;
        schema.Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            var property = Field(field);
            var oneof = field.RealContainingOneof;
            var note = oneof is null
                ? null
                : $"One of the oneof '{oneof.Name}': at most one of {string.Join(", ", oneof.Fields.Select(f => "'" + f.JsonName + "'"))} is set.";
            var description = Join(Comments.Of(field.Declaration), note);
            if (description is not null)
            {
                property = Describe(property, description);
            }

            schema.Properties.Add(field.JsonName, property);
        }

        var oneofs = message.Oneofs.Where(o => !o.IsSynthetic).ToList();
        if (oneofs.Count > 0)
        {
            var map = new JsonObject();
            foreach (var oneof in oneofs)
            {
                map[oneof.Name] = new JsonArray([.. oneof.Fields.Select(f => (JsonNode)JsonValue.Create(f.JsonName))]);
            }

            schema.Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal) { ["x-oneof"] = new JsonNodeExtension(map) };
        }
    }

    // A reference takes a description beside $ref (OpenAPI 3.1); an inline schema takes it in place.
    private static IOpenApiSchema Describe(IOpenApiSchema schema, string description)
    {
        switch (schema)
        {
            case OpenApiSchemaReference reference:
                reference.Description = description;
                return reference;
            case OpenApiSchema inline:
                inline.Description = inline.Description is null ? description : inline.Description + " " + description;
                return inline;
            default:
                return schema;
        }
    }

    private static string? Join(string? first, string? second) =>
        first is null ? second : second is null ? first : first + "\n\n" + second;
}

/// <summary>Comments from the .proto, when the descriptors kept source info (protoc drops it from generated code, so usually none).</summary>
internal static class Comments
{
    /// <summary>The leading comment (else the trailing one), trimmed; null when there is none.</summary>
    public static string? Of(DescriptorDeclaration? declaration)
    {
        var text = declaration?.LeadingComments is { Length: > 0 } leading ? leading : declaration?.TrailingComments;
        text = text?.Trim();
        return string.IsNullOrEmpty(text) ? null : text;
    }
}
