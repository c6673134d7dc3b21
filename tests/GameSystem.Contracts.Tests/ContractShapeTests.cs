using System.Text.RegularExpressions;
using GameSystem.Mesh;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using GameSystem.Mesh.Contracts.V1;

namespace GameSystem.Contracts.Tests;

/// <summary>Rules every contract keeps, checked on the compiled descriptors, so a change to protos/ that breaks one fails here.</summary>
public sealed partial class ContractShapeTests
{
    [Fact]
    public void EveryProtoFile_IsCompiledIntoTheContracts()
    {
        var protos = Path.Combine(Contracts.RepositoryRoot, "protos");
        var onDisk = Directory.EnumerateFiles(protos, "*.proto", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(protos, p).Replace('\\', '/'))
            .Where(p => !p.StartsWith("gamesystem/mesh/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

        var compiled = Contracts.Files.Select(f => f.Name).Where(n => n.StartsWith("gamesystem/", StringComparison.Ordinal)).Order(StringComparer.Ordinal);

        Assert.Equal(onDisk, compiled);
    }

    [Fact]
    public void TheTwentyTwoServicesOfTheGame_AreAllContracted()
    {
        // SERVICES.md names twenty-two services; each has its own versioned package.
        Assert.Equal(22, Contracts.Services.Length);
        Assert.All(Contracts.Services, s => Assert.Matches(@"^gamesystem\.[a-z_]+\.v1$", s.File.Package));
        Assert.Equal(Contracts.Services.Length, Contracts.Services.Select(s => s.File.Package).Distinct().Count());
    }

    [Fact]
    public void EveryService_HasAGeneratedClientInterfaceAndDispatcher()
    {
        Assert.Equal(
            Contracts.Services.Select(s => s.FullName).Order(StringComparer.Ordinal),
            Contracts.Catalog.Select(i => i.FullName));
        Assert.All(Contracts.Catalog, info =>
        {
            Assert.True(info.ServiceInterface.IsInterface, $"{info.ServiceInterface} is not an interface");
            Assert.Equal(info.Descriptor.Methods.Count, info.ServiceInterface.GetMethods().Length);
            Assert.All(info.Descriptor.Methods, m => Assert.NotNull(info.ClientType.GetMethod(m.Name + "Async", [m.InputType.ClrType, typeof(Grpc.Core.CallOptions)])));
        });
    }

    [Fact]
    public void EveryServiceInTheCatalog_ListsEachOfItsRpcsInContractOrder() =>
        Assert.All(Contracts.Catalog, info =>
            Assert.Equal(info.Descriptor.Methods.Select(m => m.FullName), info.Methods.Select(m => m.Descriptor.FullName)));

    [Fact]
    public void AMethodFromTheCatalog_HandsItsMessageTypesToAVisitor()
    {
        var getClock = Contracts.Catalog.Single(i => i.Name == "time-manager").Methods.Single(m => m.Name == "GetClock");

        var types = getClock.Accept(new MessageTypes());

        Assert.Equal((typeof(GameSystem.TimeManager.V1.GetClockRequest), typeof(GameSystem.TimeManager.V1.GetClockResponse)), types);
    }

    [Fact]
    public void EveryRpc_IsUnaryOrServerStreaming() =>
        Assert.All(Contracts.Methods, m => Assert.False(m.IsClientStreaming, $"{m.FullName} is client streaming"));

    [Fact]
    public void ReadRpcs_AreMarkedNoSideEffects()
    {
        var reads = Contracts.Methods.Where(m => ReadVerb().IsMatch(m.Name)).ToList();

        Assert.NotEmpty(reads);
        Assert.All(reads, m => Assert.True(
            Idempotency(m) == MethodOptions.Types.IdempotencyLevel.NoSideEffects
                || (m.IsServerStreaming && Idempotency(m) == MethodOptions.Types.IdempotencyLevel.Idempotent),
            $"{m.FullName} reads but is {Idempotency(m)}"));
    }

    [Fact]
    public void WritesCarryingARetryKey_AreMarkedIdempotent()
    {
        var retryKeys = new HashSet<string>(["request_id", "idempotency_key", "expected_version", "event_id", "action_id", "report_id"], StringComparer.Ordinal);
        var keyed = Contracts.Methods.Where(m => m.InputType.Fields.InDeclarationOrder().Any(f => retryKeys.Contains(f.Name))).ToList();

        Assert.NotEmpty(keyed);
        Assert.All(keyed, m => Assert.NotEqual(MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown, Idempotency(m)));
    }

    [Fact]
    public void EveryUnaryRpc_HasADefaultTimeout() =>
        Assert.All(Contracts.Methods.Where(m => !m.IsServerStreaming), m =>
            Assert.True(m.GetOptions()?.GetExtension(OptionsExtensions.Method)?.DefaultTimeout is not null
                || m.Service.GetOptions()?.GetExtension(OptionsExtensions.Service)?.DefaultTimeout is not null,
                $"{m.FullName} has no (gamesystem.mesh.v1.method).default_timeout"));

    [Fact]
    public void HttpBindings_NameFieldsOfTheirRequest()
    {
        var bound = Contracts.Methods.Where(m => Http(m) is not null).ToList();

        Assert.NotEmpty(bound);
        Assert.All(bound, m =>
        {
            var rule = Http(m)!;
            foreach (Match variable in PathVariable().Matches(PathOf(rule)))
            {
                Assert.True(ResolveField(m.InputType, variable.Groups["field"].Value), $"{m.FullName}: path variable '{variable.Groups["field"].Value}' is not a field of {m.InputType.FullName}");
            }

            Assert.True(rule.Body is "" or "*" || m.InputType.FindFieldByName(rule.Body) is not null, $"{m.FullName}: body '{rule.Body}' is not a field");
        });
    }

    [Fact]
    public void HttpBindings_AreUniqueAcrossTheMesh()
    {
        var routes = Contracts.Methods.Where(m => Http(m) is not null)
            .Select(m => (Method: m.FullName, Route: $"{Verb(Http(m)!)} {RouteShape(PathOf(Http(m)!))}"))
            .ToList();

        var duplicates = routes.GroupBy(r => r.Route).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(r => r.Method))}");

        Assert.Empty(duplicates);
    }

