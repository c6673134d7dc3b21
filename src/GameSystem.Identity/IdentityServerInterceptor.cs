using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using GameSystem.Identity.Internal;
using GameSystem.Mesh;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GameSystem.Identity;

/// <summary>
/// The server side of caller identity: before a handler runs, verifies the access token the
/// call carries as <c>authorization: Bearer …</c> metadata, records the principal on the
/// <see cref="ServerCallContext"/> (<see cref="MeshPrincipalExtensions.GetPrincipal"/>), and
/// enforces what the contract declares: <c>access</c> (public, authenticated, internal to
/// services) and <c>required_scopes</c>. UNAUTHENTICATED for a missing or bad token,
/// PERMISSION_DENIED naming what is missing; the handler never sees such a call.
/// </summary>
public sealed class IdentityServerInterceptor : MeshServerInterceptor
{
    /// <summary>The metadata key a caller sends its token under.</summary>
    public const string AuthorizationHeader = "authorization";

    private readonly AccessTokenValidator _validator;
    private readonly FrozenDictionary<string, MeshMethod> _methods;
    private readonly ILogger _logger;

    /// <summary>Creates the interceptor for the methods of <paramref name="services"/> (a call to any other method is refused).</summary>
    public IdentityServerInterceptor(AccessTokenValidator validator, IEnumerable<MeshServiceInfo> services, ILogger<IdentityServerInterceptor>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        _validator = validator ?? throw new ArgumentNullException(nameof(validator));
        _methods = services.SelectMany(s => s.Methods).ToFrozenDictionary(m => m.Path, StringComparer.Ordinal);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public override ValueTask<TResponse> UnaryAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, MeshUnaryHandler<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);

        // A token verified before authorizes without awaiting: the handler runs straight on.
        var authorized = AuthorizeAsync(context);
        if (authorized.IsCompletedSuccessfully)
        {
            return continuation(request, context);
        }

        return AfterAuthorization(authorized, request, context, continuation);

        static async ValueTask<TResponse> AfterAuthorization(ValueTask authorized, TRequest request, ServerCallContext context, MeshUnaryHandler<TRequest, TResponse> continuation)
        {
            await authorized.ConfigureAwait(false);
            return await continuation(request, context).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(TRequest request, ServerCallContext context, MeshServerStreamingHandler<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return Stream(request, context, continuation);
    }

    private async IAsyncEnumerable<TResponse> Stream<TRequest, TResponse>(TRequest request, ServerCallContext context, MeshServerStreamingHandler<TRequest, TResponse> continuation, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        await AuthorizeAsync(context).ConfigureAwait(false);
        await foreach (var response in continuation(request, context).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return response;
        }
    }

    /// <summary>Verifies the call's token and checks the method's access (<see cref="MethodAccess"/>); throws the status to answer otherwise.</summary>
    private ValueTask AuthorizeAsync(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!_methods.TryGetValue(context.Method, out var method))
        {
            throw Refuse(context, StatusCode.PermissionDenied, $"{context.Method} is not a method this server authorizes.");
        }

        var decided = MethodAccess.CheckAsync(_validator, method, context.RequestHeaders.GetValue(AuthorizationHeader), context.CancellationToken);
        if (decided.IsCompletedSuccessfully)
        {
            Apply(context, decided.Result);
            return ValueTask.CompletedTask;
        }

        return ApplyAsync(context, decided);

        async ValueTask ApplyAsync(ServerCallContext context, ValueTask<AccessDecision> decided) =>
            Apply(context, await decided.ConfigureAwait(false));
    }

    private void Apply(ServerCallContext context, AccessDecision decision)
    {
        if (decision.Principal is { } principal)
        {
            context.SetVerifiedPrincipal(principal);
        }

        if (!decision.IsAllowed)
        {
            throw Refuse(context, decision.Refusal, decision.Message);
        }
    }

    private RpcException Refuse(ServerCallContext context, StatusCode code, string message)
    {
        Log.CallRefused(_logger, context.Method, message);
        return MeshStatus.Error(code, message);
    }
}
