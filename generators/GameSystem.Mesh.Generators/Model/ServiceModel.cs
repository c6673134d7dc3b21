namespace GameSystem.Mesh.Generators.Model;

/// <summary>The kinds of rpc protoc can declare.</summary>
internal enum RpcKind
{
    Unary,
    ServerStreaming,
    ClientStreaming,
    DuplexStreaming,
}

/// <summary>One service, as extracted from the code Grpc.Tools generated. Value-equal: no symbols inside.</summary>
/// <param name="Namespace">C# namespace of the contract (from <c>csharp_namespace</c>).</param>
/// <param name="ServiceClass">The static class Grpc.Tools generated, e.g. <c>TimeManagerService</c>.</param>
/// <param name="FullName">The proto full name, e.g. <c>gamesystem.time_manager.v1.TimeManagerService</c>.</param>
/// <param name="Summary">The service's comment in the .proto, or empty.</param>
/// <param name="Methods">The rpcs the mesh serves, in declaration order.</param>
internal sealed record ServiceModel(
    string Namespace,
    string ServiceClass,
    string FullName,
    string Summary,
    EquatableArray<MethodModel> Methods)
{
    public string InterfaceName => "I" + ServiceClass;

    public string ClientName => ServiceClass + "Client";

    public string DispatcherName => ServiceClass + "Dispatcher";
}

/// <param name="Name">The rpc name, e.g. <c>GetClock</c>.</param>
/// <param name="Field">The <c>grpc::Method</c> field Grpc.Tools generated, e.g. <c>__Method_GetClock</c>.</param>
/// <param name="RequestType">Fully qualified request type.</param>
/// <param name="ResponseType">Fully qualified response type.</param>
/// <param name="Kind">Unary or server streaming (the others never reach a model).</param>
/// <param name="Summary">The rpc's comment in the .proto, or empty.</param>
internal sealed record MethodModel(
    string Name,
    string Field,
    string RequestType,
    string ResponseType,
    RpcKind Kind,
    string Summary);

/// <summary>What extraction found for one service: a model to emit and diagnostics to report.</summary>
internal sealed record ParseResult(ServiceModel? Service, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>A diagnostic as plain data, so it can travel through the cached pipeline.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments);

/// <summary>A source location as plain data.</summary>
internal sealed record LocationInfo(string FilePath, int Start, int Length, int StartLine, int StartCharacter, int EndLine, int EndCharacter)
{
    public Microsoft.CodeAnalysis.Location ToLocation() =>
        Microsoft.CodeAnalysis.Location.Create(
            FilePath,
            new Microsoft.CodeAnalysis.Text.TextSpan(Start, Length),
            new Microsoft.CodeAnalysis.Text.LinePositionSpan(
                new Microsoft.CodeAnalysis.Text.LinePosition(StartLine, StartCharacter),
                new Microsoft.CodeAnalysis.Text.LinePosition(EndLine, EndCharacter)));

    public static LocationInfo? From(Microsoft.CodeAnalysis.Location? location)
    {
        if (location is null || location.SourceTree is null)
        {
            return null;
        }

        var span = location.GetLineSpan();
        return new LocationInfo(span.Path, location.SourceSpan.Start, location.SourceSpan.Length,
            span.StartLinePosition.Line, span.StartLinePosition.Character, span.EndLinePosition.Line, span.EndLinePosition.Character);
    }
}
