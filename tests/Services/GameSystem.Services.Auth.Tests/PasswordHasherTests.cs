using GameSystem.Services.Auth.Internal;

namespace GameSystem.Services.Auth.Tests;

public sealed class PasswordHasherTests
{
    private static readonly PasswordParameters Small = new(MemoryKib: 64, Iterations: 1, Parallelism: 1, SaltBytes: 16, HashBytes: 32);

    [Fact]
    public void Hash_VerifiesTheSamePassword_AndNoOther()
    {
        var hash = new PasswordHasher(Small).Hash("correct horse battery");

        Assert.True(PasswordHasher.Verify(hash, "correct horse battery"));
        Assert.False(PasswordHasher.Verify(hash, "correct horse batterY"));
        Assert.Equal("argon2id", hash.Algorithm);
        Assert.Equal(0x13, hash.Version);
        Assert.Equal((64, 1, 1, 16, 32), (hash.MemoryKib, hash.Iterations, hash.Parallelism, hash.Salt.Length, hash.Hash.Length));
    }

    [Fact]
    public void Hash_SaltsEachHash()
    {
        var hasher = new PasswordHasher(Small);

        Assert.NotEqual(hasher.Hash("same password").Hash, hasher.Hash("same password").Hash);
    }

    [Fact]
    public void Argon2id_OfTheLibrary_MatchesTheRfc9106TestVector()
    {
        // RFC 9106, 5.3: Argon2id v19, 32 KiB, 3 passes, 4 lanes, with secret and associated data.
        using var argon = new Konscious.Security.Cryptography.Argon2id(Enumerable.Repeat((byte)0x01, 32).ToArray())
        {
            Salt = Enumerable.Repeat((byte)0x02, 16).ToArray(),
            KnownSecret = Enumerable.Repeat((byte)0x03, 8).ToArray(),
            AssociatedData = Enumerable.Repeat((byte)0x04, 12).ToArray(),
            MemorySize = 32,
            Iterations = 3,
            DegreeOfParallelism = 4,
        };

        Assert.Equal("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659", Convert.ToHexStringLower(argon.GetBytes(32)));
    }

    [Fact]
    public void NeedsRehash_WhenAnyParameterDiffers()
    {
        var hash = new PasswordHasher(Small).Hash("correct horse battery");

        Assert.False(new PasswordHasher(Small).NeedsRehash(hash));
        Assert.True(new PasswordHasher(Small with { MemoryKib = 128 }).NeedsRehash(hash));
        Assert.True(new PasswordHasher(Small with { Iterations = 2 }).NeedsRehash(hash));
        Assert.True(new PasswordHasher(Small with { HashBytes = 64 }).NeedsRehash(hash));
    }

    [Fact]
    public void Verify_AnUnknownAlgorithm_IsFalse()
    {
        var hash = new PasswordHasher(Small).Hash("correct horse battery");
        hash.Algorithm = "md5";

        Assert.False(PasswordHasher.Verify(hash, "correct horse battery"));
    }
}
