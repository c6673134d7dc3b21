using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace GameSystem.Services.Auth.Internal;

/// <summary>
/// Opaque refresh tokens: <c>rt_</c> and 32 random bytes in base64url. Only their SHA-256 is
/// stored: a token is unguessable, so a fast hash is enough, and the store never holds one
/// that works.
/// </summary>
internal static class RefreshTokens
{
    public const string Prefix = "rt_";
    private const int SecretBytes = 32;

    public static string Create() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>The hash of a well-formed token; null for anything that is not one.</summary>
    public static byte[]? HashOf(string token)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length != Prefix.Length + Base64Url.GetEncodedLength(SecretBytes))
        {
            return null;
        }

        Span<byte> secret = stackalloc byte[SecretBytes];
        if (Base64Url.DecodeFromChars(token.AsSpan(Prefix.Length), secret, out _, out var written) != System.Buffers.OperationStatus.Done || written != SecretBytes)
        {
            return null;
        }

        return SHA256.HashData(Encoding.ASCII.GetBytes(token));
    }
}
