using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using System.Xml.Linq;
using GameSystem.Mesh.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GameSystem.Mesh.Generators.Parsing;

/// <summary>
/// Reads one service from what protoc (Grpc.Tools) put in the compilation: the static
/// service class with its <c>grpc::Method</c> fields, found through the
/// <c>[BindServiceMethod]</c> attribute on its generated server base class. protoc stays
/// the only parser of .proto files.
/// </summary>
internal static class ServiceParser
{
    public const string BindServiceMethodAttribute = "Grpc.Core.BindServiceMethodAttribute";
    private const string GrpcMethodType = "Grpc.Core.Method<TRequest, TResponse>";

    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol serverBase || serverBase.ContainingType is not { } serviceClass)
        {
            return new ParseResult(null, default);
        }

        var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        var fullName = ReadServiceName(serviceClass, context.SemanticModel, cancellationToken) ?? serviceClass.Name;
        var methods = ImmutableArray.CreateBuilder<MethodModel>();
        foreach (var field in serviceClass.GetMembers().OfType<IFieldSymbol>())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (field.Type is not INamedTypeSymbol { TypeArguments.Length: 2 } fieldType
                || fieldType.OriginalDefinition.ToDisplayString() != GrpcMethodType)
            {
                continue;
            }

            var location = field.Locations.FirstOrDefault();
            var arguments = ReadConstructorArguments(field, cancellationToken);
            if (arguments.Count < 3)
            {
                diagnostics.Add(new DiagnosticInfo(Diagnostics.UnreadableMethod.Id, LocationInfo.From(location),
                    new[] { fullName, field.Name, "no 'new grpc::Method<,>(type, service, name, ...)' initializer" }.ToEquatableArray()));
                continue;
            }

            var model = SemanticModelFor(context, arguments[0]);
            var kindName = (model.GetSymbolInfo(arguments[0].Expression, cancellationToken).Symbol as IFieldSymbol)?.Name;
            var name = model.GetConstantValue(arguments[2].Expression, cancellationToken).Value as string;
            if (name is null || kindName is null || !System.Enum.TryParse<RpcKind>(kindName, out var kind))
            {
                diagnostics.Add(new DiagnosticInfo(Diagnostics.UnreadableMethod.Id, LocationInfo.From(location),
                    new[] { fullName, field.Name, "method type or name is not a constant" }.ToEquatableArray()));
                continue;
            }

            var request = fieldType.TypeArguments[0].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            var response = fieldType.TypeArguments[1].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            if (kind is RpcKind.ClientStreaming or RpcKind.DuplexStreaming)
            {
                var descriptor = kind == RpcKind.ClientStreaming ? Diagnostics.ClientStreamingNotSupported : Diagnostics.DuplexStreamingNotSupported;
                diagnostics.Add(new DiagnosticInfo(descriptor.Id, LocationInfo.From(location),
                    new[] { fullName, name, fieldType.TypeArguments[0].Name }.ToEquatableArray()));
                continue;
            }

            var summary = Summary(serverBase.GetMembers(name).FirstOrDefault(), cancellationToken);
            methods.Add(new MethodModel(name, field.Name, request, response, kind, summary));
        }

        if (methods.Count == 0 && diagnostics.Count == 0)
        {
            diagnostics.Add(new DiagnosticInfo(Diagnostics.ServiceHasNoMethods.Id, LocationInfo.From(serviceClass.Locations.FirstOrDefault()),
                new[] { fullName }.ToEquatableArray()));
        }

        var service = methods.Count == 0
            ? null
            : new ServiceModel(
                serviceClass.ContainingNamespace.IsGlobalNamespace ? string.Empty : serviceClass.ContainingNamespace.ToDisplayString(),
                serviceClass.Name,
                fullName,
                Summary(serviceClass, cancellationToken),
                methods.ToEquatableArray());
        return new ParseResult(service, diagnostics.ToEquatableArray());
    }

    private static SemanticModel SemanticModelFor(GeneratorAttributeSyntaxContext context, SyntaxNode node) =>
        node.SyntaxTree == context.SemanticModel.SyntaxTree
            ? context.SemanticModel
            : context.SemanticModel.Compilation.GetSemanticModel(node.SyntaxTree);

    private static SeparatedSyntaxList<ArgumentSyntax> ReadConstructorArguments(IFieldSymbol field, CancellationToken cancellationToken)
    {
        var syntax = field.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) as VariableDeclaratorSyntax;
        return syntax?.Initializer?.Value switch
        {
            ObjectCreationExpressionSyntax { ArgumentList: { } list } => list.Arguments,
            ImplicitObjectCreationExpressionSyntax implicitCreation => implicitCreation.ArgumentList.Arguments,
            _ => default,
        };
    }

    // Grpc.Tools declares `static readonly string __ServiceName = "package.Service";`.
    private static string? ReadServiceName(INamedTypeSymbol serviceClass, SemanticModel model, CancellationToken cancellationToken)
    {
        var field = serviceClass.GetMembers("__ServiceName").OfType<IFieldSymbol>().FirstOrDefault();
        var syntax = field?.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) as VariableDeclaratorSyntax;
        if (syntax?.Initializer?.Value is not { } value)
        {
            return null;
        }

        var semanticModel = value.SyntaxTree == model.SyntaxTree ? model : model.Compilation.GetSemanticModel(value.SyntaxTree);
        return semanticModel.GetConstantValue(value, cancellationToken).Value as string;
    }

    // Grpc.Tools copies the .proto comment of a service or rpc into a <summary>.
    private static string Summary(ISymbol? symbol, CancellationToken cancellationToken)
    {
        var xml = symbol?.GetDocumentationCommentXml(cancellationToken: cancellationToken);
        if (string.IsNullOrWhiteSpace(xml))
        {
            return string.Empty;
        }

        try
        {
            var summary = XElement.Parse(xml).Element("summary");
            if (summary is null)
            {
                return string.Empty;
            }

            var text = new StringBuilder();
            foreach (var line in summary.Value.Split('\n'))
            {
                var trimmed = line.Trim();
                if (trimmed.Length > 0)
                {
                    text.Append(text.Length > 0 ? " " : string.Empty).Append(trimmed);
                }
            }

            return text.ToString();
        }
        catch (System.Xml.XmlException)
        {
            return string.Empty;
        }
    }
}
