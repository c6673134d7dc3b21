using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GameSystem.Settings;
using GameSystem.Testing;
using Microsoft.Extensions.Configuration;
using NATS.Client.Core;

namespace GameSystem.Host.Tests;

/// <summary>GameSystem:Nats credentials and TLS files are checked at start-up, naming the setting and the file, never a secret.</summary>
public sealed class NatsSettingsTests
{
    private readonly TestCertificates _certificates = TestCertificates.Create(Directory.CreateTempSubdirectory("gs-nats-settings-").FullName);

    [Fact]
    public void TlsFiles_ThatHoldWhatTheyShould_RequireTlsWithThem()
    {
        var nats = Read(("Tls:CaFile", _certificates.CaFile), ("Tls:CertFile", _certificates.ClientCertFile), ("Tls:KeyFile", _certificates.ClientKeyFile), ("User", "game-host"), ("Password", "pw"), ("InboxPrefix", "_INBOX.game-host"));

        var opts = nats.ToNatsOpts();

        Assert.Equal(TlsMode.Require, opts.TlsOpts.Mode);
        Assert.Equal(_certificates.CaFile, opts.TlsOpts.CaFile);
        Assert.Equal(_certificates.ClientKeyFile, opts.TlsOpts.KeyFile);
        Assert.Equal("_INBOX.game-host", opts.InboxPrefix);
        Assert.Equal("game-host", opts.AuthOpts.Username);
    }

    [Fact]
    public void CaFile_WithoutACertificate_IsNamed()
    {
        var notPem = Path.Combine(_certificates.Directory, "notes.txt");
        File.WriteAllText(notPem, "this is not a certificate");

        var error = Assert.Throws<SettingException>(() => Read(("Tls:CaFile", notPem)));

        Assert.Equal("GameSystem:Nats:Tls:CaFile", error.Setting);
        Assert.Contains($"file '{notPem}' holds no PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientCertificate_WithAnotherCertificatesKey_IsNamed()
    {
        var error = Assert.Throws<SettingException>(() => Read(("Tls:CertFile", _certificates.ClientCertFile), ("Tls:KeyFile", _certificates.ServerKeyFile)));

        Assert.Equal("GameSystem:Nats:Tls:CertFile", error.Setting);
        Assert.Contains("is not a PEM certificate and its private key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientCertificate_ThatExpired_IsNamedWithItsDate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var expiredOn = DateTimeOffset.UtcNow.AddDays(-1);
        using var expired = new CertificateRequest("CN=expired", key, HashAlgorithmName.SHA256).CreateSelfSigned(expiredOn.AddDays(-30), expiredOn);
        var cert = Path.Combine(_certificates.Directory, "expired.pem");
        var keyFile = Path.Combine(_certificates.Directory, "expired-key.pem");
        File.WriteAllText(cert, expired.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());

        var error = Assert.Throws<SettingException>(() => Read(("Tls:CertFile", cert), ("Tls:KeyFile", keyFile)));

        Assert.Equal("GameSystem:Nats:Tls:CertFile", error.Setting);
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
        Assert.Contains("CN=expired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoWaysToAuthenticate_AreRefused()
    {
        var error = Assert.Throws<SettingException>(() => Read(("User", "game"), ("Password", "s3cret-one"), ("Token", "s3cret-two")));

        Assert.Equal("GameSystem:Nats", error.Setting);
        Assert.Contains("User/Password and Token", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CredentialsInAServerUrl_AreRefusedWithoutRepeatingThem()
    {
        var error = Assert.Throws<SettingException>(() => Read(("Servers", "tls://game:s3cret@nats.internal:4222")));

        Assert.Equal("GameSystem:Nats:Servers", error.Setting);
        Assert.Contains("tls://nats.internal:4222", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("InboxPrefix", "_INBOX.>", "GameSystem:Nats:InboxPrefix")]
    [InlineData("InboxPrefix", "_INBOX..game", "GameSystem:Nats:InboxPrefix")]
    [InlineData("NKeyFile", "/nonexistent/user.nk", "GameSystem:Nats:NKeyFile")]
    [InlineData("Tls:KeyFile", "/nonexistent/client-key.pem", "GameSystem:Nats:Tls:KeyFile")]
    public void BadValue_IsNamed(string key, string value, string named)
    {
        var error = Assert.Throws<SettingException>(() => Read((key, value)));

        Assert.Equal(named, error.Setting);
    }

    [Fact]
    public void SkippingVerification_WithACaToVerifyWith_IsRefused()
    {
        var error = Assert.Throws<SettingException>(() => Read(("Tls:CaFile", _certificates.CaFile), ("Tls:InsecureSkipVerify", "true")));

        Assert.Equal("GameSystem:Nats:Tls:InsecureSkipVerify", error.Setting);
    }

    private static GameSystem.Mesh.Nats.MeshNatsOptions Read(params (string Key, string Value)[] values) =>
        MeshSettings.ReadNats(new ConfigurationBuilder()
            .AddInMemoryCollection([new("GameSystem:Nats:Servers:0", "nats://127.0.0.1:4222"), .. values.Select(v => new KeyValuePair<string, string?>($"GameSystem:Nats:{v.Key}", v.Value))])
            .Build());
}
