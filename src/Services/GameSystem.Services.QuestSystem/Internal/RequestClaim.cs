using System.Security.Cryptography;
using System.Text;
using GameSystem.State;
using Google.Protobuf;

namespace GameSystem.Services.QuestSystem.Internal;

/// <summary>
/// A write's claim on its client's request id: the answer is stored under the id in the
/// write's own transaction, created only if absent, so the id is taken exactly when the write
/// applies; a retry, even one racing the first call, finds the answer instead of writing again.
/// A refused call stores nothing and leaves the id free.
/// </summary>
internal sealed class RequestClaim
{
    private readonly string _rpc;
    private readonly string _field;
    private readonly string _id;
    private readonly ByteString _fingerprint;
    private readonly TimeSpan _retention;

    public RequestClaim(string key, string rpc, string field, string id, IMessage request, TimeSpan retention)
    {
        Key = key;
        _rpc = rpc;
        _field = field;
        _id = id;
        _retention = retention;
        _fingerprint = ByteString.CopyFrom(SHA256.HashData([.. Encoding.UTF8.GetBytes(rpc + "\n"), .. request.ToByteArray()]));
    }

    /// <summary>The store key the answer lives at.</summary>
    public string Key { get; }

    /// <summary>The answer stored for this id, or null when the id is free; INVALID_ARGUMENT when the id answered another request.</summary>
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
            : throw Errors.InvalidArgument(_field, $"'{_id}' was already used for a different {_rpc} request; use a new {_field} for a new request (a retry must repeat the request unchanged).");
    }

    /// <summary>Takes the id in <paramref name="transaction"/> with <paramref name="answer"/>; the transaction fails if it is taken.</summary>
    public void Take(StateTransaction transaction, IMessage answer) =>
        transaction.Set(Key, new RequestRecord { Fingerprint = _fingerprint, Response = answer.ToByteString() }.ToByteArray(), expectedVersion: 0, ttl: _retention);
}
