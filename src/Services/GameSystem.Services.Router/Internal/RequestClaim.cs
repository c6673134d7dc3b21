using System.Security.Cryptography;
using GameSystem.State;
using Google.Protobuf;

namespace GameSystem.Services.Router.Internal;

/// <summary>
/// CreateRoute's request id: the create records its response under the id in its own
/// transaction, so the id is claimed exactly when the route is created and a retry gets that
/// first response, even after the route changed or was deleted. A failed call records nothing.
/// </summary>
internal sealed class RequestClaim(string rpc, string requestId, IMessage request)
{
    /// <summary>How long a response is kept for retries.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private readonly byte[] _fingerprint = SHA256.HashData(request.ToByteArray());

    public string Key { get; } = StoreKeys.Request(rpc, requestId);

    /// <summary>The response recorded for the id; null when unused; INVALID_ARGUMENT when it answered another request.</summary>
    public TResponse? AnswerOf<TResponse>(StateEntry? stored, MessageParser<TResponse> parser)
        where TResponse : class, IMessage<TResponse>
    {
        if (stored is null)
        {
            return null;
        }

        var record = RequestRecord.Parser.ParseFrom(stored.Value.Span);
        return record.Fingerprint.Span.SequenceEqual(_fingerprint)
            ? parser.ParseFrom(record.Response)
            : throw Errors.InvalidArgument("request_id", $"'{requestId}' was already used for a different {rpc} request; use a new request_id for a new request");
    }

    /// <summary>Claims the id in <paramref name="transaction"/> with <paramref name="response"/>; the transaction fails if it is taken.</summary>
    public void Record(StateTransaction transaction, IMessage response) =>
        transaction.Set(Key, new RequestRecord { Fingerprint = ByteString.CopyFrom(_fingerprint), Response = response.ToByteString() }.ToByteArray(), expectedVersion: 0, ttl: Retention);
}
