using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace GameSystem.Gateway;

/// <summary>
/// gRPC status to HTTP status, as grpc-gateway maps them, and the error body
/// <c>{code, message, details}</c>: a <c>google.rpc.Status</c> in proto3 JSON, details in full.
/// Server-side failures (INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE) never show their text: it
/// can name subjects, hosts or exceptions. The caller gets a fixed message and an error id that
/// the gateway's log line carries with the real one.
/// </summary>
internal static class GatewayErrors
{
    /// <summary>The HTTP status grpc-gateway answers for <paramref name="code"/>.</summary>
    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499,
        StatusCode.Unknown => StatusCodes.Status500InternalServerError,
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.FailedPrecondition => StatusCodes.Status400BadRequest,
        StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Internal => StatusCodes.Status500InternalServerError,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DataLoss => StatusCodes.Status500InternalServerError,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>True for the codes whose message stays in the log: the caller sees a fixed text and an error id.</summary>
    public static bool IsConcealed(StatusCode code) => code is StatusCode.Internal or StatusCode.Unknown or StatusCode.DataLoss or StatusCode.Unavailable;

    /// <summary>
    /// What the caller is told for <paramref name="status"/>: itself, or for a concealed code a
    /// fixed message with <paramref name="errorId"/> (and only a RetryInfo detail kept).
    /// </summary>
    public static Google.Rpc.Status Public(Google.Rpc.Status status, out string? errorId)
    {
        var code = (StatusCode)status.Code;
        errorId = null;
        if (!IsConcealed(code))
        {
            return status;
        }

        errorId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var shown = new Google.Rpc.Status
        {
            Code = status.Code,
            Message = code == StatusCode.Unavailable
                ? $"The service is unavailable right now; retry later (error id {errorId})."
                : $"The request failed with an internal error (error id {errorId}).",
        };
        shown.Details.AddRange(status.Details.Where(d => d.Is(Google.Rpc.RetryInfo.Descriptor)));
        return shown;
    }

    /// <summary>A status with a <c>google.rpc.BadRequest</c> naming <paramref name="field"/>.</summary>
    public static Google.Rpc.Status InvalidArgument(string field, string message)
    {
        var status = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message };
        status.Details.Add(Any.Pack(new Google.Rpc.BadRequest
        {
            FieldViolations = { new Google.Rpc.BadRequest.Types.FieldViolation { Field = field, Description = message } },
        }));
        return status;
    }

    /// <summary>A status without details.</summary>
    public static Google.Rpc.Status Of(StatusCode code, string message) => new() { Code = (int)code, Message = message };

    /// <summary>Writes <paramref name="status"/> as the response (its HTTP status, JSON body); headers such as <c>WWW-Authenticate</c> are set before.</summary>
    public static Task WriteAsync(HttpContext http, Google.Rpc.Status status, ProtoJson json, int? httpStatus = null)
    {
        http.Response.StatusCode = httpStatus ?? HttpStatus((StatusCode)status.Code);
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(Format(status, json), http.RequestAborted);
    }

    /// <summary>The JSON of <paramref name="status"/>; a detail of a type the gateway does not know is left out rather than failing the answer.</summary>
    public static string Format(Google.Rpc.Status status, ProtoJson json)
    {
        try
        {
            return json.Formatter.Format(status);
        }
        catch (InvalidOperationException)
        {
            var known = status.Clone();
            known.Details.Clear();
            known.Details.AddRange(status.Details.Where(d => json.Registry.Find(Any.GetTypeName(d.TypeUrl)) is not null));
            return json.Formatter.Format(known);
        }
    }
}
