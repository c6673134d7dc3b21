using System.Security.Cryptography;
using GameSystem.State;
using Google.Protobuf;

namespace GameSystem.Services.StateManager.Internal;

/// <summary>
/// A write's claim on its client's request id. The write stores its answer under the id in
/// its own transaction, created only if absent, so the id is taken exactly when the write
/// applies: a retry, even one racing the first call, finds the answer instead of writing
/// again. A call that fails stores nothing and leaves the id free.
/// </summary>
internal sealed class RetryClaim
{
    private readonly string _rpc;
    private readonly string _requestId;
    private readonly ByteString _fingerprint;
    private readonly TimeSpan _retention;

    private RetryClaim(string key, string rpc, string requestId, IMessage request, TimeSpan retention)
    {
        Key = key;
        _rpc = rpc;
        _requestId = requestId;
        _retention = retention;
        _fingerprint = ByteString.CopyFrom(SHA256.HashData(request.ToByteArray()));
    }

    /// <summary>The store key the answer lives at (in the player's partition).</summary>
    public string Key { get; }

    /// <summary>The claim of a request, or null when the client sent no id.</summary>
    public static RetryClaim? For(string playerId, string requestId, string rpc, IMessage request, TimeSpan retention) =>
        requestId.Length == 0 ? null : new RetryClaim(StoreKeys.Request(playerId, rpc, requestId), rpc, requestId, request, retention);

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
