using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Mesh;

/// <summary>
/// Rich errors: a <c>google.rpc.Status</c> travels in the <c>grpc-status-details-bin</c>
/// trailer of an <see cref="RpcException"/>, as grpc-dotnet's Grpc.StatusProto does, so
/// services throw plain <see cref="RpcException"/>s and callers read details back.
/// </summary>
public static class MeshStatus
{
    /// <summary>The trailer that carries a serialized <c>google.rpc.Status</c>.</summary>
    public const string DetailsTrailer = "grpc-status-details-bin";

    /// <summary>Creates an exception with a status and optional detail messages (e.g. <c>google.rpc.BadRequest</c>).</summary>
    public static RpcException Error(StatusCode code, string message, params IMessage[] details)
    {
        ArgumentNullException.ThrowIfNull(details);
        var trailers = new Metadata();
        if (details.Length > 0)
        {
            var status = new Google.Rpc.Status { Code = (int)code, Message = message };
            foreach (var detail in details)
            {
                status.Details.Add(Any.Pack(detail));
            }

            trailers.Add(DetailsTrailer, status.ToByteArray());
        }

        return new RpcException(new Status(code, message), trailers, message);
    }

    /// <summary>INVALID_ARGUMENT naming the offending field, with a <c>google.rpc.BadRequest</c> detail.</summary>
    public static RpcException InvalidArgument(string field, string description) =>
        Error(StatusCode.InvalidArgument, $"{field}: {description}",
            new Google.Rpc.BadRequest { FieldViolations = { new Google.Rpc.BadRequest.Types.FieldViolation { Field = field, Description = description } } });

    /// <summary>Reads the <c>google.rpc.Status</c> an exception carries, or builds one from its status.</summary>
    public static Google.Rpc.Status GetRpcStatus(this RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var entry = exception.Trailers.Get(DetailsTrailer);
        if (entry is { IsBinary: true })
        {
            try
            {
                return Google.Rpc.Status.Parser.ParseFrom(entry.ValueBytes);
            }
            catch (InvalidProtocolBufferException)
            {
                // A peer sent garbage: fall through to the plain status.
            }
        }

        return new Google.Rpc.Status { Code = (int)exception.StatusCode, Message = exception.Status.Detail };
    }
}
