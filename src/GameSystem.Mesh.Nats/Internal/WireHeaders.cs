namespace GameSystem.Mesh.Nats.Internal;

/// <summary>Header names and values of the wire protocol (docs/wire-protocol.md).</summary>
internal static class WireHeaders
{
    public const string ContentType = "Content-Type";
    public const string ProtobufContentType = "application/protobuf";
    public const string StatusContentType = "application/protobuf; proto=google.rpc.Status";

    // ADR-32 error headers: numeric gRPC status code and its message.
    public const string ErrorCode = "Nats-Service-Error-Code";
    public const string ErrorMessage = "Nats-Service-Error";

    public const string Timeout = "grpc-timeout";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    // gRFC A6 retries: the attempts before this one (request), and the server's pushback
    // (reply; milliseconds to wait, or negative for "do not retry"). Both are plain metadata.
    public const string PreviousRpcAttempts = "grpc-previous-rpc-attempts";
    public const string RetryPushback = "grpc-retry-pushback-ms";

    // Server streaming.
    public const string Stream = "Gs-Stream";
    public const string Sequence = "Gs-Seq";
    public const string Count = "Gs-Count";
    public const string Control = "Gs-Control";
    public const string Credit = "Gs-Credit";
    public const string Window = "Gs-Window";
    public const string Heartbeat = "Gs-Heartbeat";

    public const string StreamOpen = "open";
    public const string StreamEnd = "end";
    public const string StreamHeartbeat = "heartbeat";
    public const string StreamCredit = "credit";
    public const string StreamCancel = "cancel";

    // Largest stream window a server grants; the client's option is bounded by it.
    public const int MaxStreamWindow = 4096;

    // Heartbeat intervals a server runs a stream at; the client's option is bounded by them.
    public static readonly TimeSpan MinStreamHeartbeat = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan MaxStreamHeartbeat = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Reads a decimal header value: ASCII digits only, no sign, no spaces. Digits beyond
    /// what an int holds saturate at <see cref="int.MaxValue"/>: the value is a valid
    /// number the caller clamps to its range, not a malformed one that falls back to a default.
    /// </summary>
    public static bool TryParseDecimal<T>(ReadOnlySpan<T> text, out int value)
        where T : System.Numerics.IBinaryInteger<T>
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        long parsed = 0;
        foreach (var c in text)
        {
            var digit = int.CreateTruncating(c) - '0';
            if (digit is < 0 or > 9)
            {
                return false;
            }

            parsed = Math.Min((parsed * 10) + digit, int.MaxValue);
        }

        value = (int)parsed;
        return true;
    }

    // Id of a unary call its caller may cancel; a cancel notice names it.
    public const string CallId = "Gs-Call-Id";

    // Headers that belong to the protocol and never surface as call metadata, besides
    // every header starting with "Gs-".
    private static readonly string[] Reserved = [ContentType, ErrorCode, ErrorMessage, Timeout, TraceParent, TraceState];

    /// <summary>True for a header of the protocol, which never surfaces as call metadata.</summary>
    public static bool IsReserved(string name) =>
        name.StartsWith("Gs-", StringComparison.OrdinalIgnoreCase)
        || Array.Exists(Reserved, r => r.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The same test on a raw header name.</summary>
    public static bool IsReserved(ReadOnlySpan<byte> name)
    {
        if (name.Length >= 3 && RawHeaders.Equals(name[..3], "Gs-"))
        {
            return true;
        }

        foreach (var reserved in Reserved)
        {
            if (RawHeaders.Equals(name, reserved))
            {
                return true;
            }
        }

        return false;
    }
}
