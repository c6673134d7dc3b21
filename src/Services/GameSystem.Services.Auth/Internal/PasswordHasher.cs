using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Konscious.Security.Cryptography;

namespace GameSystem.Services.Auth.Internal;

/// <summary>Argon2id parameters of a new hash.</summary>
internal sealed record PasswordParameters(int MemoryKib, int Iterations, int Parallelism, int SaltBytes, int HashBytes);

/// <summary>
/// Argon2id password hashes (Konscious), stored with their parameters so raising them later
/// leaves old hashes verifiable; <see cref="NeedsRehash"/> tells a login to replace one.
/// </summary>
internal sealed class PasswordHasher(PasswordParameters parameters)
{
    public const string Algorithm = "argon2id";
    private const int Argon2Version = 0x13;

    // Verifying against this when no account matches makes an unknown login cost what a known one does.
    private readonly Lazy<PasswordHashRecord> _decoy = new(() => Hash(parameters, "decoy password that never matches"));

    public PasswordParameters Parameters => parameters;

    public PasswordHashRecord Hash(string password) => Hash(parameters, password);

    /// <summary>True when <paramref name="password"/> matches <paramref name="stored"/>, compared in constant time.</summary>
    public static bool Verify(PasswordHashRecord stored, string password)
    {
        if (stored.Algorithm != Algorithm || stored.Version != Argon2Version)
        {
            return false;
        }

        var computed = Compute(password, stored.Salt.Span, stored.MemoryKib, stored.Iterations, stored.Parallelism, stored.Hash.Length);
        return CryptographicOperations.FixedTimeEquals(computed, stored.Hash.Span);
    }

    /// <summary>Spends the time of one verification without an account (the answer is always false).</summary>
    public void VerifyDecoy(string password) => _ = Verify(_decoy.Value, password);

    /// <summary>True when <paramref name="stored"/> was made with other parameters than the current ones.</summary>
    public bool NeedsRehash(PasswordHashRecord stored) =>
        stored.Algorithm != Algorithm || stored.Version != Argon2Version || stored.MemoryKib != parameters.MemoryKib
        || stored.Iterations != parameters.Iterations || stored.Parallelism != parameters.Parallelism
        || stored.Salt.Length != parameters.SaltBytes || stored.Hash.Length != parameters.HashBytes;

    private static PasswordHashRecord Hash(PasswordParameters parameters, string password)
    {
        var salt = RandomNumberGenerator.GetBytes(parameters.SaltBytes);
        return new PasswordHashRecord
        {
            Algorithm = Algorithm,
            Version = Argon2Version,
            MemoryKib = parameters.MemoryKib,
            Iterations = parameters.Iterations,
            Parallelism = parameters.Parallelism,
            Salt = ByteString.CopyFrom(salt),
            Hash = ByteString.CopyFrom(Compute(password, salt, parameters.MemoryKib, parameters.Iterations, parameters.Parallelism, parameters.HashBytes)),
        };
    }

    private static byte[] Compute(string password, ReadOnlySpan<byte> salt, int memoryKib, int iterations, int parallelism, int hashBytes)
    {
        var secret = Encoding.UTF8.GetBytes(password);
        try
        {
            using var argon = new Argon2id(secret)
            {
                Salt = salt.ToArray(),
                MemorySize = memoryKib,
                Iterations = iterations,
                DegreeOfParallelism = parallelism,
            };
            return argon.GetBytes(hashBytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }
}
