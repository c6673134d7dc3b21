using Grpc.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>
/// Reads nats-server's permission errors. A publish the connection's user may not make is not
/// refused in reply to the publish: the server drops the message and sends
/// <c>-ERR 'Permissions Violation for Publish to "&lt;subject&gt;"'</c> on the connection, which
/// NATS.Net raises as <see cref="NATS.Client.Core.NatsConnection.ServerError"/>. Matching that
/// subject to the calls waiting on it ends them with PERMISSION_DENIED at once, where they would
/// otherwise wait for their deadline.
/// </summary>
internal static class PermissionViolation
{
    private const string Publish = "Permissions Violation for Publish to ";

    /// <summary>The subject of a publish violation, or null for any other server error.</summary>
    public static string? PublishSubject(string? error)
    {
        var text = error.AsSpan().Trim().Trim('\'');
        if (!text.StartsWith(Publish, StringComparison.Ordinal))
        {
            return null;
        }

        var subject = text[Publish.Length..].Trim().Trim('"');
        return subject.IsEmpty ? null : subject.ToString();
    }

    public static RpcException Denied(MeshMethod method, string subject) => new(new Status(StatusCode.PermissionDenied,
        $"{method.Path}: this connection's NATS user may not publish to {subject}; the server's permissions do not let this process call {method.ServiceFullName}. " +
        "Declare the dependency (take its generated client in the service's constructor) and regenerate the NATS permissions."));
}
