using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GameSystem.Testing;

/// <summary>
/// A certificate authority of its own and the server and client certificates it signs, made in
/// process (no openssl) as PEM files in <see cref="Directory"/>: what a TLS test needs, for loopback.
/// </summary>
public sealed class TestCertificates
{
    private TestCertificates(string directory) => Directory = directory;

    /// <summary>Where the files are.</summary>
    public string Directory { get; }

    /// <summary>The CA certificate (PEM): what clients and the server trust.</summary>
    public string CaFile => Path.Combine(Directory, "ca.pem");

    /// <summary>The server's certificate (PEM), for <c>127.0.0.1</c> and <c>localhost</c>.</summary>
    public string ServerCertFile => Path.Combine(Directory, "server.pem");

    /// <summary>The server's private key (PKCS#8 PEM).</summary>
    public string ServerKeyFile => Path.Combine(Directory, "server-key.pem");

    /// <summary>A client certificate (PEM) for mutual TLS.</summary>
    public string ClientCertFile => Path.Combine(Directory, "client.pem");

    /// <summary>The client certificate's private key (PKCS#8 PEM).</summary>
    public string ClientKeyFile => Path.Combine(Directory, "client-key.pem");

    /// <summary>Makes a CA, a server and a client certificate (ECDSA P-256, valid for a day) in <paramref name="directory"/>.</summary>
    public static TestCertificates Create(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var files = new TestCertificates(directory);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=GameSystem test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now, now.AddDays(1));
        File.WriteAllText(files.CaFile, ca.ExportCertificatePem());

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        Issue(ca, "CN=nats-server", san.Build(), "1.3.6.1.5.5.7.3.1", now, files.ServerCertFile, files.ServerKeyFile, 2);
        Issue(ca, "CN=gamesystem-test-client", null, "1.3.6.1.5.5.7.3.2", now, files.ClientCertFile, files.ClientKeyFile, 3);
        return files;
    }

    private static void Issue(X509Certificate2 ca, string subject, X509Extension? san, string usage, DateTimeOffset notBefore, string certFile, string keyFile, byte serial)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        using var certificate = request.Create(ca, notBefore, notBefore.AddDays(1), [serial, (byte)Random.Shared.Next(256), (byte)Random.Shared.Next(256)]);
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
