using System.ComponentModel.DataAnnotations;
using GameSystem.Events;
using GameSystem.State;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GameSystem.Services.Auth.Tests;

public sealed class AuthOptionsTests
{
    private static string? Problem(AuthOptions options) =>
        options.Validate(new ValidationContext(options)).Select(p => $"{p.MemberNames.Single()}: {p.ErrorMessage}").FirstOrDefault();

    [Fact]
    public void Defaults_AreTheOwaspArgon2Parameters_AndFiveMinuteTokens()
    {
        var options = AuthOptions.Default;

        Assert.Equal((19456, 2, 1, 16, 32), (options.PasswordMemoryKib, options.PasswordIterations, options.PasswordParallelism, options.PasswordSaltBytes, options.PasswordHashBytes));
        Assert.Equal(TimeSpan.FromMinutes(5), options.AccessTokenLifetime);
        Assert.Equal(TimeSpan.FromDays(30), options.SigningKeyRotation);
        Assert.Equal(("gamesystem-auth", "gamesystem"), (options.Issuer, options.Audience));
        Assert.Equal(["*"], options.EffectiveServiceScopes);
        Assert.Equal(["player"], options.EffectivePlayerScopes);
    }

    [Fact]
    public void KeyEncryptionKey_Missing_IsRefused_SayingHowToMakeOne() =>
        Assert.StartsWith("KeyEncryptionKey: is not set", Problem(AuthOptions.Default), StringComparison.Ordinal);

    [Theory]
    [InlineData("c2hvcnQ=")]
    [InlineData("not base64 at all")]
    public void KeyEncryptionKey_NotThirtyTwoBytes_IsRefused(string key) =>
        Assert.Contains("exactly 32 bytes", Problem(AuthHarness.TestOptions() with { KeyEncryptionKey = key }), StringComparison.Ordinal);

    [Fact]
    public void ServiceSecret_ShorterThanThirtyTwoBytes_IsRefused() =>
        Assert.StartsWith("ServiceSecret:", Problem(AuthHarness.TestOptions() with { ServiceSecret = Convert.ToBase64String(new byte[16]) }), StringComparison.Ordinal);

    [Fact]
    public void TestOptions_AreValid() => Assert.Null(Problem(AuthHarness.TestOptions()));

    [Fact]
    public void Service_WithoutAKeyEncryptionKey_RefusesToStart_NamingTheSetting_WithoutEchoingIt()
    {
        var wrong = AuthHarness.TestOptions() with { KeyEncryptionKey = "c2hvcnQ=" };

        var error = Assert.Throws<ArgumentException>(() => new AuthService(new InMemoryStateStore(), new EventOutbox("auth"), TimeProvider.System, NullLogger<AuthService>.Instance, Options.Create(wrong)));

        Assert.Contains("GameSystem:Auth:KeyEncryptionKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2hvcnQ=", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(AuthOptions.PasswordIterations))]
    [InlineData(nameof(AuthOptions.PasswordSaltBytes))]
    [InlineData(nameof(AuthOptions.MaxLoginFailures))]
    public void NumericSettings_OutOfRange_AreRefused(string setting)
    {
        var options = setting switch
        {
            nameof(AuthOptions.PasswordIterations) => AuthHarness.TestOptions() with { PasswordIterations = 0 },
            nameof(AuthOptions.PasswordSaltBytes) => AuthHarness.TestOptions() with { PasswordSaltBytes = 8 },
            _ => AuthHarness.TestOptions() with { MaxLoginFailures = 0 },
        };

        Assert.StartsWith(setting + ":", Problem(options), StringComparison.Ordinal);
    }
}
