using GameSystem.State;
using Google.Protobuf;

namespace GameSystem.Services.WorldState.Internal;

/// <summary>
/// A write's claim on its client's request id, in the world partition the write changes. The
/// write stores its answer under the id in its own transaction, created only if absent, so the
/// id is taken exactly when the write applies: a retry, even one racing the first call on
/// another instance, finds the answer instead of writing again. A refused call stores nothing
/// and leaves the id free.
/// </summary>
internal sealed class RequestClaim
{
    private readonly string _rpc;
    private readonly string _requestId;
    private readonly ByteString _fingerprint;
    private readonly TimeSpan _retention;

    public RequestClaim(string worldId, string rpc, string requestId, IMessage request, TimeSpan retention)
    {
        Key = StoreKeys.Request(worldId, rpc, requestId);
        _rpc = rpc;
        _requestId = requestId;
        _retention = retention;
        _fingerprint = Fingerprint.Of(request);
    }

    /// <summary>The store key the answer lives at.</summary>
    public string Key { get; }

    /// <summary>
    /// The answer stored for this id, or null when the id is free. INVALID_ARGUMENT when the id
    /// answered another request: an id reused by mistake never returns someone else's result.
    /// </summary>
    public T? Answer<T>(StateEntry? stored, MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        if (stored is null)
        {
            return null;
        }

        var record = RequestRecord.Parser.ParseFrom(stored.Value.Span);
        return record.Fingerprint.Equals(_fingerprint)
            ? parser.ParseFrom(record.Response)
            : throw Errors.InvalidArgument("request_id", $"'{_requestId}' was already used for a different {_rpc} request; use a new request_id for a new request (a retry must repeat the request unchanged).");
    }

    /// <summary>Takes the id in <paramref name="transaction"/> with <paramref name="answer"/>; the transaction fails if it is taken.</summary>
    public void Take(StateTransaction transaction, IMessage answer) =>
        transaction.Set(Key, new RequestRecord { Fingerprint = _fingerprint, Response = answer.ToByteString() }.ToByteArray(), expectedVersion: 0, ttl: _retention);
}
