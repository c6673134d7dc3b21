using System.Linq;
using Microsoft.CodeAnalysis;

namespace GameSystem.Mesh.Generators;

/// <summary>Every diagnostic the generator reports. Each message says what to change in the .proto or the project.</summary>
internal static class Diagnostics
{
    private const string Category = "GameSystem.Mesh";

    public static readonly DiagnosticDescriptor ClientStreamingNotSupported = new(
        "GSMESH001",
        "Client-streaming rpcs are not supported by the mesh",
        "rpc {1} of service {0} is client streaming; the mesh serves unary and server-streaming rpcs only. In the .proto, take a single request message ('rpc {1}({2})' without 'stream'), or send a batch in one request.",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplexStreamingNotSupported = new(
        "GSMESH002",
        "Bidirectional-streaming rpcs are not supported by the mesh",
        "rpc {1} of service {0} is bidirectional streaming; the mesh serves unary and server-streaming rpcs only. In the .proto, drop 'stream' from the request ('rpc {1}({2}) returns (stream ...)') and send client updates as separate unary calls.",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ServiceHasNoMethods = new(
        "GSMESH003",
        "Service declares no rpc",
        "Service {0} declares no rpc, so the mesh generates nothing for it. Add an rpc to it in the .proto, or remove the service.",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MeshRuntimeMissing = new(
        "GSMESH004",
        "The mesh runtime is not referenced",
        "Project {0} compiles gRPC contracts but does not reference GameSystem.Mesh; add a ProjectReference to src/GameSystem.Mesh so the generated clients and dispatchers compile",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnreadableMethod = new(
        "GSMESH005",
        "A gRPC method definition could not be read",
        "Field {1} of {0} is not a method definition in the shape Grpc.Tools generates ({2}); regenerate the contracts with Grpc.Tools rather than writing grpc::Method fields by hand",
        Category,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    private static readonly DiagnosticDescriptor[] All =
        [ClientStreamingNotSupported, DuplexStreamingNotSupported, ServiceHasNoMethods, MeshRuntimeMissing, UnreadableMethod];

    public static DiagnosticDescriptor Find(string id) => All.First(d => d.Id == id);
}
