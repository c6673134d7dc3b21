using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace GameSystem.State.Internal;

/// <summary>
/// A Lua script run by its SHA1 (EVALSHA), so each call sends the hash, not the text; a server
/// that does not know it yet (first call, restart, failover) answers NOSCRIPT and gets the text
/// once (EVAL caches it).
/// </summary>
internal sealed class RedisScript(string text)
{
#pragma warning disable CA5350 // Redis names scripts by their SHA1; nothing here relies on it for security.
    private readonly byte[] _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350

    public string Text { get; } = text;

    /// <summary>The SHA1 Redis knows the script by.</summary>
    public byte[] Sha1 => _sha1;

    /// <summary>True for the server's "I do not have that script" (first call, restart, failover): send <see cref="Text"/> then.</summary>
    public static bool IsNoScript(RedisServerException exception) => exception.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal);

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await database.ScriptEvaluateAsync(_sha1, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (IsNoScript(e))
        {
            return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
        }
    }
}
