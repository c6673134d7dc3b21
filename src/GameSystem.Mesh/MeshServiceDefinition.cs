using System.Collections.Immutable;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace GameSystem.Mesh;

/// <summary>Handles one unary call on the server.</summary>
public delegate ValueTask<TResponse> MeshUnaryHandler<TRequest, TResponse>(TRequest request, ServerCallContext context);

/// <summary>Handles one server-streaming call: the enumeration is the stream.</summary>
public delegate IAsyncEnumerable<TResponse> MeshServerStreamingHandler<TRequest, TResponse>(TRequest request, ServerCallContext context);

/// <summary>
/// A service implementation bound to its methods, ready for a transport to serve. Built
/// by the generated dispatcher (<c>{Service}Dispatcher.Bind</c>), as grpc-dotnet's
/// <c>BindService</c> builds a <c>ServerServiceDefinition</c>.
/// </summary>
public sealed class MeshServiceDefinition
{
    private MeshServiceDefinition(ServiceDescriptor descriptor, ImmutableArray<MeshMethodBinding> methods, bool isImplemented)
    {
        Descriptor = descriptor;
        Methods = methods;
        IsImplemented = isImplemented;
        Name = MeshServiceInfo.ShortName(descriptor);
    }

    /// <summary>
    /// False for a contract served without an implementation: every method answers
    /// UNIMPLEMENTED, and discovery lists the service as not implemented.
    /// </summary>
    public bool IsImplemented { get; }

    /// <summary>The short service name (see <see cref="MeshServiceInfo.Name"/>).</summary>
    public string Name { get; }

    /// <summary>The protobuf descriptor of the service.</summary>
    public ServiceDescriptor Descriptor { get; }

    /// <summary>The full service name, e.g. <c>gamesystem.time_manager.v1.TimeManagerService</c>.</summary>
    public string FullName => Descriptor.FullName;

    /// <summary>Every method with its handler.</summary>
    public ImmutableArray<MeshMethodBinding> Methods { get; }

    /// <summary>Starts a definition for <paramref name="descriptor"/>.</summary>
    public static Builder CreateBuilder(ServiceDescriptor descriptor) => new(descriptor);

    /// <summary>
    /// A contract with no implementation yet: served so that callers get a precise
    /// UNIMPLEMENTED instead of "no responders", and listed as such.
    /// </summary>
    public static MeshServiceDefinition Unimplemented(ServiceDescriptor descriptor) =>
        new(descriptor ?? throw new ArgumentNullException(nameof(descriptor)), [], isImplemented: false);

    /// <summary>Collects the bindings of one service.</summary>
    public sealed class Builder
    {
        private readonly ServiceDescriptor _descriptor;
        private readonly ImmutableArray<MeshMethodBinding>.Builder _methods = ImmutableArray.CreateBuilder<MeshMethodBinding>();

        internal Builder(ServiceDescriptor descriptor) => _descriptor = descriptor ?? throw new ArgumentNullException(nameof(descriptor));

        /// <summary>Binds a unary method.</summary>
        public Builder AddUnary<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, MeshUnaryHandler<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
        {
            _methods.Add(new MeshUnaryBinding<TRequest, TResponse>(Check(method, MethodType.Unary), handler));
            return this;
        }

        /// <summary>Binds a server-streaming method.</summary>
        public Builder AddServerStreaming<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, MeshServerStreamingHandler<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
        {
            _methods.Add(new MeshServerStreamingBinding<TRequest, TResponse>(Check(method, MethodType.ServerStreaming), handler));
            return this;
        }

        /// <summary>Finishes the definition.</summary>
        public MeshServiceDefinition Build() => new(_descriptor, _methods.ToImmutable(), isImplemented: true);

        private TMethod Check<TMethod>(TMethod method, MethodType expected)
            where TMethod : MeshMethod
        {
            ArgumentNullException.ThrowIfNull(method);
            if (method.Descriptor.Service != _descriptor)
            {
                throw new ArgumentException($"{method.Path} does not belong to {_descriptor.FullName}.", nameof(method));
            }

            if (method.Type != expected)
            {
                throw new ArgumentException($"{method.Path} is {method.Type}, not {expected}.", nameof(method));
            }

            return method;
        }
    }
}

/// <summary>One method of a <see cref="MeshServiceDefinition"/> with its handler.</summary>
public abstract class MeshMethodBinding
{
    private protected MeshMethodBinding()
    {
    }

    /// <summary>The method.</summary>
    public abstract MeshMethod Method { get; }

    /// <summary>Lets a transport build its typed handling code without reflection.</summary>
    public abstract TResult Accept<TResult>(IMeshBindingVisitor<TResult> visitor);
}

/// <summary>A unary method and its handler.</summary>
public sealed class MeshUnaryBinding<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, MeshUnaryHandler<TRequest, TResponse> handler)
    : MeshMethodBinding
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    /// <inheritdoc/>
    public override MeshMethod Method => TypedMethod;

    /// <summary>The typed method.</summary>
    public MeshMethod<TRequest, TResponse> TypedMethod { get; } = method;

    /// <summary>The service's handler.</summary>
    public MeshUnaryHandler<TRequest, TResponse> Handler { get; } = handler ?? throw new ArgumentNullException(nameof(handler));

    /// <inheritdoc/>
    public override TResult Accept<TResult>(IMeshBindingVisitor<TResult> visitor) => visitor.VisitUnary(this);
}

/// <summary>A server-streaming method and its handler.</summary>
public sealed class MeshServerStreamingBinding<TRequest, TResponse>(MeshMethod<TRequest, TResponse> method, MeshServerStreamingHandler<TRequest, TResponse> handler)
    : MeshMethodBinding
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    /// <inheritdoc/>
    public override MeshMethod Method => TypedMethod;

    /// <summary>The typed method.</summary>
    public MeshMethod<TRequest, TResponse> TypedMethod { get; } = method;

    /// <summary>The service's handler.</summary>
    public MeshServerStreamingHandler<TRequest, TResponse> Handler { get; } = handler ?? throw new ArgumentNullException(nameof(handler));

    /// <inheritdoc/>
    public override TResult Accept<TResult>(IMeshBindingVisitor<TResult> visitor) => visitor.VisitServerStreaming(this);
}

/// <summary>Visits bindings with their message types known.</summary>
public interface IMeshBindingVisitor<out TResult>
{
    /// <summary>Visits a unary binding.</summary>
    TResult VisitUnary<TRequest, TResponse>(MeshUnaryBinding<TRequest, TResponse> binding)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>Visits a server-streaming binding.</summary>
    TResult VisitServerStreaming<TRequest, TResponse>(MeshServerStreamingBinding<TRequest, TResponse> binding)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();
}
