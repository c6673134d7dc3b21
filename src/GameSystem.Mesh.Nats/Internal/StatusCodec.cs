using System.Buffers;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using NATS.Client.Core;

namespace GameSystem.Mesh.Nats.Internal;

/// <summary>Errors on the wire: ADR-32 headers for every NATS tool, a google.rpc.Status body for details.</summary>
internal static class StatusCodec
{
    public static NatsHeaders ErrorHeaders(Status status, Metadata? trailers)
    {
        var headers = new NatsHeaders
        {
            [WireHeaders.ErrorCode] = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture),
            [WireHeaders.ErrorMessage] = HeaderSafe(status.Detail),
            [WireHeaders.ContentType] = WireHeaders.StatusContentType,
        };
        MetadataCodec.Write(trailers, headers, dropReserved: true);
        return headers;
    }

    /// <summary>The google.rpc.Status body: the details the exception carried, or the bare status.</summary>
    public static byte[] ErrorBody(Status status, Metadata? trailers)
    {
        var details = trailers?.Get(MeshStatus.DetailsTrailer);
        if (details is { IsBinary: true })
        {
            return details.ValueBytes;
        }

        return new Google.Rpc.Status { Code = (int)status.StatusCode, Message = status.Detail }.ToByteArray();
    }

    /// <summary>Reads the status of a reply: OK unless the ADR-32 code header says otherwise.</summary>
    public static bool TryReadError(NatsHeaders? headers, out StatusCode code, out string message)
    {
        code = StatusCode.OK;
        message = string.Empty;
        if (headers is null || !headers.TryGetValue(WireHeaders.ErrorCode, out var codeValue))
        {
            return false;
        }

        headers.TryGetValue(WireHeaders.ErrorMessage, out var messageValue);
        message = messageValue.ToString();
        return Interpret(codeValue.ToString(), ref code, ref message);
    }

    private static bool Interpret(string codeValue, ref StatusCode code, ref string message)
    {
        if (!int.TryParse(codeValue, NumberStyles.Integer, CultureInfo.InvariantCulture, out var numeric))
        {
            code = StatusCode.Unknown;
            message = $"Peer sent a non-numeric {WireHeaders.ErrorCode} '{codeValue}': {message}";
            return true;
        }

        // Peers that are not on the mesh (plain NATS services) send HTTP-like codes: keep
        // the numeric code visible rather than misreading it as a gRPC status.
        code = numeric is >= 1 and <= 16 ? (StatusCode)numeric : StatusCode.Unknown;
        if (code == StatusCode.Unknown && numeric != (int)StatusCode.Unknown)
        {
            message = $"{numeric} {message}";
        }

        return numeric != 0;
    }

    /// <summary>Reads the status of a reply from its raw header block.</summary>
    public static bool TryReadError(RawHeaders headers, out StatusCode code, out string message)
    {
        code = StatusCode.OK;
        message = string.Empty;
        if (headers.IsEmpty || !headers.TryGetValue(WireHeaders.ErrorCode, out var codeValue))
        {
            return false;
        }

        headers.TryGetValue(WireHeaders.ErrorMessage, out message);
        return Interpret(codeValue, ref code, ref message);
    }

    public static RpcException ToException(StatusCode code, string message, NatsHeaders? headers, ReadOnlySequence<byte> body) =>
        ToException(code, message, MetadataCodec.Read(headers), body);

    public static RpcException ToException(StatusCode code, string message, Metadata trailers, ReadOnlySequence<byte> body)
    {
        if (!body.IsEmpty)
        {
            try
            {
                var status = Google.Rpc.Status.Parser.ParseFrom(body);
                if (status.Code == (int)code && status.Message.Length > 0)
                {
                    message = status.Message;
                }

                if (status.Details.Count > 0)
                {
                    if (ReferenceEquals(trailers, Metadata.Empty))
                    {
                        trailers = [];
                    }

                    trailers.Add(MeshStatus.DetailsTrailer, status.ToByteArray());
                }
            }
            catch (InvalidProtocolBufferException)
            {
                // Details are optional; the status in the headers stands on its own.
            }
        }

        return new RpcException(new Status(code, message), trailers, message);
    }

    // NATS headers are single-line ASCII; the full UTF-8 message travels in the Status body.
    private static string HeaderSafe(string text)
    {
        if (Ascii.IsValid(text) && text.AsSpan().IndexOfAny('\r', '\n') < 0)
        {
            return text;
        }

        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = c is '\r' or '\n' ? ' ' : char.IsAscii(c) ? c : '?';
            }
        });
    }
}
