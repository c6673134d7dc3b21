using GameSystem.Mesh;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace GameSystem.Gateway;

/// <summary>
/// The proto3 JSON mapping, through Google.Protobuf's own parser and formatter: unknown fields
/// are refused (naming the field), enums travel as names, 64-bit integers as strings, every
/// field is written (zero values too, so a client always sees the whole shape), and the
/// well-known types as the mapping says. Its type registry knows every contract's messages and
/// google.rpc's error details, so <c>Any</c> values (error details) are written in full.
/// </summary>
internal sealed class ProtoJson
{
    public ProtoJson(IEnumerable<MeshServiceInfo> services)
    {
        var files = services.Select(s => s.Descriptor.File)
            .Append(Google.Rpc.ErrorDetailsReflection.Descriptor)
            .Append(Google.Rpc.StatusReflection.Descriptor)
            .Distinct()
            .ToArray();
        Registry = TypeRegistry.FromFiles(files);
        Parser = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(false).WithTypeRegistry(Registry));
        Formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithTypeRegistry(Registry));
    }

    /// <summary>Every message type the gateway can meet inside an <c>Any</c>.</summary>
    public TypeRegistry Registry { get; }

    /// <summary>Parses request bodies and query values of well-known types.</summary>
    public JsonParser Parser { get; }

    /// <summary>Writes responses and error bodies.</summary>
    public JsonFormatter Formatter { get; }
}
