using System.Buffers;
using System.Collections.Immutable;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using GameSystem.Mesh.Contracts.V1;

namespace GameSystem.Mesh;

/// <summary>
/// One rpc of a contract as the mesh sees it: its names, its kind, and the options the
/// contract declares for it (idempotency, default timeout, HTTP binding, required fields).
/// Built once per method by generated code, from what protoc put in the compilation.
/// </summary>
public abstract class MeshMethod
{
    private protected MeshMethod(MethodDescriptor descriptor, MethodType type)
    {
        Descriptor = descriptor;
        Type = type;
        Path = $"/{descriptor.Service.FullName}/{descriptor.Name}";
        var options = descriptor.GetOptions();
        Idempotency = options?.IdempotencyLevel ?? MethodOptions.Types.IdempotencyLevel.IdempotencyUnknown;
        DefaultTimeout = ReadTimeout(options?.GetExtension(OptionsExtensions.Method)?.DefaultTimeout)
            ?? ReadTimeout(descriptor.Service.GetOptions()?.GetExtension(OptionsExtensions.Service)?.DefaultTimeout);
        Http = options?.GetExtension(AnnotationsExtensions.Http);
        var methodMesh = options?.GetExtension(OptionsExtensions.Method);
        var serviceMesh = descriptor.Service.GetOptions()?.GetExtension(OptionsExtensions.Service);
        Access = methodMesh?.Access is { } access and not MeshAccess.Unspecified ? access
            : serviceMesh?.Access is { } shared and not MeshAccess.Unspecified ? shared
            : DefaultAccess(descriptor.Service);
        RequiredScopes = [.. (serviceMesh?.RequiredScopes ?? []).Concat(methodMesh?.RequiredScopes ?? []).Distinct(StringComparer.Ordinal)];
        RequiredFields = [.. descriptor.InputType.Fields.InFieldNumberOrder().Where(IsRequired)];
    }

    /// <summary>The protobuf descriptor of the rpc.</summary>
    public MethodDescriptor Descriptor { get; }

    /// <summary>Unary or server streaming (the only kinds the mesh serves).</summary>
    public MethodType Type { get; }

    /// <summary>The rpc name, e.g. <c>GetClock</c>.</summary>
    public string Name => Descriptor.Name;

    /// <summary>The full name of the service, e.g. <c>gamesystem.time_manager.v1.TimeManagerService</c>.</summary>
    public string ServiceFullName => Descriptor.Service.FullName;

    /// <summary>The gRPC path, e.g. <c>/gamesystem.time_manager.v1.TimeManagerService/GetClock</c>.</summary>
    public string Path { get; }

    /// <summary>The contract's <c>idempotency_level</c>: whether a retry is safe.</summary>
    public MethodOptions.Types.IdempotencyLevel Idempotency { get; }

    /// <summary>True when the contract says a failed call may be retried without harm.</summary>
    public bool IsRetrySafe => Idempotency is MethodOptions.Types.IdempotencyLevel.NoSideEffects
        or MethodOptions.Types.IdempotencyLevel.Idempotent;

    /// <summary>The deadline clients apply when the caller sets none (method, then service option).</summary>
    public TimeSpan? DefaultTimeout { get; }

    /// <summary>The <c>google.api.http</c> binding, or null for an internal-only method.</summary>
    public HttpRule? Http { get; }

    /// <summary>
    /// Who may call the method (the method's <c>access</c> option, else the service's, else
    /// <see cref="MeshAccess.Authenticated"/>): never <see cref="MeshAccess.Unspecified"/>.
    /// </summary>
    public MeshAccess Access { get; }

    /// <summary>Scopes a caller's token must hold: the service's <c>required_scopes</c>, then the method's.</summary>
    public ImmutableArray<string> RequiredScopes { get; }

    /// <summary>Request fields marked <c>(google.api.field_behavior) = REQUIRED</c>.</summary>
    public ImmutableArray<FieldDescriptor> RequiredFields { get; }