    private static MethodOptions.Types.IdempotencyLevel Idempotency(MethodDescriptor method) =>
        method.GetOptions()?.IdempotencyLevel ?? MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown;

    private static HttpRule? Http(MethodDescriptor method) => method.GetOptions()?.GetExtension(AnnotationsExtensions.Http);

    private static string Verb(HttpRule rule) => rule.PatternCase.ToString().ToUpperInvariant();

    private static string PathOf(HttpRule rule) => rule.PatternCase switch
    {
        HttpRule.PatternOneofCase.Get => rule.Get,
        HttpRule.PatternOneofCase.Post => rule.Post,
        HttpRule.PatternOneofCase.Put => rule.Put,
        HttpRule.PatternOneofCase.Patch => rule.Patch,
        HttpRule.PatternOneofCase.Delete => rule.Delete,
        HttpRule.PatternOneofCase.Custom => rule.Custom.Path,
        _ => string.Empty,
    };

    // `{name=players/*/checkpoints/*}` matches what its template matches; `{id}` matches one segment.
    private static string RouteShape(string path) =>
        PathVariable().Replace(path, v => v.Groups["template"].Success ? v.Groups["template"].Value : "*");

    private static bool ResolveField(MessageDescriptor message, string path)
    {
        var current = message;
        foreach (var part in path.Split('.'))
        {
            var field = current?.FindFieldByName(part);
            if (field is null)
            {
                return false;
            }

            current = field.FieldType == FieldType.Message ? field.MessageType : null;
        }

        return true;
    }

    [GeneratedRegex(@"^(Get|List|Search|Query|Watch|BatchGet|Check|Resolve|Export|Count|Select|Recommend)(?![a-z])")]
    private static partial Regex ReadVerb();

    [GeneratedRegex(@"\{(?<field>[a-z0-9_.]+)(=(?<template>[^}]*))?\}")]
    private static partial Regex PathVariable();

    private sealed class MessageTypes : IMeshMethodVisitor<(Type Request, Type Response)>
    {
        public (Type Request, Type Response) Visit<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            (typeof(TRequest), typeof(TResponse));
    }
}
