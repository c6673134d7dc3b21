using System.Security.Cryptography;
using GameSystem.State;
using Google.Protobuf;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Makes a create or import safe to retry on its <c>request_id</c>: the write records its
/// response under the id in its own transaction (<see cref="Record"/>), so the id is claimed
/// exactly when the write happens, and every retry gets that first response, even after the
/// resource changed or was deleted. Two racing calls with one id cannot both write: the
/// second's transaction finds the id taken and it returns the first's response instead.
/// A failed call records nothing, so its id stays free.
/// </summary>
internal sealed class RequestClaim
{
    /// <summary>How long a response is kept for retries.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private readonly string _rpc;
    private readonly string _requestId;
    private readonly byte[] _fingerprint;

    /// <summary>The claim of <paramref name="request"/>'s id at <paramref name="key"/> (a key of the partition the write goes to).</summary>
    public RequestClaim(string key, string rpc, string requestId, IMessage request)
    {
        Key = key;
        _rpc = rpc;
        _requestId = requestId;
        _fingerprint = SHA256.HashData(request.ToByteArray());
    }

    public string Key { get; }

    /// <summary>
    /// The response recorded for this id (read from <see cref="Key"/>); null when the id is
    /// unused. INVALID_ARGUMENT when it answered a different request: an id reused by mistake
    /// never returns another request's result.
    /// </summary>
    public TResponse? AnswerOf<TResponse>(StateEntry? stored, MessageParser<TResponse> parser)
        where TResponse : class, IMessage<TResponse>
    {
        if (stored is null)
        {
            return null;
        }

        var record = RequestRecord.Parser.ParseFrom(stored.Value.Span);
        if (!record.Fingerprint.Span.SequenceEqual(_fingerprint))
        {
            throw Errors.InvalidArgument($"request_id '{_requestId}' was already used for a different {_rpc} request; use a new request_id for a new request.");
        }

        return parser.ParseFrom(record.Response);
    }

    /// <summary>Claims the id in <paramref name="transaction"/> with <paramref name="response"/> as its answer; the transaction fails if the id is taken.</summary>
    public void Record(StateTransaction transaction, IMessage response)
    {
        var record = new RequestRecord { Fingerprint = ByteString.CopyFrom(_fingerprint), Response = response.ToByteString() };
        transaction.Set(Key, record.ToByteArray(), expectedVersion: 0, ttl: Retention);
    }
}