    /// <summary>
    /// Names the first required field that <paramref name="request"/> leaves unset, or
    /// returns null. Proto3 cannot tell an unset scalar from its zero value, so a required
    /// scalar must be non-zero, as Google's AIP-203 reads REQUIRED.
    /// </summary>
    public string? FindMissingRequiredField(IMessage request)
    {
        foreach (var field in RequiredFields)
        {
            var value = field.Accessor.GetValue(request);
            var missing = value switch
            {
                null => true,
                string s => s.Length == 0,
                ByteString b => b.IsEmpty,
                System.Collections.ICollection c => c.Count == 0,
                bool b => !b,
                int i => i == 0 && !field.FieldType.Equals(FieldType.Enum),
                long l => l == 0,
                uint u => u == 0,
                ulong u => u == 0,
                double d => d == 0,
                float f => f == 0,
                _ => field.FieldType == FieldType.Enum && Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) == 0,
            };
            if (missing)
            {
                return field.Name;
            }
        }

        return null;
    }

    /// <summary>
    /// Hands this method, typed, to <paramref name="visitor"/>: how code that holds only a
    /// <see cref="MeshMethod"/> (a CLI, a gateway) calls it through <see cref="IMeshCallInvoker"/>
    /// without reflection.
    /// </summary>
    public abstract TResult Accept<TResult>(IMeshMethodVisitor<TResult> visitor);

    /// <summary>
    /// Who may call a service that declares no <c>access</c>. The standard gRPC health service is
    /// compiled verbatim, so it cannot carry our options: it is public by this rule, as health
    /// checks are everywhere (orchestrators and clients in other languages hold no token), and
    /// every reader of <see cref="Access"/> (the identity interceptor, the gateway, discovery)
    /// sees the same answer. It tells only whether services are serving.
    /// </summary>
    private static MeshAccess DefaultAccess(ServiceDescriptor service) =>
        service.FullName == Grpc.Health.V1.Health.Descriptor.FullName ? MeshAccess.Public : MeshAccess.Authenticated;

    private static bool IsRequired(FieldDescriptor field) =>
        field.GetOptions()?.GetExtension(FieldBehaviorExtensions.FieldBehavior)?.Contains(FieldBehavior.Required) == true;

    private static TimeSpan? ReadTimeout(Google.Protobuf.WellKnownTypes.Duration? duration) =>
        duration is null ? null : duration.ToTimeSpan();
}

/// <summary>A typed rpc: <see cref="MeshMethod"/> plus the protobuf codecs of its messages.</summary>
/// <typeparam name="TRequest">The request message.</typeparam>
/// <typeparam name="TResponse">The response message (for a stream, each streamed message).</typeparam>
public sealed class MeshMethod<TRequest, TResponse> : MeshMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly MessageParser<TRequest> _requestParser = new(static () => new TRequest());
    private readonly MessageParser<TResponse> _responseParser = new(static () => new TResponse());

    /// <summary>Builds the mesh view of a method that Grpc.Tools generated.</summary>
    /// <param name="method">The gRPC method definition from the generated service class.</param>
    /// <param name="service">The service descriptor from the generated service class.</param>
    public MeshMethod(Method<TRequest, TResponse> method, ServiceDescriptor service)
        : base(FindMethod(method, service), method.Type)
    {
        if (method.Type is not (MethodType.Unary or MethodType.ServerStreaming))
        {
            throw new ArgumentException(
                $"{method.FullName} is {method.Type}; the mesh serves unary and server-streaming methods only.",
                nameof(method));
        }
    }

    /// <inheritdoc/>
    public override TResult Accept<TResult>(IMeshMethodVisitor<TResult> visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        return visitor.Visit(this);
    }

    /// <summary>Parses a request; throws <see cref="InvalidProtocolBufferException"/> on malformed input.</summary>
    public TRequest ParseRequest(in ReadOnlySequence<byte> payload) => _requestParser.ParseFrom(payload);

    /// <summary>Parses a response; throws <see cref="InvalidProtocolBufferException"/> on malformed input.</summary>
    public TResponse ParseResponse(in ReadOnlySequence<byte> payload) => _responseParser.ParseFrom(payload);

    private static MethodDescriptor FindMethod(Method<TRequest, TResponse> method, ServiceDescriptor service)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(service);
        return service.FindMethodByName(method.Name)
            ?? throw new ArgumentException($"{service.FullName} has no method {method.Name}.", nameof(method));
    }
}

/// <summary>Works with a <see cref="MeshMethod"/> whose message types are known only at run time.</summary>
/// <typeparam name="TResult">What the visit returns.</typeparam>
public interface IMeshMethodVisitor<out TResult>
{
    /// <summary>Visits the typed method.</summary>
    TResult Visit<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();
}
