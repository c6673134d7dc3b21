using System.Security.Cryptography;
using GameSystem.State;
using Google.Protobuf;
using Grpc.Core;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// Makes create and import calls safe to retry on <c>request_id</c>. The first call claims
/// the id (a create-only write), does the work and keeps its response for
/// <see cref="Retention"/>; a retry with the same request gets that response even if the
/// resource changed or was deleted since. A claim whose holder died expires after
/// <see cref="ClaimTimeout"/>, so the id becomes usable again.
/// </summary>
internal sealed class RequestDeduplicator(IStateStore store)
{
    /// <summary>How long a finished request's response is kept for retries.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>How long a call in progress holds its id before another may take over.</summary>
    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(30);

    private const string KeyPrefix = "language-system/requests/";

    /// <summary>
    /// Runs <paramref name="work"/> once per request id (per rpc). A request with the same id
    /// but different content is refused, so an id reused by mistake never returns another
    /// request's result. A failed call releases its id: its error is not remembered.
    /// </summary>
    public async ValueTask<TResponse> RunAsync<TResponse>(
        string rpc, string requestId, IMessage request, MessageParser<TResponse> parser,
        Func<ValueTask<TResponse>> work, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        // The id is client text of any length and alphabet; its hash is always a valid key.
        var key = KeyPrefix + rpc + "/" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requestId)));
        var fingerprint = SHA256.HashData(request.ToByteArray());
        long claimVersion;
        while (true)
        {
            var existing = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                var record = DedupRecord.Parse(existing.Value);
                if (!record.Fingerprint.AsSpan().SequenceEqual(fingerprint))
                {
                    throw Errors.InvalidArgument($"request_id '{requestId}' was already used for a different {rpc} request; use a new request_id for a new request.");
                }

                if (record.Response is not null)
                {
                    return parser.ParseFrom(record.Response);
                }

                throw Errors.Aborted($"A {rpc} call with request_id '{requestId}' is still in progress; retry shortly for its result.");
            }

            var claim = await store.SetAsync(key, new DedupRecord(fingerprint, null).ToBytes(), expectedVersion: 0, ttl: ClaimTimeout, cancellationToken).ConfigureAwait(false);
            if (claim.Succeeded)
            {
                claimVersion = claim.Version;
                break;
            }
        }

        TResponse response;
        try
        {
            response = await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // A store failure leaves the claim to expire instead: releasing it needs the store too.
            await store.DeleteAsync(key, claimVersion, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        await store.SetAsync(key, new DedupRecord(fingerprint, response.ToByteArray()).ToBytes(), claimVersion, Retention, cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>The request's hash and, once done, its response (protobuf fields 1 and 2).</summary>
    private sealed record DedupRecord(byte[] Fingerprint, byte[]? Response)
    {
        public byte[] ToBytes()
        {
            using var buffer = new MemoryStream();
            var output = new CodedOutputStream(buffer);
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(Fingerprint));
            if (Response is not null)
            {
                output.WriteTag(2, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(Response));
            }

            output.Flush();
            return buffer.ToArray();
        }

        public static DedupRecord Parse(ReadOnlyMemory<byte> bytes)
        {
            var input = new CodedInputStream(bytes.ToArray());
            byte[] fingerprint = [];
            byte[]? response = null;
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1:
                        fingerprint = input.ReadBytes().ToByteArray();
                        break;
                    case 2:
                        response = input.ReadBytes().ToByteArray();
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }

            return new DedupRecord(fingerprint, response);
        }
    }
}
